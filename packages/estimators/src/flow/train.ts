/**
 * Maximum-likelihood training of both flows and the base at once, with Adam: each step draws
 * `batchSize` distinct training rows (epoch-wise seeded permutations) and takes one gradient
 * step on the mean negative log-likelihood −(1/B) Σ_i log p(x_i, y_i) (./model.ts), whose
 * log-determinants are in closed form. Every `evalEvery` steps (and at the last) a curve point
 * records the training NLL since the last point, the monitor rows' NLL and the base's MI.
 *
 * Early stopping (patience > 0): after `patience` points without a lower monitor NLL, training
 * stops and the flows of the best point are restored. Why: a flow fitted to a few thousand rows
 * over-fits (its training likelihood keeps rising while the held-out one falls), and an
 * over-fitted flow reports dependence that is not there (the paper's own Figure on zero MI with
 * too little data). The held-out likelihood is the model-choice criterion maximum likelihood
 * itself suggests.
 *
 * Every step runs in tf.tidy; the optimiser's slots and the snapshot are freed before
 * returning, so only the model's variables remain (the caller frees them). A non-finite
 * training NLL is a RunFailure naming the step.
 */
import { RunFailure } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { BestWeights } from '@mmmi/tfjs-runtime';
import { mulberry32 } from '../random.js';
import { BatchSampler, gatherRows } from '../variational/data.js';
import type { MienfModel } from './model.js';
import type { FlowCurvePoint } from './options.js';

/** Standardised float32 rows of both sides. */
export interface FlowRows {
  n: number;
  dx: number;
  dy: number;
  x: Float32Array;
  y: Float32Array;
}

export interface FlowTrainSettings {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  evalEvery: number;
  patience: number;
}

export interface FlowTrainResult {
  curve: FlowCurvePoint[];
  steps: number;
  epochs: number;
  stoppedEarly: boolean;
  /** The step whose flows were kept (the last, or the best monitor point with early stopping). */
  keptStep: number;
  /** The monitor rows' mean NLL with the kept flows. */
  keptHeldOutNll: number;
  seconds: number;
}

/** Rows per chunk when evaluating many rows at once. */
export const EVAL_CHUNK = 1024;

/** Applies `perRow` to the rows in chunks and returns the n per-row values (float64). */
export function mapRows(model: MienfModel, rows: FlowRows, perRow: (m: MienfModel, x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor1D): Float64Array {
  const out = new Float64Array(rows.n);
  for (let i = 0; i < rows.n; i += EVAL_CHUNK) {
    const to = Math.min(rows.n, i + EVAL_CHUNK);
    const v = tf.tidy(() =>
      perRow(
        model,
        tf.tensor2d(rows.x.subarray(i * rows.dx, to * rows.dx), [to - i, rows.dx]),
        tf.tensor2d(rows.y.subarray(i * rows.dy, to * rows.dy), [to - i, rows.dy]),
      ),
    );
    out.set(v.dataSync(), i);
    v.dispose();
  }
  return out;
}

/** Mean negative log-likelihood of the rows, nats per row. */
export function meanNll(model: MienfModel, rows: FlowRows): number {
  const ll = mapRows(model, rows, (m, x, y) => m.logLikelihood(x, y));
  return -ll.reduce((s, v) => s + v, 0) / rows.n;
}

export function trainFlows(
  model: MienfModel,
  train: FlowRows,
  monitor: FlowRows,
  s: FlowTrainSettings,
  onProgress?: (p: FlowCurvePoint) => void,
): FlowTrainResult {
  const k = s.batchSize;
  const optimizer = tf.train.adam(s.learningRate);
  const sampler = new BatchSampler(train.n, k, mulberry32(s.seed ^ 0xf1b7c4));
  const curve: FlowCurvePoint[] = [];
  const t0 = performance.now();
  let sum = 0;
  let count = 0;
  const kept = new BestWeights(model.variables, s.patience, 'min');
  let step = 0;
  try {
    while (step < s.steps) {
      step++;
      const rows = sampler.next();
      const xb = gatherRows(train.x, train.dx, rows);
      const yb = gatherRows(train.y, train.dy, rows);
      const cost = tf.tidy(() => {
        const x = tf.tensor2d(xb, [k, train.dx]);
        const y = tf.tensor2d(yb, [k, train.dy]);
        return optimizer.minimize(() => tf.neg(tf.mean(model.logLikelihood(x, y)) as tf.Scalar), true, model.variables) as tf.Scalar;
      });
      const value = cost.dataSync()[0];
      cost.dispose();
      if (!Number.isFinite(value))
        throw new RunFailure(
          `mienf: training diverged at step ${step} (the minibatch negative log-likelihood is ${value}); lower learningRate (now ${s.learningRate})`,
        );
      sum += value;
      count++;
      if (step % s.evalEvery === 0 || step === s.steps) {
        const heldOutNll = meanNll(model, monitor);
        const point: FlowCurvePoint = { step, trainNll: sum / count, heldOutNll, mi: model.mutualInformation(), seconds: (performance.now() - t0) / 1000 };
        curve.push(point);
        onProgress?.(point);
        sum = 0;
        count = 0;
        if (kept.observe(heldOutNll, step)) break;
      }
    }
    kept.restore(step);
  } finally {
    optimizer.dispose();
    kept.dispose();
  }
  return {
    curve,
    steps: step,
    epochs: (step * k) / train.n,
    stoppedEarly: kept.stoppedEarly,
    keptStep: kept.keptAt,
    keptHeldOutNll: meanNll(model, monitor),
    seconds: (performance.now() - t0) / 1000,
  };
}
