/**
 * Principal components as features for the Gaussian and KSG estimators: fit on a training
 * split, project the rest.
 *
 * `fitPca` finds the k leading eigenpairs of the sample covariance C = Xcᵀ Xc / (n − 1) (Xc:
 * the centred n×d data) without forming C or the Gram matrix G = Xc Xcᵀ / (n − 1): a block
 * Krylov solver (`topEigen` in linear-algebra.ts) only applies them, each application costing
 * 2·n·d multiply-adds per vector. It works in the smaller of the two spaces: R^d through C
 * when d ≤ n, R^n through G when n < d (the "Gram route": the eigenvectors u of G give C's as
 * Xcᵀ u / ‖Xcᵀ u‖, with the same eigenvalues). Why not a dense eigen-decomposition: measured
 * here (Node 20, one core of a shared 2-core machine), tred2/tql2 on a d×d matrix takes 2.2 s at
 * d = 800 and 7.7 s at 1200, growing as d³: about 35 s at 2000 and 2 minutes at 3072, on top of
 * forming the matrix (n·d²/2 multiply-adds: 4.7·10¹⁰ at n = 10 000, d = 3072). The Krylov route,
 * on 3072-dimensional image-like data (1/f spectrum, bench/classical.bench.ts), needs a basis of
 * 156 vectors for k = 50: 2.5–4 s at n = 2000 (Gram route), 11 s at n = 10 000 (covariance
 * route); k = 10: 60 vectors, 0.8–1.3 s and 4 s. White noise, whose flat spectrum is the
 * hardest case, takes 11 s at n = 2000, k = 50 (basis 520). When its basis fills the space
 * (small problems) the result is the exact decomposition.
 *
 * Convergence: every kept pair has ‖C v − λ v‖ ≤ tolerance · λ₁ (default 1e-9), so each
 * explained variance is within that of a true eigenvalue, and (by interlacing) never above the
 * true one of its rank. An unconverged fit (a spectrum too flat for the basis cap, `maxBasis`)
 * is still a valid orthonormal projection; `converged` and `maxResidual` say so.
 *
 * Memory: a centred float64 copy of the data (n·d doubles: 246 MB at n = 10 000, d = 3072) and
 * the Krylov basis with its products (2 · basis · min(n, d) doubles).
 *
 * Sign convention: each component's entry of largest magnitude is positive (the first such
 * entry on an exact tie), so the result is deterministic and does not depend on the solver's
 * start or on flipping the data's sign.
 */
import { InputError } from '@mmmi/cli-kit';
import { checkPairedSamples, type PairedSamples } from './estimator.js';
import { centred, columnMeans, topEigen } from './linear-algebra.js';
import { mulberry32 } from './random.js';

export interface Pca {
  /** Input dimension. */
  d: number;
  /** Components kept. */
  k: number;
  /** Training mean, length d. */
  mean: Float64Array;
  /** k×d row-major, orthonormal rows, by decreasing explained variance. */
  components: Float64Array;
  /** Variance (divisor n − 1) of the training data along each component: the covariance's top-k eigenvalues. */
  explainedVariance: Float64Array;
  /** Total variance of the training data (the covariance's trace), for explained-variance ratios. */
  totalVariance: number;
  /** Training samples. */
  samples: number;
  /** The space the solver worked in: 'covariance' (R^d, d ≤ n) or 'gram' (R^n, n < d). */
  route: 'covariance' | 'gram';
  /** Whether every component met the residual tolerance. */
  converged: boolean;
  /** The largest ‖C v − λ v‖ / λ₁ over the kept components. */
  maxResidual: number;
  /** Krylov basis size (Rayleigh–Ritz dimension). */
  basisSize: number;
}

export interface PcaOptions {
  /** Relative residual tolerance of the eigen-solver (default 1e-9). */
  tolerance?: number;
  /** Vectors per Krylov block (default min(k, 4)). */
  blockSize?: number;
  /** Cap on the Krylov basis (default min(space dimension, max(1500, 4k))). */
  maxBasis?: number;
}

/**
 * Fits k principal components to n samples of dimension d (row-major `samples`, n×d). k must be
 * at most min(d, n − 1): the centred data have rank ≤ n − 1. Refuses bad shapes and values with
 * an InputError.
 */
export function fitPca(samples: Float64Array, n: number, d: number, k: number, options: PcaOptions = {}): Pca {
  if (!Number.isInteger(n) || n < 2) throw new InputError(`PCA on ${n} samples: at least 2 are needed`);
  if (!Number.isInteger(d) || d < 1) throw new InputError(`PCA of dimension ${d}: must be a positive integer`);
  if (samples.length !== n * d) throw new InputError(`PCA: ${samples.length} values given, ${n} samples × ${d} need ${n * d}`);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(d, n - 1)) {
    throw new InputError(`PCA with k = ${k} components of ${n} samples in ${d} dimensions: k must be an integer in 1 … min(d, n − 1) = ${Math.min(d, n - 1)}`);
  }
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) throw new InputError(`PCA: sample ${Math.floor(i / d)}, feature ${i % d} is ${samples[i]}: samples must be finite`);
  }
  const mean = columnMeans(samples, n, d);
  const xc = centred(samples, n, d, mean);
  let totalVariance = 0;
  for (let i = 0; i < xc.length; i++) totalVariance += xc[i] * xc[i];
  totalVariance /= n - 1;
  const route = d <= n ? 'covariance' : 'gram';
  const dim = route === 'covariance' ? d : n;
  const scale = 1 / (n - 1);
  const apply =
    route === 'covariance'
      ? (q: Float64Array, b: number) => scaled(transposeTimes(xc, n, d, times(xc, n, d, q, b), b), scale)
      : (q: Float64Array, b: number) => scaled(times(xc, n, d, transposeTimes(xc, n, d, q, b), b), scale);
  const eig = topEigen(apply, dim, k, { tolerance: options.tolerance, blockSize: options.blockSize, maxBasis: options.maxBasis, productCost: 2 * n * d });
  let components = eig.vectors;
  if (route === 'gram') components = gramToComponents(xc, n, d, k, eig.vectors);
  for (let c = 0; c < k; c++) fixSign(components.subarray(c * d, (c + 1) * d));
  const top = Math.max(eig.values[0], Number.MIN_VALUE);
  let maxResidual = 0;
  for (let c = 0; c < k; c++) maxResidual = Math.max(maxResidual, eig.residuals[c] / top);
  const explainedVariance = Float64Array.from(eig.values, (v) => Math.max(v, 0));
  return { d, k, mean, components, explainedVariance, totalVariance, samples: n, route, converged: eig.converged, maxResidual, basisSize: eig.basisSize };
}

/** Projects n samples (row-major n×d) onto the components: (x − mean)·Vᵀ, n×k row-major. */
export function project(pca: Pca, samples: Float64Array, n: number): Float64Array {
  const { d, k, mean, components } = pca;
  if (samples.length !== n * d) throw new InputError(`PCA projection: ${samples.length} values given, ${n} samples × ${d} need ${n * d}`);
  const out = new Float64Array(n * k);
  const r = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) r[j] = samples[i * d + j] - mean[j];
    for (let c = 0; c < k; c++) {
      const o = c * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += r[j] * components[o + j];
      out[i * k + c] = s;
    }
  }
  return out;
}

/** Maps projections back to the input space: mean + z·V, n×d row-major (exact for data of rank ≤ k). */
export function reconstruct(pca: Pca, projected: Float64Array, n: number): Float64Array {
  const { d, k, mean, components } = pca;
  if (projected.length !== n * k) throw new InputError(`PCA reconstruction: ${projected.length} values given, ${n} samples × ${k} need ${n * k}`);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    out.set(mean, o);
    for (let c = 0; c < k; c++) {
      const z = projected[i * k + c];
      const v = c * d;
      for (let j = 0; j < d; j++) out[o + j] += z * components[v + j];
    }
  }
  return out;
}

export interface PcaFeaturesOptions extends PcaOptions {
  /** Components kept for x; absent: x is passed through unchanged. */
  kx?: number;
  /** Components kept for y; absent: y is passed through unchanged. */
  ky?: number;
  /** Fraction of the samples (the first ⌊fraction·n⌋ rows) the PCA is fitted on, in (0, 1); default 0.5. */
  trainFraction?: number;
}

export interface PcaFeatures {
  /** The held-out rows, each side projected on its training components: the estimators' input. */
  samples: PairedSamples;
  /** The x side's fit (absent where x passed through). */
  x?: Pca;
  /** The y side's fit (absent where y passed through). */
  y?: Pca;
  /** Rows fitted on (the first ones), and rows projected (the rest). */
  trainSamples: number;
  testSamples: number;
}

/**
 * PCA features for an MI estimator: each side's components are fitted on the first
 * ⌊trainFraction · n⌋ rows, and the remaining rows, projected, are returned as new paired
 * samples (kx and ky dimensions). Fitting on rows the estimator does not see keeps the
 * estimator's samples independent and identically distributed (a projection fitted on them
 * would depend on all of them); the split is by position, so shuffle first if the rows are
 * ordered. By the data-processing inequality I(Vx X; Vy Y) ≤ I(X; Y): the features can only lose
 * information, and the projection is a deterministic function of held-out rows.
 */
export function pcaFeatures(data: PairedSamples, options: PcaFeaturesOptions = {}): PcaFeatures {
  checkPairedSamples(data, 2);
  const fraction = options.trainFraction ?? 0.5;
  if (!(fraction > 0 && fraction < 1)) throw new InputError(`trainFraction = ${fraction}: must lie strictly between 0 and 1`);
  const { n, dx, dy } = data;
  const train = Math.floor(fraction * n);
  const test = n - train;
  if (train < 2 || test < 1) throw new InputError(`${n} samples split ${train} to fit and ${test} to project: need at least 2 to fit and 1 to project`);
  const side = (name: 'x' | 'y', values: Float64Array, d: number, k: number | undefined): { pca?: Pca; features: Float64Array; dim: number } => {
    const held = values.slice(train * d);
    if (k === undefined) return { features: held, dim: d };
    let pca: Pca;
    try {
      pca = fitPca(values.subarray(0, train * d), train, d, k, options);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${name} side: ${e.message}`);
      throw e;
    }
    return { pca, features: project(pca, held, test), dim: k };
  };
  const sx = side('x', data.x, dx, options.kx);
  const sy = side('y', data.y, dy, options.ky);
  return {
    samples: { n: test, x: sx.features, dx: sx.dim, y: sy.features, dy: sy.dim },
    x: sx.pca,
    y: sy.pca,
    trainSamples: train,
    testSamples: test,
  };
}

/**
 * xc (n×d) times b vectors of length d (q: b×d, one vector per row): the b products of length n,
 * b×n. Dot products along the rows of xc, two vectors at a time (each xc value loaded once per
 * pair); about 1.2·10⁹ multiply-adds a second on one core.
 */
function times(xc: Float64Array, n: number, d: number, q: Float64Array, b: number): Float64Array {
  const out = new Float64Array(b * n);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    let c = 0;
    for (; c + 1 < b; c += 2) {
      const q0 = c * d;
      const q1 = q0 + d;
      let s0 = 0;
      let s1 = 0;
      let t0 = 0;
      let t1 = 0;
      let j = 0;
      for (; j + 1 < d; j += 2) {
        const a0 = xc[xo + j];
        const a1 = xc[xo + j + 1];
        s0 += a0 * q[q0 + j];
        s1 += a1 * q[q0 + j + 1];
        t0 += a0 * q[q1 + j];
        t1 += a1 * q[q1 + j + 1];
      }
      if (j < d) {
        s0 += xc[xo + j] * q[q0 + j];
        t0 += xc[xo + j] * q[q1 + j];
      }
      out[c * n + i] = s0 + s1;
      out[(c + 1) * n + i] = t0 + t1;
    }
    if (c < b) {
      const q0 = c * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += xc[xo + j] * q[q0 + j];
      out[c * n + i] = s;
    }
  }
  return out;
}

/**
 * xcᵀ (d×n) times b vectors of length n (y: b×n, one vector per row): b×d. Each output vector
 * accumulates four rows of xc per sweep (a quarter of the stores of a plain axpy).
 */
function transposeTimes(xc: Float64Array, n: number, d: number, y: Float64Array, b: number): Float64Array {
  const out = new Float64Array(b * d);
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = i * d;
    const x1 = x0 + d;
    const x2 = x1 + d;
    const x3 = x2 + d;
    for (let c = 0; c < b; c++) {
      const yo = c * n + i;
      const a0 = y[yo];
      const a1 = y[yo + 1];
      const a2 = y[yo + 2];
      const a3 = y[yo + 3];
      const oo = c * d;
      for (let j = 0; j < d; j++) out[oo + j] += a0 * xc[x0 + j] + a1 * xc[x1 + j] + a2 * xc[x2 + j] + a3 * xc[x3 + j];
    }
  }
  for (; i < n; i++) {
    const xo = i * d;
    for (let c = 0; c < b; c++) {
      const a = y[c * n + i];
      const oo = c * d;
      for (let j = 0; j < d; j++) out[oo + j] += a * xc[xo + j];
    }
  }
  return out;
}

function scaled(a: Float64Array, s: number): Float64Array {
  for (let i = 0; i < a.length; i++) a[i] *= s;
  return a;
}

/**
 * Components from the Gram route: v = Xcᵀ u / ‖Xcᵀ u‖ for each unit eigenvector u of G. Where
 * the eigenvalue is (numerically) zero, Xcᵀ u carries no direction: such components are filled
 * with unit vectors orthogonal to the others (deterministic), explaining zero variance.
 */
function gramToComponents(xc: Float64Array, n: number, d: number, k: number, u: Float64Array): Float64Array {
  const out = transposeTimes(xc, n, d, u, k); // k×d: row c is Xcᵀ u_c
  const norms = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += out[c * d + j] ** 2;
    norms[c] = Math.sqrt(s);
  }
  const top = Math.max(...norms);
  const random = mulberry32(2);
  for (let c = 0; c < k; c++) {
    const row = out.subarray(c * d, (c + 1) * d);
    if (norms[c] > 1e-7 * top) for (let j = 0; j < d; j++) row[j] /= norms[c];
    // Gram–Schmidt against the rows before (twice): exact-arithmetic no-op for true components,
    // and the whole job for a filler; a filler that lands in their span is drawn again
    for (let attempt = 0; ; attempt++) {
      if (!(norms[c] > 1e-7 * top) || attempt > 0) for (let j = 0; j < d; j++) row[j] = 2 * random() - 1;
      for (let pass = 0; pass < 2; pass++)
        for (let p = 0; p < c; p++) {
          const prev = out.subarray(p * d, (p + 1) * d);
          let s = 0;
          for (let j = 0; j < d; j++) s += prev[j] * row[j];
          for (let j = 0; j < d; j++) row[j] -= s * prev[j];
        }
      let s = 0;
      for (let j = 0; j < d; j++) s += row[j] * row[j];
      const norm = Math.sqrt(s);
      if (norm > 1e-6) {
        for (let j = 0; j < d; j++) row[j] /= norm;
        break;
      }
      if (attempt > 8) throw new Error('PCA: could not complete an orthonormal set of components');
    }
  }
  return out;
}

/** Flips `v` so that its entry of largest magnitude (the first, on a tie) is positive. */
function fixSign(v: Float64Array): void {
  let best = 0;
  for (let j = 1; j < v.length; j++) if (Math.abs(v[j]) > Math.abs(v[best])) best = j;
  if (v[best] < 0) for (let j = 0; j < v.length; j++) v[j] = -v[j];
}
