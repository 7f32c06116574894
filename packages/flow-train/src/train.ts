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
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writePng } from '@mmmi/formats';
import { Progress } from '@mmmi/fid';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, readCheckpointFile, writeCheckpoint, type CheckpointMeta, type SamplingSettings, type TrainingProgress } from './checkpoint.js';
import { batchesPerEpoch, epochOrder, makeBatch, type Batch } from './data/batches.js';
import type { ImageDataset } from './data/dataset.js';
import { Ema } from './ema.js';
import { FlowModel } from './flow-model.js';
import { AdamW, learningRate, PYTORCH_ADAMW_DEFAULTS } from './optim.js';
import { openEngineForValues, type EngineChoice } from './engine/index.js';
import type { VelocityEngine } from './engine/ort-engine.js';
import { ModelThreads, type SamplingThreads } from './parallel/model-threads.js';
import { registerModel, registryEntry, userRegistryDir } from './registry.js';
import { sameArchitecture } from './sampling-plan.js';
import { imageGrid, sampleImages } from './sample.js';
import { trainStep, type StepSettings } from './train-step.js';
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
  computeFid?: (model: FlowModel, weights: ReadonlyMap<string, tf.Tensor>, epoch: number, threads?: SamplingThreads, engine?: VelocityEngine) => Promise<number>;
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

const CHECKPOINT_NAME = 'checkpoint.safetensors';

/** Trains on `data`; returns the final progress and the path of the last checkpoint. */
export async function train(data: ImageDataset, options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const outDir = resolve(options.outputDir);
  await mkdir(outDir, { recursive: true });
  // log.txt holds one JSON line per epoch (and per FID); the progress bar's lines go to progress.log
  const logFile = join(outDir, 'log.txt');
  const progressLog = join(outDir, 'progress.log');
  const config = options.config;
  if (data.size !== config.imageSize) throw new Error(`the data are ${data.size}×${data.size} images, model configuration '${config.name}' expects ${config.imageSize}×${config.imageSize}`);
  if (data.classes.length > config.numClasses) throw new Error(`the data have ${data.classes.length} classes, model configuration '${config.name}' has ${config.numClasses}`);
  const perEpoch = batchesPerEpoch(data.n, options.batchSize);
  if (perEpoch < options.accumIter) throw new Error(`${data.n} images give ${perEpoch} batches of ${options.batchSize}, fewer than accum_iter ${options.accumIter}`);
  const stepsPerEpoch = Math.floor(perEpoch / options.accumIter);

  let progress: TrainingProgress = { epoch: options.startEpoch, iteration: 0, optimizerSteps: 0, emaUpdates: 0, imagesSeen: 0, wallSeconds: 0 };
  let model: FlowModel;
  const resumeFrom = options.resume ? await readCheckpointFile(options.resume) : undefined;
  if (resumeFrom) {
    if (!sameArchitecture(resumeFrom.meta.config, config)) {
      throw new Error(`--resume ${options.resume}: its model configuration '${resumeFrom.meta.config.name}' differs from '${config.name}'`);
    }
    if (options.useEma && !resumeFrom.ema) throw new Error(`--resume ${options.resume}: --use_ema is set but the checkpoint has no EMA weights`);
    if (resumeFrom.kind !== 'mmmi' || resumeFrom.meta.weights !== 'live') throw new Error(`--resume ${options.resume}: not a training checkpoint (no live weights and optimizer state)`);
    model = new FlowModel(config, resumeFrom.weights, options.resume);
    if (resumeFrom.meta.progress) progress = { ...resumeFrom.meta.progress };
  } else {
    model = new FlowModel(config, options.initWeights ?? { seed: options.seed }, options.initWeights ? 'the --init_from weights' : 'initial weights');
  }
  const optimizer = new AdamW(model.params, { ...PYTORCH_ADAMW_DEFAULTS, betas: options.betas });
  const ema = options.useEma ? new Ema(model.params) : undefined;
  if (resumeFrom) {
    optimizer.step = resumeFrom.meta.progress?.optimizerSteps ?? 0;
    if (resumeFrom.optimizer) {
      for (const p of model.arch.params) {
        tf.tidy(() => optimizer.m.get(p.name)!.assign(tf.tensor(resumeFrom.optimizer!.expAvg.get(p.name)!, p.shape)));
        tf.tidy(() => optimizer.v.get(p.name)!.assign(tf.tensor(resumeFrom.optimizer!.expAvgSq.get(p.name)!, p.shape)));
      }
    }
    if (ema) {
      if (!resumeFrom.ema) throw new Error(`--resume ${options.resume}: --use_ema is set but the checkpoint has no EMA weights`);
      for (const p of model.arch.params) tf.tidy(() => ema.shadow.get(p.name)!.assign(tf.tensor(resumeFrom.ema!.get(p.name)!, p.shape)));
      ema.updates = resumeFrom.meta.progress?.emaUpdates ?? 0;
    }
    log(`flow-train: resumed from ${options.resume} at epoch ${progress.epoch}, iteration ${progress.iteration} (${progress.imagesSeen} images seen)`);
  }
  await writeFile(join(outDir, 'args.json'), `${JSON.stringify(options.args, null, 2)}\n`);
  log(`flow-train: model '${config.name}' with ${model.arch.parameterCount} parameters; ${data.description}, ${data.n} images; ${stepsPerEpoch} steps of ${options.batchSize}×${options.accumIter} per epoch`);

  const settings: StepSettings = { seed: options.seed, classDropProb: options.classDropProb, skewedTimesteps: options.skewedTimesteps };
  const losses: number[] = [];
  let lastSave = performance.now();
  const runStart = performance.now();
  const wallAtStart = progress.wallSeconds;
  let imagesThisRun = 0;
  let checkpointPath: string | undefined;

  const snapshot = (): TrainingProgress => ({ ...progress, optimizerSteps: optimizer.step, emaUpdates: ema?.updates ?? 0, wallSeconds: wallAtStart + (performance.now() - runStart) / 1000 });

  const save = async (reason: string): Promise<string> => {
    progress = snapshot();
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      config,
      parameters: model.arch.parameterCount,
      weights: 'live',
      sampling: options.sampling,
      trainArgs: options.args,
      progress,
      provenance: { data: data.description, dataSource: data.source, images: data.n, code: 'mmmi flow-train 0.1.0', created: new Date().toISOString(), backend: tf.getBackend() },
    };
    const path = join(outDir, CHECKPOINT_NAME);
    await writeCheckpoint(path, {
      meta,
      weights: await model.values(),
      ema: ema ? await model.values(ema.shadow) : undefined,
      optimizer: { expAvg: await model.values(optimizer.m), expAvgSq: await model.values(optimizer.v) },
    });
    const name = options.name ?? basename(outDir);
    await registerModel(userRegistryDir(options.registry), name, registryEntry(path, await readFile(path), meta, `flow-train checkpoint (${reason})`));
    lastSave = performance.now();
    log(`flow-train: checkpoint ${path} (${reason}; epoch ${progress.epoch}, iteration ${progress.iteration}, ${progress.imagesSeen} images seen), registered as '${name}'`);
    return path;
  };

  const evaluate = async (epoch: number) => {
    const weights = ema ? ema.shadow : model.params;
    const classes = Math.min(config.numClasses, Math.max(1, data.classes.length));
    const labels = Int32Array.from({ length: classes * options.gridPerClass }, (_, i) => Math.floor(i / options.gridPerClass));
    // no gradients here: the current weights go to ONNX Runtime when it loads
    const engine = await openEngineForValues(model.arch, await model.values(weights), { engine: options.evalEngine ?? 'auto', log });
    try {
      await evaluateWith(epoch, weights, labels, engine);
    } finally {
      await engine?.close();
    }
  };

  const evaluateWith = async (epoch: number, weights: ReadonlyMap<string, tf.Tensor>, labels: Int32Array, engine: VelocityEngine | undefined) => {
    const images = await sampleImages(model, weights, labels, options.sampling, { seed: options.seed, stream: 77, threads: pool, engine });
    const grid = imageGrid(images, labels.length, config.imageSize, options.gridPerClass);
    const gridPath = join(outDir, `samples-epoch${String(epoch).padStart(4, '0')}.png`);
    await writePng(gridPath, grid);
    log(`flow-train: sample grid ${gridPath} (one row per class; ${engine ? `ONNX Runtime ${engine.info.provider}` : `tfjs ${tf.getBackend()}`})`);
    if (options.computeFid) {
      const fid = await options.computeFid(model, weights, epoch, pool, engine);
      await appendFile(logFile, `${JSON.stringify({ epoch, fid })}\n`);
      log(`flow-train: FID ${fid.toFixed(2)} at epoch ${epoch}`);
    }
  };

  let pool: ModelThreads | undefined;
  try {
    const threads = options.threads ?? 1;
    if (threads > 1) {
      pool = await ModelThreads.start(config, tf.getBackend(), threads - 1);
      log(`flow-train: data parallel over ${threads} threads (${threads - 1} workers + this one), each on ${tf.getBackend()}`);
    }
    if (options.evalOnly) {
      await evaluate(progress.epoch);
      return { progress: snapshot(), losses };
    }
    epochs: for (let epoch = progress.epoch; epoch < options.epochs; epoch++) {
      const order = epochOrder(data.n, options.seed, epoch);
      const lr = learningRate(options.lr, epoch, options.epochs, options.decayLr);
      const firstStep = Math.floor(progress.iteration / options.accumIter);
      const bar = new Progress({ label: `epoch ${epoch}`, total: stepsPerEpoch * options.batchSize * options.accumIter, initial: firstStep * options.batchSize * options.accumIter, unit: 'images', stream: options.progressStream === undefined ? process.stderr : (options.progressStream as never), logFile: progressLog, detail: () => (losses.length ? `loss ${losses[losses.length - 1].toFixed(4)}` : '') });
      let epochLoss = 0;
      let epochSteps = 0;
      for (let s = firstStep; s < stepsPerEpoch; s++) {
        const batches: Batch[] = [];
        for (let j = 0; j < options.accumIter; j++) batches.push(makeBatch(data, order, s * options.accumIter + j, options.batchSize, options.seed, epoch));
        const iteration = epoch * perEpoch + s * options.accumIter;
        const { loss } = await trainStep(model, optimizer, ema, batches, iteration, lr, settings, pool);
        losses.push(loss);
        epochLoss += loss;
        epochSteps++;
        const seen = options.batchSize * options.accumIter;
        progress.imagesSeen += seen;
        imagesThisRun += seen;
        progress.iteration = (s + 1) * options.accumIter;
        progress.lastLoss = loss;
        bar.tick(seen);
        options.onStep?.({ epoch, iteration: progress.iteration, loss, optimizerSteps: optimizer.step });
        const stop = options.maxImages !== undefined && imagesThisRun >= options.maxImages;
        if (options.testRun) break;
        if (stop) {
          bar.finish('stopped (--max_images)');
          checkpointPath = await save('max_images reached');
          break epochs;
        }
        if (options.checkpointMinutes && performance.now() - lastSave > options.checkpointMinutes * 60_000 && s + 1 < stepsPerEpoch) {
          checkpointPath = await save(`every ${options.checkpointMinutes} min`);
        }
      }
      bar.finish();
      progress.epoch = epoch + 1;
      progress.iteration = 0;
      const line = { epoch, train_loss: epochSteps ? epochLoss / epochSteps : null, lr, steps: epochSteps, images_seen: progress.imagesSeen, optimizer_steps: optimizer.step, wall_s: Math.round(snapshot().wallSeconds) };
      await appendFile(logFile, `${JSON.stringify(line)}\n`);
      if ((epoch + 1) % options.evalFrequency === 0 || epoch + 1 === options.epochs || options.testRun) {
        checkpointPath = await save(`epoch ${epoch}`);
        await evaluate(epoch);
      }
      if (options.testRun) break;
    }
    return { progress: snapshot(), checkpoint: checkpointPath, losses };
  } finally {
    await pool?.close();
    optimizer.dispose();
    ema?.dispose();
    model.dispose();
  }
}
