/**
 * The two ways of solving one ridge problem on standardised features Z (n×p) and centred
 * targets y, minimise ‖y − b − Z w‖² + λ‖w‖² over the intercept b and the weights w:
 *
 *   primal  w = (Z_cᵀ Z_c + λ I_p)⁻¹ Z_cᵀ y      (p×p normal equations; for p ≤ n)
 *   dual    w = Z_cᵀ (Z_c Z_cᵀ + λ I_n)⁻¹ y      (n×n kernel system; for p > n)
 *
 * with Z_c the rows centred on their own mean and b = ȳ − z̄ᵀw. The two are the same
 * matrix identity, (ZᵀZ + λI)⁻¹Zᵀ = Zᵀ(ZZᵀ + λI)⁻¹, so they give the same w for the same λ;
 * each costs the cube of its own system's size, hence the choice by shape.
 *
 * Each form also scores λ by K-fold validation on the same rows. Row i belongs to fold i mod K
 * (the draws are exchangeable; interleaving keeps any drift in the order they were made out of
 * the folds). For a validation fold V with fit rows T, the fit uses T's own centring, read off
 * the one product matrix of all rows — ZᵀZ minus V's part in the primal, the T×T block of ZZᵀ
 * in the dual — so a fold costs one more solve per λ, not another product.
 */
import { rowGram } from './gram.js';
import { solveShifted } from './spd-solve.js';

/** A fitted ridge solution in the standardised space: ŷ = ȳ + offset + z·weights. */
export interface RidgeSolution {
  weights: Float64Array;
  /** −z̄ᵀw for the training rows' mean z̄ (zero up to rounding: Z is centred on them). */
  offset: number;
}

export interface RidgeProblem {
  form: 'primal' | 'dual';
  /** Size of the system solved per λ by the fit on all rows (p or n). */
  size: number;
  /** Summed squared error and count of the rows of the validation folds, for this λ; sse = ∞ when a solve failed. */
  validation(lambda: number): { sse: number; rows: number };
  /** The fit on all rows, or null when the Cholesky factorisation failed (λ far too small). */
  fit(lambda: number): RidgeSolution | null;
}

/** Rows of fold f of K among n: f, f + K, f + 2K, … */
export function foldRows(n: number, folds: number, f: number): number[] {
  const rows: number[] = [];
  for (let i = f; i < n; i += folds) rows.push(i);
  return rows;
}

/**
 * The sample order that makes folds contiguous: fold 0's rows, then fold 1's, …; returns the
 * order and each fold's start (starts[K] = n).
 */
export function foldOrder(n: number, folds: number): { order: Int32Array; starts: number[] } {
  const order = new Int32Array(n);
  const starts: number[] = [];
  let c = 0;
  for (let f = 0; f < folds; f++) {
    starts.push(c);
    for (let i = f; i < n; i += folds) order[c++] = i;
  }
  starts.push(n);
  return { order, starts };
}

interface PrimalFold {
  from: number;
  to: number;
  /** Fit rows' centred normal matrix Σ_T (z − z̄_T)(z − z̄_T)ᵀ, p×p. */
  c: Float64Array;
  /** Σ_T (z − z̄_T)(y − ȳ_T). */
  rhs: Float64Array;
  zbar: Float64Array;
  ybar: number;
}

/**
 * Primal form on zt = Zᵀ (p×n, samples in fold order: fold f is columns [starts[f],
 * starts[f + 1])) and y in the same order, centred. `usedFolds` of the K folds are scored.
 */
export function primalProblem(zt: Float64Array, y: Float64Array, p: number, n: number, starts: number[], usedFolds: number): RidgeProblem {
  const g = rowGram(zt, p, n);
  const sums = blockSums(zt, y, p, n, 0, n);
  const folds: PrimalFold[] = [];
  for (let f = 0; f < usedFolds; f++) {
    const from = starts[f];
    const to = starts[f + 1];
    const m = n - (to - from);
    // Σ_T zzᵀ = Σ_all − Σ_V, then centre on T's own mean
    const c = rowGram(zt, p, n, from, to - from);
    const v = blockSums(zt, y, p, n, from, to);
    const zbar = new Float64Array(p);
    for (let j = 0; j < p; j++) zbar[j] = (sums.z[j] - v.z[j]) / m;
    const ybar = (sums.y - v.y) / m;
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) c[a * p + b] = g[a * p + b] - c[a * p + b] - m * zbar[a] * zbar[b];
    const rhs = new Float64Array(p);
    for (let j = 0; j < p; j++) rhs[j] = sums.zy[j] - v.zy[j] - m * zbar[j] * ybar;
    folds.push({ from, to, c, rhs, zbar, ybar });
  }
  return {
    form: 'primal',
    size: p,
    validation(lambda) {
      let sse = 0;
      let rows = 0;
      for (const fold of folds) {
        rows += fold.to - fold.from;
        const w = solveShifted(fold.c, p, lambda, fold.rhs);
        if (!w) return { sse: Infinity, rows };
        let b = fold.ybar;
        for (let j = 0; j < p; j++) b -= fold.zbar[j] * w[j];
        const pred = new Float64Array(fold.to - fold.from).fill(b);
        for (let j = 0; j < p; j++) {
          const wj = w[j];
          const row = j * n;
          for (let col = fold.from; col < fold.to; col++) pred[col - fold.from] += zt[row + col] * wj;
        }
        for (let col = fold.from; col < fold.to; col++) sse += (y[col] - pred[col - fold.from]) ** 2;
      }
      return { sse, rows };
    },
    fit(lambda) {
      const zbar = sums.z.map((s) => s / n);
      const ybar = sums.y / n;
      const c = new Float64Array(p * p);
      for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) c[a * p + b] = g[a * p + b] - n * zbar[a] * zbar[b];
      const rhs = sums.zy.map((s, j) => s - n * zbar[j] * ybar);
      const w = solveShifted(c, p, lambda, rhs);
      if (!w) return null;
      let offset = ybar;
      for (let j = 0; j < p; j++) offset -= zbar[j] * w[j];
      return { weights: w, offset };
    },
  };
}

/** Σ z, Σ z·y and Σ y over the columns [from, to) of zt (p×n). */
function blockSums(zt: Float64Array, y: Float64Array, p: number, n: number, from: number, to: number): { z: Float64Array; zy: Float64Array; y: number } {
  const z = new Float64Array(p);
  const zy = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const row = j * n;
    let s = 0;
    let sy = 0;
    for (let c = from; c < to; c++) {
      s += zt[row + c];
      sy += zt[row + c] * y[c];
    }
    z[j] = s;
    zy[j] = sy;
  }
  let ys = 0;
  for (let c = from; c < to; c++) ys += y[c];
  return { z, zy, y: ys };
}

interface DualFold {
  fit: number[];
  held: number[];
  /** Centred kernel of the fit rows, m×m. */
  kc: Float64Array;
  /** Centred kernel between held-out and fit rows, |held|×m. */
  kv: Float64Array;
  /** Fit rows' targets, centred on their mean. */
  yc: Float64Array;
  ybar: number;
}

/**
 * Dual form on z (n×p standardised rows) and centred y. With the kernel K = ZZᵀ and T's
 * centring, Kc(i, j) = K(i, j) − k̄_i − k̄_j + k̄ (k̄_i the mean of K(i, ·) over T, k̄ the mean
 * over T×T), α = (Kc + λI)⁻¹(y_T − ȳ_T), and a held-out row v is predicted as
 * ȳ_T + Σ_i α_i (K(v, i) − k̄_v − k̄_i + k̄). The fit on all rows gives w = Z_cᵀ α.
 */
export function dualProblem(z: Float64Array, y: Float64Array, p: number, n: number, folds: number, usedFolds: number): RidgeProblem {
  const k = rowGram(z, n, p);
  const all = Array.from({ length: n }, (_, i) => i);
  const prepared: DualFold[] = [];
  for (let f = 0; f < usedFolds; f++) {
    const held = foldRows(n, folds, f);
    const fit = all.filter((i) => i % folds !== f);
    prepared.push(centredKernel(k, n, y, fit, held));
  }
  return {
    form: 'dual',
    size: n,
    validation(lambda) {
      let sse = 0;
      let rows = 0;
      for (const fold of prepared) {
        const m = fold.fit.length;
        rows += fold.held.length;
        const alpha = solveShifted(fold.kc, m, lambda, fold.yc);
        if (!alpha) return { sse: Infinity, rows };
        fold.held.forEach((v, h) => {
          let pred = fold.ybar;
          const o = h * m;
          for (let i = 0; i < m; i++) pred += alpha[i] * fold.kv[o + i];
          sse += (y[v] - pred) ** 2;
        });
      }
      return { sse, rows };
    },
    fit(lambda) {
      const whole = centredKernel(k, n, y, all, []);
      const alpha = solveShifted(whole.kc, n, lambda, whole.yc);
      if (!alpha) return null;
      // w = Σ_i α_i (z_i − z̄) = Zᵀα − z̄·Σα (Σα = 0 in exact arithmetic: Kc has 1 in its null space)
      const w = new Float64Array(p);
      const zbar = new Float64Array(p);
      let asum = 0;
      for (let i = 0; i < n; i++) {
        const a = alpha[i];
        asum += a;
        const o = i * p;
        for (let j = 0; j < p; j++) {
          w[j] += a * z[o + j];
          zbar[j] += z[o + j] / n;
        }
      }
      let offset = whole.ybar;
      for (let j = 0; j < p; j++) {
        w[j] -= zbar[j] * asum;
        offset -= zbar[j] * w[j];
      }
      return { weights: w, offset };
    },
  };
}

function centredKernel(k: Float64Array, n: number, y: Float64Array, fit: number[], held: number[]): DualFold {
  const m = fit.length;
  const rowMean = new Float64Array(n); // k̄_i over the fit rows, for every row i
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const j of fit) s += k[i * n + j];
    rowMean[i] = s / m;
  }
  let grand = 0;
  for (const j of fit) grand += rowMean[j];
  grand /= m;
  const kc = new Float64Array(m * m);
  fit.forEach((i, a) => fit.forEach((j, b) => (kc[a * m + b] = k[i * n + j] - rowMean[i] - rowMean[j] + grand)));
  const kv = new Float64Array(held.length * m);
  held.forEach((v, h) => fit.forEach((j, b) => (kv[h * m + b] = k[v * n + j] - rowMean[v] - rowMean[j] + grand)));
  let ybar = 0;
  for (const i of fit) ybar += y[i];
  ybar /= m;
  const yc = Float64Array.from(fit, (i) => y[i] - ybar);
  return { fit, held, kc, kv, yc, ybar };
}
