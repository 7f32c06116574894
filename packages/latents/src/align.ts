/**
 * Alignment (SPEC §1, `--percentile_to_align p`): scale the whole model by
 *   s = sqrt(chi2.ppf(p, N·d)) / quantile_p(‖(z_1 … z_N)‖)
 * so that the p-quantile of the latent norm matches the unit Gaussian's. MI is unchanged.
 *
 * - `sampled` (the reference): the quantile is estimated from 20 000 draws of the unscaled
 *   model (linear interpolation between order statistics, as torch.quantile).
 * - `exact`: ‖z‖² = Σ_j λ_j·χ²_1 over the eigenvalues of Σ_XX; those are K's eigenvalues,
 *   each repeated d − m times, plus the eigenvalues of the N·m reduced matrix on the span
 *   of the m template vectors — a generalized chi-square whose quantile is exact.
 */
import { chi2Quantile } from './chi2.js';
import { reducedImageCovariance } from './construct.js';
import { generalizedChi2Quantile } from './gchi2.js';
import { symmetricEigen } from './eigen.js';
import { Rng, STREAMS } from './rng.js';
import { createSampler } from './sample.js';
import { withScale, type LatentStructure } from './structure.js';

/** Draws the reference uses for its estimate. */
export const REFERENCE_ALIGNMENT_DRAWS = 20_000;

/** Largest reduced eigenproblem (N·m) the exact method solves; beyond it use `sampled`. */
export const MAX_EXACT_REDUCED = 600;

export interface Alignment {
  scale: number;
  method: 'exact' | 'sampled';
  percentile: number;
  /** p-quantile of the unscaled latent norm. */
  normQuantile: number;
  /** sqrt(chi2.ppf(p, N·d)): the unit Gaussian's p-quantile norm. */
  unitQuantile: number;
}

export function unitGaussianNormQuantile(p: number, dof: number): number {
  return Math.sqrt(chi2Quantile(p, dof));
}

/** The weights and degrees of freedom of ‖z‖² = Σ λ_j χ²_{n_j} for the unscaled model. */
export function normSquaredSpectrum(m: LatentStructure): { weight: number; dof: number }[] {
  const reduced = reducedImageCovariance(withScale(m, 1));
  if (reduced.n > MAX_EXACT_REDUCED) {
    throw new RangeError(
      `exact alignment needs an eigen-decomposition of size N·m = ${reduced.n} (m = ${reduced.spanDim} distinct template directions); use --align_method sampled`,
    );
  }
  const terms: { weight: number; dof: number }[] = [];
  const rest = m.modDim - reduced.spanDim;
  if (rest > 0) {
    const k = symmetricEigen(m.K, m.nMod).values;
    for (const lambda of k) terms.push({ weight: Math.max(lambda, 0), dof: rest });
  }
  for (const lambda of symmetricEigen(reduced.matrix, reduced.n).values) terms.push({ weight: Math.max(lambda, 0), dof: 1 });
  return terms.filter((t) => t.weight > 0);
}

/** Sample p-quantile with linear interpolation (torch.quantile / numpy default). */
export function interpolatedQuantile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

export function alignmentScale(m: LatentStructure, percentile: number, method: 'exact' | 'sampled', seed = 0, draws = REFERENCE_ALIGNMENT_DRAWS): Alignment {
  if (!(percentile > 0 && percentile < 1)) throw new RangeError(`--percentile_to_align ${percentile}: must lie in (0, 1), e.g. 0.95`);
  const unscaled = withScale(m, 1);
  const unitQuantile = unitGaussianNormQuantile(percentile, m.nMod * m.modDim);
  let normQuantile: number;
  if (method === 'exact') {
    normQuantile = Math.sqrt(generalizedChi2Quantile(percentile, normSquaredSpectrum(unscaled)));
  } else {
    const sampler = createSampler(unscaled);
    const rng = new Rng(seed, STREAMS.alignment);
    const norms = new Float64Array(draws);
    const chunk = 256;
    for (let start = 0; start < draws; start += chunk) {
      const count = Math.min(chunk, draws - start);
      const { x } = sampler.sample(count, rng);
      const stride = m.nMod * m.modDim;
      for (let c = 0; c < count; c++) {
        let s = 0;
        for (let t = c * stride, end = t + stride; t < end; t++) s += x[t] * x[t];
        norms[start + c] = Math.sqrt(s);
      }
    }
    normQuantile = interpolatedQuantile(norms, percentile);
  }
  return { scale: unitQuantile / normQuantile, method, percentile, normQuantile, unitQuantile };
}
