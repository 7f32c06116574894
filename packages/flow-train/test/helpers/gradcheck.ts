/**
 * Finite-difference gradient checks for float32 tfjs functions.
 *
 * For a scalar function L of some tensors, autodiff gives g = ∇L. Along a random direction d,
 * the perturbed inputs are θ± = fround(θ ± h·d); the actual (float32-rounded) steps
 * Δ± = ±(θ± − θ) are computed exactly in float64, and the central difference
 *
 *   L(θ+) − L(θ−)  ≈  g · (Δ+ + Δ−)          (error O(h³), the quadratic terms cancel)
 *
 * compares the two. L is evaluated by running the float32 forward and summing its outputs
 * against fixed weights in float64.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeededRandom } from '@mmmi/test-utils';

export interface DirectionalCheck {
  /** L(θ+) − L(θ−), from the forward pass. */
  measured: number;
  /** g · (Δ+ + Δ−), from the autodiff gradient. */
  predicted: number;
  relativeError: number;
}

const rms = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);

/**
 * Checks ∇L at `inputs` along `directions` random directions (each input moved at once,
 * scaled by its RMS so that every input moves by ≈ `relStep` of its size). The default 5e-3
 * balances float32 rounding in L (worse for smaller steps) against the O(h³) remainder
 * (worse for larger ones) on the UNet checks: there the relative errors are ~1e-5–4e-3.
 * `loss(inputs)` returns float64 from a float32 forward; `gradients` the autodiff gradients.
 */
export function directionalChecks(
  inputs: readonly tf.Tensor[],
  loss: (inputs: readonly tf.Tensor[]) => number,
  gradients: readonly Float32Array[],
  options: { seed: number; directions?: number; relStep?: number },
): DirectionalCheck[] {
  const rng = new SeededRandom(options.seed);
  const base = inputs.map((t) => t.dataSync() as Float32Array);
  const out: DirectionalCheck[] = [];
  for (let k = 0; k < (options.directions ?? 3); k++) {
    const plus: Float32Array[] = [];
    const minus: Float32Array[] = [];
    let predicted = 0;
    base.forEach((theta, j) => {
      const h = (options.relStep ?? 5e-3) * Math.max(rms(theta), 1e-2);
      const p = new Float32Array(theta.length);
      const m = new Float32Array(theta.length);
      for (let i = 0; i < theta.length; i++) {
        const d = h * rng.normal();
        p[i] = theta[i] + d;
        m[i] = theta[i] - d;
        predicted += gradients[j][i] * (p[i] - theta[i] + (theta[i] - m[i]));
      }
      plus.push(p);
      minus.push(m);
    });
    const evalAt = (values: Float32Array[]) => {
      const ts = values.map((v, j) => tf.tensor(v, inputs[j].shape, 'float32'));
      try {
        return loss(ts);
      } finally {
        tf.dispose(ts);
      }
    };
    const measured = evalAt(plus) - evalAt(minus);
    out.push({ measured, predicted, relativeError: Math.abs(measured - predicted) / Math.abs(predicted) });
  }
  return out;
}

/** Σ w·y in float64. */
export function weightedSum(y: tf.Tensor, w: Float32Array): number {
  const v = y.dataSync();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * w[i];
  return s;
}
