/**
 * Independent references for the regression tests: nothing here shares code with
 * src/regress (no Cholesky, no centring tricks, no kernel form) — plain Gaussian elimination on
 * the textbook equations.
 */
import { denseSigma, type LatentBatch, type LatentStructure } from '@mmmi/latents';

/** Solves the dense n×n system a·x = b by Gaussian elimination with partial pivoting (a, b are copied). */
export function gaussSolve(a: ArrayLike<number>, n: number, b: ArrayLike<number>): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
    if (piv !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[piv * n + k]] = [m[piv * n + k], m[c * n + k]];
      [x[c], x[piv]] = [x[piv], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= m[r * n + k] * x[k];
    x[r] = s / m[r * n + r];
  }
  return x;
}

/** Column means and standard deviations (divisor n) of the n×p row-major x. */
export function columnStats(x: ArrayLike<number>, n: number, p: number): { mean: number[]; sd: number[] } {
  const mean = Array.from({ length: p }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * p + j];
    return s / n;
  });
  const sd = mean.map((mu, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (x[i * p + j] - mu) ** 2;
    return Math.sqrt(s / n);
  });
  return { mean, sd };
}

/**
 * Ridge with an unpenalised intercept by the augmented normal equations on the rows `rows`:
 * with A = [1 | Z_rows] (Z standardised by `stats`, features of sd 0 dropped),
 * (AᵀA + diag(0, λ, …, λ)) β = Aᵀ y. Returns the predictor of raw rows.
 */
export function referenceRidge(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  p: number,
  lambda: number,
  rows: number[],
  stats: { mean: number[]; sd: number[] },
): (xs: ArrayLike<number>, m: number) => Float64Array {
  const keep = stats.sd.map((s, j) => (s > 0 ? j : -1)).filter((j) => j >= 0);
  const q = keep.length + 1;
  const row = (src: ArrayLike<number>, i: number) => [1, ...keep.map((j) => (src[i * p + j] - stats.mean[j]) / stats.sd[j])];
  const ata = new Float64Array(q * q);
  const aty = new Float64Array(q);
  for (const i of rows) {
    const a = row(x, i);
    for (let r = 0; r < q; r++) {
      aty[r] += a[r] * y[i];
      for (let c = 0; c < q; c++) ata[r * q + c] += a[r] * a[c];
    }
  }
  for (let r = 1; r < q; r++) ata[r * q + r] += lambda;
  const beta = gaussSolve(ata, q, aty);
  return (xs, m) =>
    Float64Array.from({ length: m }, (_, i) => {
      const a = row(xs, i);
      return a.reduce((s, v, k) => s + v * beta[k], 0);
    });
}

/** The rows of the modalities `mods` of a latent batch, stacked: count × (|mods|·d), as float64. */
export function latentFeatures(batch: LatentBatch, mods: readonly number[]): Float64Array {
  const { count, nMod, modDim: d } = batch;
  const out = new Float64Array(count * mods.length * d);
  for (let i = 0; i < count; i++) mods.forEach((m, k) => out.set(batch.x.subarray((i * nMod + m) * d, (i * nMod + m + 1) * d), (i * mods.length + k) * d));
  return out;
}

/**
 * The Bayes-optimal predictor of θ from X_S straight from the dense covariance (order
 * [X_1 … X_N, θ]): h = Σ_SS⁻¹ Σ_Sθ (E[θ | x] = hᵀx, all means 0) and the conditional
 * variance Var θ − hᵀΣ_Sθ.
 */
export function oraclePredictor(structure: LatentStructure, mods: readonly number[]): { h: Float64Array; conditionalVariance: number } {
  const sigma = denseSigma(structure, 'sampling');
  const d = structure.modDim;
  const dim = structure.nMod * d + 1;
  const idx = mods.flatMap((m) => Array.from({ length: d }, (_, t) => m * d + t));
  const k = idx.length;
  const th = dim - 1;
  const sSS = new Float64Array(k * k);
  idx.forEach((a, r) => idx.forEach((b, c) => (sSS[r * k + c] = sigma[a * dim + b])));
  const sSt = Float64Array.from(idx, (a) => sigma[a * dim + th]);
  const h = gaussSolve(sSS, k, sSt);
  let explained = 0;
  for (let r = 0; r < k; r++) explained += h[r] * sSt[r];
  return { h, conditionalVariance: sigma[th * dim + th] - explained };
}

/** hᵀx for each row of the m×k row-major x. */
export function linearPredictions(h: ArrayLike<number>, x: ArrayLike<number>, m: number): Float64Array {
  const k = h.length;
  return Float64Array.from({ length: m }, (_, i) => {
    let s = 0;
    for (let j = 0; j < k; j++) s += h[j] * x[i * k + j];
    return s;
  });
}

/** SE of a test set's R² (m draws) for Gaussian θ and an error independent of the prediction: 2(1 − R²)√R² / √m. */
export function r2StandardErrorGaussian(r2: number, m: number): number {
  return (2 * (1 - r2) * Math.sqrt(r2)) / Math.sqrt(m);
}
