/**
 * Sampling: integrate the learned flow from noise (t = 0) to images (t = 1) with
 * classifier-free guidance
 *
 *   v = (1 + w)·v(x, t, y) − w·v(x, t, ∅)
 *
 * (the conditional and unconditional passes run as one forward of the doubled batch).
 * Time grids: the EDM grid of `nfe` steps with --edm_schedule, else `nfe` uniform steps
 * (or a `step_size`); dopri5 chooses its own steps between 0 and 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@mmmi/latents';
import type { SamplingSettings } from './checkpoint.js';
import type { FlowModel } from './flow-model.js';
import type { VelocityEngine } from './engine/ort-engine.js';
import type { SamplingThreads } from './parallel/model-threads.js';
import { shardRanges } from './parallel/shard.js';
import { integrate, parseOdeMethod, type VelocityField } from './solvers/index.js';
import { edmGrid, uniformGrid } from './time-grid.js';
import type { ParamTensors } from './unet/model.js';

/** The guided velocity field for labels `y` (numClasses = unconditional). */
export function guidedVelocity(model: FlowModel, weights: ParamTensors, labels: Int32Array, cfgScale: number): VelocityField {
  const n = labels.length;
  const doubled = Int32Array.from([...labels, ...new Array<number>(n).fill(model.noLabel)]);
  return (x, t) =>
    tf.tidy(() => {
      if (cfgScale === 0) {
        return model.velocity(x as tf.Tensor4D, tf.fill([n], t), tf.tensor1d(labels, 'int32'), {}, weights);
      }
      const v = model.velocity(tf.concat([x, x], 0) as tf.Tensor4D, tf.fill([2 * n], t), tf.tensor1d(doubled, 'int32'), {}, weights);
      const [cond, uncond] = tf.split(v, 2, 0);
      return tf.sub(tf.mul(cond, 1 + cfgScale), tf.mul(uncond, cfgScale));
    });
}

/** The time grid the settings ask for. */
export function samplingGrid(settings: SamplingSettings): number[] {
  const method = parseOdeMethod(settings.odeMethod);
  if (method === 'dopri5') return [0, 1];
  const nfe = settings.odeOptions.nfe;
  if (settings.edmSchedule) {
    if (nfe === undefined) throw new Error('the EDM schedule needs ode_options.nfe (grid steps)');
    return edmGrid(nfe);
  }
  if (settings.odeOptions.step_size !== undefined) return [0, 1];
  if (nfe === undefined) throw new Error('ode_options needs nfe (grid steps) or step_size');
  return uniformGrid(nfe);
}

export interface SampleOptions {
  seed: number;
  /** Stream of the noise draw (different batches of one run use different streams). */
  stream?: number;
  /** Overrides the settings' time grid (e.g. the reference generation grid). */
  timeGrid?: readonly number[];
  onStep?: (done: number, total: number) => void;
  /** Worker threads that integrate shards of the rows alongside this one (tfjs only). */
  threads?: SamplingThreads;
  /** Evaluates the velocity instead of `model`'s tfjs forward pass (e.g. ONNX Runtime). */
  engine?: VelocityEngine;
}

/** Integrates from the given noise x0 (NHWC); returns x at t = 1 (caller disposes). */
export function integrateFlow(
  model: FlowModel,
  weights: ParamTensors,
  x0: tf.Tensor4D,
  labels: Int32Array,
  settings: SamplingSettings,
  options: Omit<SampleOptions, 'seed' | 'stream'> = {},
): { x: tf.Tensor4D; nfe: number } {
  const grid = options.timeGrid ?? samplingGrid(settings);
  const field = options.engine ? options.engine.guidedVelocity(labels, settings.cfgScale) : guidedVelocity(model, weights, labels, settings.cfgScale);
  const { x, nfe } = integrate(field, x0, grid, parseOdeMethod(settings.odeMethod), {
    stepSize: options.timeGrid ? undefined : settings.odeOptions.step_size,
    atol: settings.odeOptions.atol,
    rtol: settings.odeOptions.rtol,
    onStep: options.onStep,
  });
  return { x: x as tf.Tensor4D, nfe };
}

/**
 * Integrates rows of noise `x0` (NHWC floats, one row per label) to x at t = 1, split
 * between this thread and `options.threads`' workers when given (on fixed grids each row
 * comes out as in one batch, to float rounding; dopri5 picks its steps per shard).
 */
export async function integrateFlowRows(
  model: FlowModel,
  weights: ParamTensors,
  x0: Float32Array,
  labels: Int32Array,
  settings: SamplingSettings,
  options: Omit<SampleOptions, 'seed' | 'stream'> = {},
): Promise<Float32Array> {
  const c = model.config;
  const pixels = c.imageSize * c.imageSize * c.inChannels;
  const rowsOf = (a: number, b: number) => x0.subarray(a * pixels, b * pixels);
  const here = async (x: Float32Array, y: Int32Array) => {
    const start = tf.tensor4d(x, [y.length, c.imageSize, c.imageSize, c.inChannels]);
    const { x: end } = integrateFlow(model, weights, start, y, settings, options);
    start.dispose();
    const out = (await end.data()) as Float32Array;
    end.dispose();
    return out;
  };
  if (options.engine) return onCpuBackend(() => here(x0, labels));
  const threads = options.threads;
  if (!threads || labels.length < 2) return here(x0, labels);
  threads.publish(await model.values(weights));
  const [own, ...others] = shardRanges(labels.length, threads.workers + 1);
  const pending = Promise.allSettled(others.map(([a, b], j) => threads.integrate(j, rowsOf(a, b), labels.subarray(a, b), settings, options.timeGrid)));
  const mine = await here(rowsOf(own[0], own[1]), labels.subarray(own[0], own[1]));
  const results = await pending;
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const out = new Float32Array(labels.length * pixels);
  out.set(mine, own[0] * pixels);
  results.forEach((r, j) => out.set((r as PromiseFulfilledResult<Float32Array>).value, others[j][0] * pixels));
  return out;
}

/**
 * Runs `f` on tfjs's cpu backend and switches back after. With an engine such as ONNX Runtime
 * the solver's few tensor operations run there: the engine reads its input synchronously,
 * which the webgpu backend cannot do in Node, and a copy to a GPU would gain nothing.
 */
export async function onCpuBackend<T>(f: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  if (previous === 'cpu') return f();
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend(previous);
  }
}

/** Standard normal noise [n, size, size, channels] from (seed, stream). */
export function noiseBatch(model: FlowModel, n: number, seed: number, stream = 0): Float32Array {
  const c = model.config;
  const noise = new Float32Array(n * c.imageSize * c.imageSize * c.inChannels);
  new Rng(seed, stream).fillNormal(noise);
  return noise;
}

/** Samples for `labels` as uint8 RGB HWC images (x·0.5 + 0.5 clamped to [0, 1], then ·255). */
export async function sampleImages(
  model: FlowModel,
  weights: ParamTensors,
  labels: Int32Array,
  settings: SamplingSettings,
  options: SampleOptions,
): Promise<Uint8Array> {
  return toUint8Images(await integrateFlowRows(model, weights, noiseBatch(model, labels.length, options.seed, options.stream), labels, settings, options));
}

export function toUint8Images(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.min(1, Math.max(0, x[i] * 0.5 + 0.5));
    out[i] = Math.floor(v * 255);
  }
  return out;
}

/** Tiles n HWC images into a grid `cols` wide (1-pixel white gutters). */
export function imageGrid(images: Uint8Array, n: number, size: number, cols: number): { width: number; height: number; data: Uint8Array } {
  const rows = Math.ceil(n / cols);
  const width = cols * (size + 1) + 1;
  const height = rows * (size + 1) + 1;
  const data = new Uint8Array(width * height * 3).fill(255);
  for (let i = 0; i < n; i++) {
    const gx = (i % cols) * (size + 1) + 1;
    const gy = Math.floor(i / cols) * (size + 1) + 1;
    for (let y = 0; y < size; y++) {
      const src = (i * size * size + y * size) * 3;
      data.set(images.subarray(src, src + size * 3), ((gy + y) * width + gx) * 3);
    }
  }
  return { width, height, data };
}
