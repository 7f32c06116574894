/**
 * Training-time samplers of t ∈ [0, 1] for a batch (t = 0 noise, t = 1 data).
 *
 * uniform: t ~ U[0, 1).
 * skewed (flow_matching's `skewed_timestep_sample`, EDM's log-normal noise levels):
 *   ln σ ~ N(P_mean, P_std²) with P_mean = −1.2, P_std = 1.2,  t = 1/(1 + σ),  clipped to [1e-4, 1];
 * equivalently ln((1 − t)/t) ~ N(−1.2, 1.44), which puts the median at t = 1/(1 + e^{−1.2}) ≈ 0.77,
 * toward the data end. Clipping binds only when σ > 9999 (a 8.7-standard-deviation draw).
 *
 * Values are computed in float64 and rounded once to float32.
 */

/** A seedable source of U[0, 1) and N(0, 1) draws. */
export interface RandomSource {
  uniform(): number;
  normal(): number;
}

export const SKEW_LOG_SIGMA_MEAN = -1.2;
export const SKEW_LOG_SIGMA_STD = 1.2;
export const SKEW_MIN_T = 1e-4;

/** The largest float32 below 1: a uniform draw just under 1 would otherwise round up to 1. */
const BELOW_ONE = 1 - 2 ** -24;

function requireCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`timestep count must be a non-negative integer, got ${n}`);
}

/** n draws of t ~ U[0, 1). */
export function uniformTimesteps(n: number, rng: RandomSource): Float32Array {
  requireCount(n);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) t[i] = Math.min(Math.fround(rng.uniform()), BELOW_ONE);
  return t;
}

/** n draws of t = 1/(1 + σ), ln σ ~ N(−1.2, 1.2²), clipped to [1e-4, 1]. */
export function skewedTimesteps(n: number, rng: RandomSource): Float32Array {
  requireCount(n);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const sigma = Math.exp(rng.normal() * SKEW_LOG_SIGMA_STD + SKEW_LOG_SIGMA_MEAN);
    t[i] = Math.min(Math.max(1 / (1 + sigma), SKEW_MIN_T), 1);
  }
  return t;
}
