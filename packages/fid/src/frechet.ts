/**
 * Fréchet distance between two Gaussians N(μ₁, Σ₁), N(μ₂, Σ₂) — the FID of two feature
 * statistics:
 *
 *   d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2·tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}
 *
 * The last trace equals tr √(Σ₁Σ₂) (scipy.linalg.sqrtm in pytorch-fid), but it is formed
 * here from symmetric eigen-decompositions: Σ₁^{1/2} = V·diag(√max(λ, 0))·Vᵀ, then the
 * eigenvalues of the symmetric PSD matrix Σ₁^{1/2}Σ₂Σ₁^{1/2}, each clamped at 0 before its
 * square root. That stays real and stable when the covariances are singular (fewer
 * samples than dimensions), where sqrtm of the non-symmetric product returns complex
 * noise. All arithmetic is float64.
 */
import { InputError } from '@mmmi/cli-kit';
import { symmetricEigen } from '@mmmi/latents';
import { matMul, symmetrize, trace } from './matrix.js';
import type { GaussianStats } from './stats.js';

/** Eigenvalues below −PSD_TOLERANCE·(largest |λ|) are no rounding: the matrix is no covariance. */
const PSD_TOLERANCE = 1e-6;

function checkPsd(values: ArrayLike<number>, what: string): void {
  let min = Infinity;
  let scale = 0;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]);
    scale = Math.max(scale, Math.abs(values[i]));
  }
  if (min < -PSD_TOLERANCE * scale)
    throw new InputError(
      `${what} is not positive semi-definite (eigenvalue ${min.toExponential(3)}, largest magnitude ${scale.toExponential(3)}): not a covariance`,
    );
}

/**
 * The PSD square root of a symmetric matrix (negative eigenvalues from rounding clamp to 0).
 * `name`: check that the matrix is PSD, naming it in the error.
 */
export function psdSqrt(sigma: Float64Array, n: number, name?: string): Float64Array {
  const { values, vectors } = symmetricEigen(sigma, n);
  if (name) checkPsd(values, name);
  const v = vectors!;
  // Σ^{1/2} = Σ_k √λ_k·v_k·v_kᵀ
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const sk = Math.sqrt(Math.max(values[k], 0));
    if (sk === 0) continue;
    for (let i = 0; i < n; i++) {
      const w = v[k * n + i] * sk;
      if (w === 0) continue;
      const row = i * n;
      const src = k * n;
      for (let j = 0; j < n; j++) out[row + j] += w * v[src + j];
    }
  }
  return symmetrize(out, n);
}

/**
 * tr (A·B·A)^{1/2} for symmetric PSD A (already a square root) and B. `name`: check that
 * A·B·A is PSD (it is when B is), naming B in the error.
 */
export function traceSqrtProduct(sqrtA: Float64Array, b: Float64Array, n: number, name?: string): number {
  const m = symmetrize(matMul(matMul(sqrtA, b, n, n, n), sqrtA, n, n, n), n);
  const { values } = symmetricEigen(m, n, true);
  if (name) checkPsd(values, name);
  let t = 0;
  for (const v of values) t += Math.sqrt(Math.max(v, 0));
  return t;
}

function checkStats(s: GaussianStats, name: string): void {
  const n = s.mu.length;
  if (s.sigma.length !== n * n) throw new InputError(`${name}: sigma has ${s.sigma.length} values, expected ${n}×${n} for mu of length ${n}`);
  for (const v of s.mu) if (!Number.isFinite(v)) throw new InputError(`${name}: mu has non-finite values`);
  for (const v of s.sigma) if (!Number.isFinite(v)) throw new InputError(`${name}: sigma has non-finite values`);
  // a covariance is symmetric with a non-negative diagonal (PSD is checked with the eigenvalues the distance needs anyway)
  let scale = 0;
  for (const v of s.sigma) scale = Math.max(scale, Math.abs(v));
  let asym = 0;
  for (let i = 0; i < n; i++) {
    if (s.sigma[i * n + i] < -PSD_TOLERANCE * scale)
      throw new InputError(`${name}: sigma has a negative variance (${s.sigma[i * n + i]} at ${i}): not a covariance`);
    for (let j = i + 1; j < n; j++) asym = Math.max(asym, Math.abs(s.sigma[i * n + j] - s.sigma[j * n + i]));
  }
  if (asym > PSD_TOLERANCE * scale)
    throw new InputError(`${name}: sigma is not symmetric (largest |σᵢⱼ − σⱼᵢ| ${asym.toExponential(3)} of ${scale.toExponential(3)}): not a covariance`);
}

export interface FrechetOptions {
  /** Σ₁^{1/2}, when cached (e.g. for fixed reference statistics). */
  sqrtSigma1?: Float64Array;
}

export function frechetDistance(s1: GaussianStats, s2: GaussianStats, options: FrechetOptions = {}): number {
  checkStats(s1, 'first statistics');
  checkStats(s2, 'second statistics');
  const n = s1.mu.length;
  if (s2.mu.length !== n) throw new InputError(`statistics of different dimension: ${n} and ${s2.mu.length}`);
  let diff = 0;
  for (let i = 0; i < n; i++) diff += (s1.mu[i] - s2.mu[i]) ** 2;
  const root = options.sqrtSigma1 ?? psdSqrt(s1.sigma, n, 'first statistics: sigma');
  return diff + trace(s1.sigma, n) + trace(s2.sigma, n) - 2 * traceSqrtProduct(root, s2.sigma, n, 'second statistics: sigma');
}
