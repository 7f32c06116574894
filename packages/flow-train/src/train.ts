/**
 * The training loop of the paper's trainer (flow_matching's image example), on tfjs:
 * epochs over the shuffled data, gradient accumulation, the per-epoch learning-rate
 * schedule, EMA, and every `evalFrequency` epochs a checkpoint (registered in the model
 * registry), a grid of samples and optionally the FID. One JSON line per epoch goes to
 * `log.txt`; `args.json` records the arguments.
 *
 * Resuming continues exactly: every random draw is keyed by (seed, epoch, iteration), and
 * checkpoints hold weights, EMA, AdamW moments and the position (epoch, iteration).
 * `checkpointMinutes` also saves inside long epochs, so a killed CPU run loses little.
 *
 * The stages are split as in the image example's training/ folder: training/resume.ts
 * (checks, a fresh or restored model), training/epoch.ts (the steps of one epoch),
 * training/evaluate.ts (sample grid, FID) and training/save.ts (checkpoint, registry);
 * this module runs them in order.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { SamplingSettings, TrainingProgress } from './checkpoint.js';
import type { ImageDataset } from './data/dataset.js';
import type { FidFn } from './fid-eval.js';
import type { EngineChoice } from './engine/index.js';
import { ModelThreads } from './parallel/model-threads.js';
import { runEpoch } from './training/epoch.js';
import { evaluate } from './training/evaluate.js';
import { resumeOrStart } from './training/resume.js';
import { TrainingRun } from './training/run.js';
import { saveCheckpoint } from './training/save.js';
import type { UNetConfig } from './unet/config.js';
import type { ParamValues } from './unet/params.js';

export interface TrainOptions {
  config: UNetConfig;
  batchSize: number;
  accumIter: number;
  epochs: number;
  lr: number;
  betas: [number, number];
  decayLr: boolean;
  classDropProb: number;
  skewedTimesteps: boolean;
  useEma: boolean;
  sampling: SamplingSettings;
  evalFrequency: number;
  seed: number;
  /** A checkpoint to continue from ('' = start fresh). */
  resume: string;
  /** Weights to start a fresh run from (warm start; the optimizer starts fresh). */
  initWeights?: ParamValues;
  startEpoch: number;
  evalOnly: boolean;
  testRun: boolean;
  outputDir: string;
  /** Registry folder and entry name for the checkpoints. */
  registry?: string;
  name?: string;
  /** Stop (after saving) once this many images have been seen in this run. */
  maxImages?: number;
  /** Also save a checkpoint when this many minutes passed since the last one. */
  checkpointMinutes?: number;
  /** Samples per class in the evaluation grid. */
  gridPerClass: number;
  /** Threads computing each micro-batch's gradients, this one included (data parallel; default 1). */
  threads?: number;
  /** FID hook: receives the model and the EMA/live weights to evaluate. */
  computeFid?: FidFn;
  /** What evaluates the model for the evaluation grid and FID samples (default auto: ONNX Runtime where it loads). */
  evalEngine?: EngineChoice;
  /** All arguments as given, for args.json and the checkpoint. */
  args: Record<string, unknown>;
  log?: (message: string) => void;
  progressStream?: NodeJS.WritableStream | null;
  /** Called after every optimizer step (tests). */
  onStep?: (info: { epoch: number; iteration: number; loss: number; optimizerSteps: number }) => void;
}

export interface TrainResult {
  progress: TrainingProgress;
  checkpoint?: string;
  losses: number[];
}

/** Trains on `data`; returns the final progress and the path of the last checkpoint. */
export async function train(data: ImageDataset, options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const outDir = resolve(options.outputDir);
  await mkdir(outDir, { recursive: true });
  const state = await resumeOrStart(data, options, log);
  await writeFile(join(outDir, 'args.json'), `${JSON.stringify(options.args, null, 2)}\n`);
  log(
    `flow-train: model '${options.config.name}' with ${state.model.arch.parameterCount} parameters; ${data.description}, ${data.n} images; ${state.stepsPerEpoch} steps of ${options.batchSize}×${options.accumIter} per epoch`,
  );
  const run = new TrainingRun(data, options, outDir, log, state);
  try {
    const threads = options.threads ?? 1;
    if (threads > 1) {
      run.pool = await ModelThreads.start(options.config, tf.getBackend(), threads - 1);
      log(`flow-train: data parallel over ${threads} threads (${threads - 1} workers + this one), each on ${tf.getBackend()}`);
    }
    if (options.evalOnly) {
      await evaluate(run, run.progress.epoch);
      return { progress: run.snapshot(), losses: run.losses };
    }
    for (let epoch = run.progress.epoch; epoch < options.epochs; epoch++) {
      const stopped = await runEpoch(run, epoch);
      if (stopped) break;
      if ((epoch + 1) % options.evalFrequency === 0 || epoch + 1 === options.epochs || options.testRun) {
        run.checkpointPath = await saveCheckpoint(run, `epoch ${epoch}`);
        await evaluate(run, epoch);
      }
      if (options.testRun) break;
    }
    return { progress: run.snapshot(), checkpoint: run.checkpointPath, losses: run.losses };
  } finally {
    await run.pool?.close();
    run.optimizer.dispose();
    run.ema?.dispose();
    run.model.dispose();
  }
}
