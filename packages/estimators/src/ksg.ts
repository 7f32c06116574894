/**
 * The Kraskov–Stögbauer–Grassberger k-nearest-neighbour estimators of I(X; Y) (Phys. Rev. E
 * 69, 066138, 2004), both of the paper's variants, with exact max-norm neighbours.
 *
 * For each sample z_i = (x_i, y_i) let ε(i) be the max-norm distance to its k-th nearest
 * neighbour in the joint space, with ‖z − z'‖ = max(‖x − x'‖∞, ‖y − y'‖∞).
 *
 * Variant 1 (the paper's eq. 8) counts the marginal neighbours strictly inside that radius,
 * n_x(i) = #{j ≠ i : ‖x_j − x_i‖∞ < ε(i)} and n_y(i) likewise:
 *
 *   Î₁ = ψ(k) + ψ(N) − ⟨ψ(n_x + 1) + ψ(n_y + 1)⟩.
 *
 * Variant 2 (eq. 9) uses per-side radii, ε_x(i) and ε_y(i), the largest x- and y-distances
 * among the k nearest joint neighbours, and counts n_x(i) = #{j ≠ i : ‖x_j − x_i‖∞ ≤ ε_x(i)}
 * (≥ k) and n_y(i) likewise:
 *
 *   Î₂ = ψ(k) − 1/k + ψ(N) − ⟨ψ(n_x) + ψ(n_y)⟩.
 *
 * ψ is the digamma function and ⟨·⟩ the mean over the N samples. Both are consistent; for
 * independent X and Y they are nearly unbiased; with strong dependence or many dimensions they
 * underestimate (the paper's figs. 4–9). The max norm mixes coordinates, so the coordinates'
 * scales change the estimate at finite N (not its limit): features on very different scales are
 * better standardized first. The estimate in nats can be slightly negative.
 *
 * Standard error: the standard deviation of the per-point terms t_i (Î = ⟨t⟩) over √N. The
 * t_i share neighbours and are not independent, and this ignores that, so it is to be read as a
 * lower bound on the estimate's real sampling error, a scale for it, not a confidence interval
 * (on Gaussians at n = 5000 it was about the real spread over seeds with 1 + 1 dimensions,
 * ~70% of it with 5 + 5). It says nothing of the bias.
 *
 * Ties and duplicates: KSG assumes continuous data. Where a sample has k or more exact
 * duplicates in (x, y), ε(i) = 0 and the estimator refuses with an InputError naming the sample;
 * fewer duplicates are accepted as they are (ties among distances are broken by sample index,
 * see `neighbours.ts`). The `jitter` option (off by default) adds deterministic noise of
 * `jitter` × the column's standard deviation (1 for a constant column), uniform on (−1, 1) × that,
 * from a fixed-seed generator, before the neighbour search, for data known to be rounded or
 * discretized; 1e-10 breaks exact ties while moving every distance by ~10⁻¹⁰ standard
 * deviations only. (It cannot break ties between values so large that the noise is lost in
 * rounding; those are still refused.)
 */
import { InputError } from '@mmmi/cli-kit';
import { checkPairedSamples, timed, type MiEstimate, type MiEstimator, type PairedSamples } from './estimator.js';
import { ksgNeighbours, type KsgNeighbours, type KsgVariant } from './neighbours.js';
import { digamma } from './special.js';
import { mulberry32 } from './random.js';

export interface KsgOptions {
  /** Neighbours per point, k ≥ 1 (default 3, the paper's usual choice; larger k: lower variance, more bias). */
  k?: number;
  /** Relative amplitude of the deterministic tie-breaking noise; 0 (the default) leaves the data alone. */
  jitter?: number;
  /**
   * Scale each column to unit variance first (default true, as Kraskov et al. advise). The max
   * norm compares coordinates across columns: without it, a side with a large scale (PCA
   * features of images beside θ) sets every ε and the other side's counts carry nothing.
   * MI is invariant to the scaling; the estimate is not.
   */
  standardize?: boolean;
}

/** Mean and standard deviation (divisor n) of column c of n rows × d columns. */
function columnMoments(v: Float64Array, n: number, d: number, c: number): { mean: number; sd: number } {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i * d + c];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i * d + c] - mean) ** 2;
  return { mean, sd: Math.sqrt(ss / n) };
}

/** A copy of n rows × d columns with each column scaled to unit variance (divisor n); constant columns are left alone. */
function standardized(v: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let c = 0; c < d; c++) {
    const { mean, sd } = columnMoments(v, n, d, c);
    const inv = sd > 0 ? 1 / sd : 1;
    for (let i = 0; i < n; i++) out[i * d + c] = (v[i * d + c] - mean) * inv;
  }
  return out;
}

const JITTER_SEED = 0x6b5367;

/** A jittered copy of n rows × d columns: each value + jitter · s_c · u, u uniform on (−1, 1). */
function jittered(v: Float64Array, n: number, d: number, jitter: number, next: () => number): Float64Array {
  const out = new Float64Array(v.length);
  for (let c = 0; c < d; c++) {
    const { sd } = columnMoments(v, n, d, c);
    const scale = jitter * (sd > 0 ? sd : 1);
    for (let i = 0; i < n; i++) out[i * d + c] = v[i * d + c] + scale * (2 * next() - 1);
  }
  return out;
}

/**
 * The KSG estimate and its standard error from the neighbour facts (either search's): the mean
 * of the per-point terms t_i (ψ(k) + ψ(N) − ψ(n_x(i) + 1) − ψ(n_y(i) + 1) for variant 1,
 * ψ(k) − 1/k + ψ(N) − ψ(n_x(i)) − ψ(n_y(i)) for variant 2) and their sample standard deviation
 * over √N. No checks: variant 1 needs ε(i) > 0 for its counts to mean anything.
 */
export function ksgFromNeighbours(nb: KsgNeighbours): { estimate: number; standardError: number } {
  const { k, variant, nx, ny } = nb;
  const n = nx.length;
  // ψ of the integers 1 … n, computed once
  const psi = new Float64Array(n + 1);
  for (let m = 1; m <= n; m++) psi[m] = digamma(m);
  const constant = variant === 1 ? psi[k] + psi[n] : psi[k] - 1 / k + psi[n];
  const shift = variant === 1 ? 1 : 0;
  const terms = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    terms[i] = constant - psi[nx[i] + shift] - psi[ny[i] + shift];
    sum += terms[i];
  }
  const estimate = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (terms[i] - estimate) ** 2;
  return { estimate, standardError: Math.sqrt(ss / (n - 1) / n) };
}

/**
 * KSG estimate of I(X; Y) in nats, variant 1 or 2 (see the module's notes for the formulas).
 * Refuses, as InputError: k not a positive integer, n ≤ k, malformed or non-finite samples, a
 * negative or non-finite jitter, and samples with ≥ k exact duplicates (ε = 0).
 */
export function ksg(data: PairedSamples, variant: KsgVariant, options: KsgOptions = {}): MiEstimate {
  const k = options.k ?? 3;
  const jitter = options.jitter ?? 0;
  if (!Number.isInteger(k) || k < 1) throw new InputError(`k = ${k}: the neighbour count must be a positive integer`);
  if (!Number.isFinite(jitter) || jitter < 0) throw new InputError(`jitter = ${jitter}: must be a finite number ≥ 0`);
  if (Number.isInteger(data.n) && data.n >= 1 && data.n <= k) {
    throw new InputError(`${data.n} paired samples with k = ${k}: KSG needs more samples than neighbours (n > k)`);
  }
  checkPairedSamples(data, k + 1);
  const { value, seconds } = timed(() => {
    const { n, dx, dy } = data;
    let samples = data;
    if (options.standardize ?? true) samples = { n, dx, dy, x: standardized(data.x, n, dx), y: standardized(data.y, n, dy) };
    if (jitter > 0) {
      const next = mulberry32(JITTER_SEED);
      samples = { n, dx, dy, x: jittered(samples.x, n, dx, jitter, next), y: jittered(samples.y, n, dy, jitter, next) };
    }
    const nb = ksgNeighbours(samples, k, variant);
    for (let i = 0; i < n; i++) {
      if (nb.epsilon[i] === 0) {
        throw new InputError(
          `sample ${i} has ${k} or more exact duplicates among the (x, y) pairs, so its distance to the k-th neighbour (k = ${k}) is 0: ` +
            'KSG assumes continuous data; remove the duplicates, or break the ties with the jitter option (e.g. { jitter: 1e-10 })',
        );
      }
    }
    return ksgFromNeighbours(nb);
  });
  const details: Record<string, unknown> = { k, variant, standardized: options.standardize ?? true };
  if (jitter > 0) details.jitter = jitter;
  return { estimator: `ksg${variant}`, estimate: value.estimate, standardError: value.standardError, samples: data.n, seconds, details };
}

/** KSG variant 1: Î = ψ(k) + ψ(N) − ⟨ψ(n_x + 1) + ψ(n_y + 1)⟩, marginal counts strictly within ε(i). */
export const ksg1 = {
  name: 'ksg1',
  estimate: (data: PairedSamples, options?: KsgOptions): MiEstimate => ksg(data, 1, options),
} satisfies MiEstimator<KsgOptions>;

/** KSG variant 2: Î = ψ(k) − 1/k + ψ(N) − ⟨ψ(n_x) + ψ(n_y)⟩, marginal counts within ε_x(i), ε_y(i). */
export const ksg2 = {
  name: 'ksg2',
  estimate: (data: PairedSamples, options?: KsgOptions): MiEstimate => ksg(data, 2, options),
} satisfies MiEstimator<KsgOptions>;
