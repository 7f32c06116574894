/**
 * The evaluation after a checkpoint: a grid of `gridPerClass` samples per class from the EMA
 * weights (the live ones without EMA), and the FID when a hook is given. Sampling has no
 * gradients, so it runs on ONNX Runtime where that loads (flow-train's sampler opener over
 * the run's model, with the run's threads).
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writePng } from '@mmmi/formats';
import { imageGrid } from '../sample.js';
import { openSampler, type Sampler } from '../sampler.js';
import type { TrainingRun } from './run.js';

/** Writes `samples-epochNNNN.png` (one row per class) and appends the FID to log.txt. */
export async function evaluate(run: TrainingRun, epoch: number): Promise<void> {
  const { model, ema, options, config } = run;
  const weights = ema ? ema.shadow : model.params;
  const classes = Math.min(config.numClasses, Math.max(1, run.data.classes.length));
  const labels = Int32Array.from({ length: classes * options.gridPerClass }, (_, i) => Math.floor(i / options.gridPerClass));
  const sampler = await openSampler({ model, weights, settings: options.sampling, threads: run.pool }, { engine: options.evalEngine ?? 'auto', log: run.log });
  try {
    await evaluateWith(run, epoch, sampler, labels);
  } finally {
    await sampler.close();
  }
}

async function evaluateWith(run: TrainingRun, epoch: number, sampler: Sampler, labels: Int32Array): Promise<void> {
  const { options, config } = run;
  const { engine } = sampler;
  const images = await sampler.sample(labels, { seed: options.seed, stream: 77 });
  const grid = imageGrid(images, labels.length, config.imageSize, options.gridPerClass);
  const gridPath = join(run.outDir, `samples-epoch${String(epoch).padStart(4, '0')}.png`);
  await writePng(gridPath, grid);
  run.log(`flow-train: sample grid ${gridPath} (one row per class; ${engine ? `ONNX Runtime ${engine.info.provider}` : `tfjs ${tf.getBackend()}`})`);
  if (options.computeFid) {
    const fid = await options.computeFid(sampler.model, sampler.weights, epoch, sampler.threads, engine);
    await appendFile(run.logFile, `${JSON.stringify({ epoch, fid })}\n`);
    run.log(`flow-train: FID ${fid.toFixed(2)} at epoch ${epoch}`);
  }
}
