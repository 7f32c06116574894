/**
 * Test data for latent MI: correlated Gaussian coordinates embedded linearly in a higher
 * dimension, with the exact MI and the exact pointwise MI of every pair.
 *
 * Latents: (u_c, v_c), c < d, standard bivariate normal with correlation ρ_c, independent across
 * c (./variational-data.ts's gaussianPairs), so I(U; V) = −½ Σ_c log(1 − ρ_c²) and
 * PMI(u, v) = Σ_c PMI_ρc(u_c, v_c). Observations: x = A u and y = B v with A, B fixed random
 * D×d matrices (entries N(0, 1/d)), of full column rank d ≤ D with probability one, so u = A⁺x
 * and v = B⁺y: injective maps of each side, which leave the MI and every pair's PMI unchanged.
 * The x values fill a d-dimensional subspace of R^D: high-dimensional data with
 * low-dimensional structure, the case LMI is made for.
 */
import { SeededRandom } from '@mmmi/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { PairedSamples } from '../src/estimator.js';
import { fitLmi, type FittedLmi, type LmiOptions } from '../src/latent/index.js';
import { gaussianMiOf, gaussianPairs, gaussianPmi } from './variational-data.js';

export interface EmbeddedGaussian {
  data: PairedSamples;
  /** The latents, n×d row-major. */
  u: Float64Array;
  v: Float64Array;
  /** I(X; Y) = I(U; V), nats. */
  truth: number;
  /** PMI(x_i, y_i) = PMI(u_i, v_i), float64. */
  pmi: Float64Array;
}

/** D×d matrix with N(0, 1/d) entries, row-major. */
function randomMap(random: SeededRandom, rows: number, cols: number): Float64Array {
  return Float64Array.from({ length: rows * cols }, () => random.normal() / Math.sqrt(cols));
}

/** out (n×D) = latents (n×d) · mapᵀ, map D×d. */
function embed(latents: Float64Array, n: number, d: number, map: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(n * dim);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < dim; r++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += map[r * d + c] * latents[i * d + c];
      out[i * dim + r] = s;
    }
  return out;
}

/**
 * n pairs of d = rhos.length latent coordinate pairs, x embedded in `dim` values and y in `dim`.
 * `mapSeed` fixes the embedding (the same maps for every draw of the same mapSeed), `seed` the draws.
 */
export function embeddedGaussian(n: number, rhos: readonly number[], dim: number, seed: number, mapSeed = 99): EmbeddedGaussian {
  const d = rhos.length;
  const latents = gaussianPairs(n, rhos, seed);
  const maps = new SeededRandom(mapSeed);
  const a = randomMap(maps, dim, d);
  const b = randomMap(maps, dim, d);
  const pmi = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) pmi[i] += gaussianPmi(latents.x[i * d + c], latents.y[i * d + c], rhos[c]);
  return {
    data: { n, x: embed(latents.x, n, d, a, dim), dx: dim, y: embed(latents.y, n, d, b, dim), dy: dim },
    u: latents.x,
    v: latents.y,
    truth: gaussianMiOf(rhos),
    pmi,
  };
}

/**
 * The training schedule of the LMI tests: Adam at 1e-3 for at most 60 epochs, patience 10, instead
 * of the default 1e-4 for at most 300 epochs, patience 30 (about 5× less time). On the 1-D case both
 * schedules gave the same estimates to within 0.01 over three seeds (README: the sweep); the
 * other defaults (codes, widths, batches, split, KSG) are untouched.
 */
export const TEST_SCHEDULE: LmiOptions = { learningRate: 1e-3, epochs: 60, patience: 10 };

export function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}

/**
 * fitLmi on `data` (default g's), a line for the file's table, and the leak checks: the fitted
 * networks are the only tensors it leaves, scoring new pairs leaves none.
 */
export async function fitChecked(table: string[], label: string, g: EmbeddedGaussian, data = g.data, options: LmiOptions = {}): Promise<FittedLmi> {
  const before = tf.memory().numTensors;
  const fit = await fitLmi(data, { ...TEST_SCHEDULE, ...options });
  const d = fit.estimate.details as Record<string, unknown>;
  table.push(
    `  ${label.padEnd(34)} ${fit.estimate.estimate.toFixed(3)} ± ${fit.estimate.standardError?.toFixed(3)} (I = ${g.truth.toFixed(3)}; ` +
      `${d.epochs} epochs, kept ${d.keptEpoch}, ${fit.estimate.seconds.toFixed(1)} s)`,
  );
  const afterFit = tf.memory().numTensors;
  expect(afterFit).toBeGreaterThan(before);
  fit.pointwiseMi(data.x.subarray(0, 50 * data.dx), data.y.subarray(0, 50 * data.dy), 50);
  expect(tf.memory().numTensors).toBe(afterFit);
  return fit;
}

/** Frees the networks and checks that nothing is left of the fit. */
export function disposeChecked(fit: FittedLmi, before: number): void {
  fit.dispose();
  expect(tf.memory().numTensors).toBe(before);
}
