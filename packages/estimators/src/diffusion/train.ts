/**
 * Denoising score matching of MINDE's network (./denoiser.ts), as the authors train it: each
 * Adam step draws a minibatch of training rows, a log-SNR λ per row uniformly on the estimate's
 * range (the importance sampling of ./schedule.ts, so training weights the times as the
 * estimate does), noise ε, and a condition flag c per row (1 or 0 with probability ½: the
 * conditional and the marginal score are learnt by one network); the loss is the mean squared
 * error of the noise, mean over rows and values of (ε̂ − ε)².
 *
 * Every `evalEvery` steps (and at the last) a curve point records the training loss since the
 * previous point and the loss of the held-out rows at noise drawn once (λ stratified over the
 * range, both flags), so points are comparable. Early stopping (patience > 0) keeps the weights
 * of the lowest held-out loss (tfjs-runtime's BestWeights). A non-finite training loss is a
 * RunFailure naming the step.
 */
import { RunFailure } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { BestWeights } from '@mmmi/tfjs-runtime';
import { mulberry32 } from '../random.js';
import { BatchSampler, gatherRows } from '../variational/data.js';
import type { Denoiser } from './denoiser.js';
import { noiseRows, type DiffusionRows } from './noising.js';
import type { DiffusionCurvePoint } from './options.js';
import { normalStream, type LogSnrRange } from './schedule.js';

export interface DiffusionTrainSettings {
  steps: number;
  batchSize: number;
  learningRate: number;
  evalEvery: number;
  patience: number;
  seed: number;
  /** Decay of the weights' exponential moving average, which the curve, early stopping and the estimate read (0: the raw weights). */
  emaDecay: number;
}

export interface DiffusionTrainResult {
  curve: DiffusionCurvePoint[];
  steps: number;
  stoppedEarly: boolean;
  /** The step whose weights were kept. */
  keptStep: number;
  /** The held-out loss with the kept weights, measured again after they are restored. */
  keptHeldOut: number;
  seconds: number;
}

/** Held-out rows the monitor loss reads at most (it is computed every evalEvery steps). */
const MONITOR_ROWS = 2048;

interface MonitorBatch {
  rows: number;
  xt: tf.Tensor2D;
  eps: tf.Tensor2D;
  y: tf.Tensor2D;
  c: tf.Tensor2D;
  lambda: tf.Tensor2D;
}

/** The held-out rows twice (c = 1, then c = 0), each at a λ stratified over the range and fixed noise. */
function monitorBatch(rows: DiffusionRows, range: LogSnrRange, seed: number): MonitorBatch {
  const n = Math.min(rows.n, MONITOR_ROWS);
  const uniform = mulberry32(seed ^ 0x3017);
  const lambda = new Float32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) lambda[i] = range.min + ((i % n) + uniform()) * ((range.max - range.min) / n);
  const x = new Float32Array(2 * n * rows.d);
  x.set(rows.x.subarray(0, n * rows.d));
  x.set(rows.x.subarray(0, n * rows.d), n * rows.d);
  const y = new Float32Array(2 * n * rows.m);
  y.set(rows.y.subarray(0, n * rows.m));
  y.set(rows.y.subarray(0, n * rows.m), n * rows.m);
  const { xt, eps } = noiseRows(x, rows.d, lambda, normalStream(uniform));
  const c = new Float32Array(2 * n).fill(1, 0, n);
  return {
    rows: 2 * n,
    xt: tf.tensor2d(xt, [2 * n, rows.d]),
    eps: tf.tensor2d(eps, [2 * n, rows.d]),
    y: tf.tensor2d(y, [2 * n, rows.m]),
    c: tf.tensor2d(c, [2 * n, 1]),
    lambda: tf.tensor2d(lambda, [2 * n, 1]),
  };
}

/**
 * An exponential moving average of the weights, w̄ ← δ·w̄ + (1 − δ)·w after every step (the
 * authors' EMA, decay 0.999, with the usual warm-up): the denoising loss is noisy, and the estimate is a small difference
 * of two outputs of the network, which the step-to-step jitter of raw Adam weights blurs.
 */
class WeightAverage {
  private readonly average: tf.Variable[];
  constructor(
    private readonly variables: tf.Variable[],
    private readonly decay: number,
  ) {
    this.average = variables.map((v) => tf.variable(v.clone(), false));
  }
  private updates = 0;
  /** δ_k = min(δ, (1 + k)/(10 + k)) at update k, so the average forgets the random initial weights within the first hundreds of steps. */
  update(): void {
    const decay = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    this.updates++;
    tf.tidy(() => this.average.forEach((a, i) => a.assign(tf.add(tf.mul(a, decay), tf.mul(this.variables[i], 1 - decay)))));
  }
  /** Puts the averaged weights in the network; returns the raw ones for swapOut. */
  swapIn(): tf.Tensor[] {
    const raw = this.variables.map((v) => v.clone());
    this.variables.forEach((v, i) => v.assign(this.average[i]));
    return raw;
  }
  swapOut(raw: tf.Tensor[]): void {
    this.variables.forEach((v, i) => v.assign(raw[i]));
    raw.forEach((t) => t.dispose());
  }
  dispose(): void {
    this.average.forEach((a) => a.dispose());
  }
}

const noiseLoss = (net: Denoiser, xt: tf.Tensor2D, eps: tf.Tensor2D, y: tf.Tensor2D, c: tf.Tensor2D, lambda: tf.Tensor2D): tf.Scalar =>
  tf.mean(tf.squaredDifference(net.predict(xt, y, c, lambda), eps));

function monitorLoss(net: Denoiser, b: MonitorBatch): number {
  const loss = tf.tidy(() => noiseLoss(net, b.xt, b.eps, b.y, b.c, b.lambda));
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

export function trainDenoiser(
  net: Denoiser,
  train: DiffusionRows,
  heldOut: DiffusionRows,
  range: LogSnrRange,
  s: DiffusionTrainSettings,
  onProgress?: (point: DiffusionCurvePoint) => void,
): DiffusionTrainResult {
  const optimizer = tf.train.adam(s.learningRate);
  const uniform = mulberry32(s.seed ^ 0x5c0e);
  const normal = normalStream(uniform);
  const batch = Math.min(s.batchSize, train.n);
  const sampler = new BatchSampler(train.n, batch, uniform);
  const monitor = monitorBatch(heldOut, range, s.seed);
  const kept = new BestWeights(net.variables, s.patience, 'min');
  const ema = s.emaDecay > 0 ? new WeightAverage(net.variables, s.emaDecay) : null;
  const curve: DiffusionCurvePoint[] = [];
  const t0 = performance.now();
  let step = 0;
  let sum = 0;
  let count = 0;
  try {
    while (step < s.steps) {
      step++;
      const rows = sampler.next();
      const lambda = new Float32Array(rows.length);
      const c = new Float32Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        lambda[i] = range.min + uniform() * (range.max - range.min);
        c[i] = uniform() < 0.5 ? 1 : 0;
      }
      const { xt, eps } = noiseRows(gatherRows(train.x, train.d, rows), train.d, lambda, normal);
      const yb = gatherRows(train.y, train.m, rows);
      const cost = tf.tidy(
        () =>
          optimizer.minimize(
            () =>
              noiseLoss(
                net,
                tf.tensor2d(xt, [rows.length, train.d]),
                tf.tensor2d(eps, [rows.length, train.d]),
                tf.tensor2d(yb, [rows.length, train.m]),
                tf.tensor2d(c, [rows.length, 1]),
                tf.tensor2d(lambda, [rows.length, 1]),
              ),
            true,
            net.variables,
          ) as tf.Scalar,
      );
      const value = cost.dataSync()[0];
      cost.dispose();
      ema?.update();
      if (!Number.isFinite(value))
        throw new RunFailure(`minde: training diverged at step ${step} (the loss is ${value}); lower learningRate (now ${s.learningRate})`);
      sum += value;
      count++;
      if (step % s.evalEvery === 0 || step === s.steps) {
        // the averaged weights are read (and snapshotted by `kept`), then training goes on from the raw ones
        const raw = ema?.swapIn();
        const point: DiffusionCurvePoint = { step, train: sum / count, heldOut: monitorLoss(net, monitor), seconds: (performance.now() - t0) / 1000 };
        sum = 0;
        count = 0;
        curve.push(point);
        onProgress?.(point);
        const stop = kept.observe(point.heldOut, step);
        if (stop || step === s.steps) break; // the averaged weights stay in place
        ema?.swapOut(raw!);
      }
    }
    kept.restore(step);
    const keptHeldOut = monitorLoss(net, monitor);
    return { curve, steps: step, stoppedEarly: kept.stoppedEarly, keptStep: kept.keptAt, keptHeldOut, seconds: (performance.now() - t0) / 1000 };
  } finally {
    optimizer.dispose();
    kept.dispose();
    ema?.dispose();
    for (const t of [monitor.xt, monitor.eps, monitor.y, monitor.c, monitor.lambda]) t.dispose();
  }
}
