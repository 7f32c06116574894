/**
 * MINDE-C's estimate (Franzese, Bounoua, Michiardi, ICLR 2024): by Girsanov's theorem the KL
 * divergence between two diffusions started at p and q is the integral of their score gap,
 *
 *   KL(p ‖ q) = ½ ∫ g(t)² E_{p_t} ‖∇log p_t − ∇log q_t‖² dt  (+ KL(p_T ‖ q_T) ≈ 0),
 *
 * and I(X; Y) = E_y KL(p(x | y) ‖ p(x)). With ε-predictions (∇log p = −ε̂/σ), g² = β and
 * β/σ² dt = −dλ (./schedule.ts), this is
 *
 *   I(X; Y) ≈ ½ (λ_max − λ_min) · E_{(x, y), λ ~ U[λ_min, λ_max], ε} ‖ε̂(x_λ, λ, y, 1) − ε̂(x_λ, λ, 0, 0)‖²,
 *
 * the authors' `mi_cond` with importance sampling (their normalising constant is λ_max − λ_min).
 *
 * Each held-out row is read at `mcSamples` noise draws with λ stratified over the range (draw k
 * of K in the k-th of K equal parts), a lower-variance Monte Carlo of the same integral. A row's
 * value is its mean over the draws times ½ (λ_max − λ_min); the estimate is the mean over rows
 * and the standard error sd/√n over rows, which leaves out the networks' own error (and the bias
 * of an imperfect denoiser, which adds its two errors' gap: upward where they differ).
 *
 * The row values average to I but are not the pointwise MI of the rows; they are not reported as such.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';
import { noiseRows, type DiffusionRows } from './noising.js';
import { normalStream, type LogSnrRange } from './schedule.js';

/** ε̂ of rows of x_λ given y, flag c and λ: a trained denoiser, or in tests the closed form. */
export type NoisePredictor = (xt: tf.Tensor2D, y: tf.Tensor2D, c: tf.Tensor2D, lambda: tf.Tensor2D) => tf.Tensor2D;

export interface MindeReadout {
  estimate: number;
  standardError: number;
  /** Each row's mean score gap times ½ (λ_max − λ_min) (their mean is the estimate). */
  rowValues: Float64Array;
}

/** Row-draws per forward pass. */
const CHUNK = 4096;

export function mindeReadout(predict: NoisePredictor, rows: DiffusionRows, range: LogSnrRange, mcSamples: number, seed: number): MindeReadout {
  const uniform = mulberry32(seed ^ 0x4ead);
  const normal = normalStream(uniform);
  const width = range.max - range.min;
  const sums = new Float64Array(rows.n);
  const total = rows.n * mcSamples;
  for (let from = 0; from < total; from += CHUNK) {
    const count = Math.min(CHUNK, total - from);
    // draw index q = row·K + k
    const x = new Float32Array(count * rows.d);
    const y = new Float32Array(count * rows.m);
    const lambda = new Float32Array(count);
    for (let j = 0; j < count; j++) {
      const q = from + j;
      const row = Math.floor(q / mcSamples);
      const k = q % mcSamples;
      x.set(rows.x.subarray(row * rows.d, (row + 1) * rows.d), j * rows.d);
      y.set(rows.y.subarray(row * rows.m, (row + 1) * rows.m), j * rows.m);
      lambda[j] = range.min + ((k + uniform()) / mcSamples) * width;
    }
    const { xt } = noiseRows(x, rows.d, lambda, normal);
    const gaps = tf.tidy(() => {
      const xtT = tf.tensor2d(xt, [count, rows.d]);
      const yT = tf.tensor2d(y, [count, rows.m]);
      const lambdaT = tf.tensor2d(lambda, [count, 1]);
      const conditional = predict(xtT, yT, tf.ones([count, 1]), lambdaT);
      const marginal = predict(xtT, yT, tf.zeros([count, 1]), lambdaT);
      return tf.sum(tf.squaredDifference(conditional, marginal), 1);
    });
    const values = gaps.dataSync();
    gaps.dispose();
    for (let j = 0; j < count; j++) sums[Math.floor((from + j) / mcSamples)] += values[j];
  }
  const rowValues = new Float64Array(rows.n);
  let mean = 0;
  for (let i = 0; i < rows.n; i++) {
    rowValues[i] = (0.5 * width * sums[i]) / mcSamples;
    mean += rowValues[i] / rows.n;
  }
  let ss = 0;
  for (let i = 0; i < rows.n; i++) ss += (rowValues[i] - mean) ** 2;
  return { estimate: mean, standardError: Math.sqrt(ss / Math.max(1, rows.n - 1) / rows.n), rowValues };
}
