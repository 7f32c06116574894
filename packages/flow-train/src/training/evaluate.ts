/**
 * The evaluation after a checkpoint: a grid of `gridPerClass` samples per class from the EMA
 * weights (the live ones without EMA), and the FID when a hook is given. Sampling has no
 * gradients, so it runs on ONNX Runtime where that loads.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writePng } from '@mmmi/formats';
import { openEngineForValues } from '../engine/index.js';
import type { VelocityEngine } from '../engine/ort-engine.js';
import { imageGrid, sampleImages } from '../sample.js';
import type { TrainingRun } from './run.js';

/** Writes `samples-epochNNNN.png` (one row per class) and appends the FID to log.txt. */
export async function evaluate(run: TrainingRun, epoch: number): Promise<void> {
  const { model, ema, options, config } = run;
  const weights = ema ? ema.shadow : model.params;
  const classes = Math.min(config.numClasses, Math.max(1, run.data.classes.length));
  const labels = Int32Array.from({ length: classes * options.gridPerClass }, (_, i) => Math.floor(i / options.gridPerClass));
  const engine = await openEngineForValues(model.arch, await model.values(weights), { engine: options.evalEngine ?? 'auto', log: run.log });
  try {
    await evaluateWith(run, epoch, weights, labels, engine);
  } finally {
    await engine?.close();
  }
}

async function evaluateWith(
  run: TrainingRun,
  epoch: number,
  weights: ReadonlyMap<string, tf.Tensor>,
  labels: Int32Array,
  engine: VelocityEngine | undefined,
): Promise<void> {
  const { model, options, config, pool } = run;
  const images = await sampleImages(model, weights, labels, options.sampling, { seed: options.seed, stream: 77, threads: pool, engine });
  const grid = imageGrid(images, labels.length, config.imageSize, options.gridPerClass);
  const gridPath = join(run.outDir, `samples-epoch${String(epoch).padStart(4, '0')}.png`);
  await writePng(gridPath, grid);
  run.log(`flow-train: sample grid ${gridPath} (one row per class; ${engine ? `ONNX Runtime ${engine.info.provider}` : `tfjs ${tf.getBackend()}`})`);
  if (options.computeFid) {
    const fid = await options.computeFid(model, weights, epoch, pool, engine);
    await appendFile(run.logFile, `${JSON.stringify({ epoch, fid })}\n`);
    run.log(`flow-train: FID ${fid.toFixed(2)} at epoch ${epoch}`);
  }
}
