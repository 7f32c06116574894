/**
 * Small dense linear algebra on row-major Float64Array matrices.
 *
 * The latent model never needs more than N×N (modalities) or r×r (θ proto-latents)
 * dense matrices, so plain O(n³) loops in float64 are exact enough and instant.
 */

export type Matrix = Float64Array;

export function identity(n: number): Matrix {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/** Principal submatrix A[idx, idx]. */
export function subMatrix(a: Matrix, n: number, idx: readonly number[]): Matrix {
  const s = idx.length;
  const out = new Float64Array(s * s);
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) out[i * s + j] = a[idx[i] * n + idx[j]];
  return out;
}

export interface Cholesky {
  /** Row-major lower-triangular L with a = L·Lᵀ; its rows from `failedAt` on are not computed. */
  factor: Matrix;
  /**
   * pivotRatios[j] = L_jj² / a_jj (0 where a_jj ≤ 0): the fraction of variable j's variance
   * left unexplained by the variables before it (1 − R² of the regression on them) when `a` is
   * a covariance matrix. Filled up to and including `failedAt`.
   */
  pivotRatios: Float64Array;
  /** The first j whose pivot failed the tolerance; −1 when the factorisation completed. */
  failedAt: number;
}

/**
 * When a pivot p_j = a_jj − Σ_{k<j} L_jk² counts as "not clearly positive" (the matrix as
 * singular). Each test runs when its field is given; give at least one.
 */
export interface CholeskyTolerance {
  /**
   * Against the matrix's scale: fail when p_j ≤ relative · n · max_i |a_ii|, so that a
   * rank-deficient Gram matrix computed in floating point is reported as singular rather than
   * yielding a meaningless tiny pivot. 0: fail when p_j ≤ 0.
   */
  relative?: number;
  /**
   * Against the variable's own variance: fail when p_j / a_jj ≤ ratio (0 where a_jj ≤ 0): a
   * covariance matrix's variable j is, to within that fraction of its variance, a linear
   * combination of the variables before it.
   */
  ratio?: number;
}

/** The default test: pivots relative to the largest diagonal entry, 1e-12 · n. */
const CHOLESKY_RELATIVE_TOLERANCE: CholeskyTolerance = { relative: 1e-12 };

/**
 * Cholesky factorisation a = L·Lᵀ of the symmetric n×n row-major matrix `a` (its lower
 * triangle is read), L lower-triangular row-major, stopping at the first pivot that is not
 * clearly positive (see `CholeskyTolerance`): then `failedAt` names it. n³/6 multiply-adds.
 */
export function cholesky(a: Matrix, n: number, tolerance: CholeskyTolerance = CHOLESKY_RELATIVE_TOLERANCE): Cholesky {
  if (a.length !== n * n) throw new RangeError(`cholesky: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  const { relative, ratio: minRatio } = tolerance;
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(a[i * n + i]));
  const tol = relative === undefined ? undefined : relative * Math.max(maxDiag, Number.MIN_VALUE) * Math.max(n, 1);
  const l = new Float64Array(n * n);
  const pivotRatios = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let diag = a[j * n + j];
    for (let p = 0; p < j; p++) diag -= l[j * n + p] * l[j * n + p];
    const ratio = a[j * n + j] > 0 ? diag / a[j * n + j] : 0;
    pivotRatios[j] = ratio;
    if ((tol !== undefined && !(diag > tol)) || (minRatio !== undefined && !(ratio > minRatio))) return { factor: l, pivotRatios, failedAt: j };
    const ljj = Math.sqrt(diag);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
      l[i * n + j] = s / ljj;
    }
  }
  return { factor: l, pivotRatios, failedAt: -1 };
}

/** log det a = 2·Σ log L_jj from the Cholesky factor L (n×n row-major) of a. */
export function choleskyLogDet(l: Matrix, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]);
  return 2 * s;
}

/** Solve L·Lᵀ·X = B for B n×m (row-major); rows are updated whole so memory access stays contiguous. */
export function choleskySolve(l: Matrix, n: number, b: Matrix, m: number): Matrix {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const xi = i * m;
    for (let p = 0; p < i; p++) {
      const w = l[i * n + p];
      if (w !== 0) axpy(x, xi, -w, x, p * m, m);
    }
    scaleInPlace(x, xi, 1 / l[i * n + i], m);
  }
  for (let i = n - 1; i >= 0; i--) {
    const xi = i * m;
    for (let p = i + 1; p < n; p++) {
      const w = l[p * n + i];
      if (w !== 0) axpy(x, xi, -w, x, p * m, m);
    }
    scaleInPlace(x, xi, 1 / l[i * n + i], m);
  }
  return x;
}

/**
 * out[off … off+n) += w·src[srcOff … srcOff+n). Kept as a small standalone function: V8
 * optimises it far better (≈3×) than the same loop inlined in a large function.
 */
export function axpy(out: Float64Array | Float32Array, off: number, w: number, src: ArrayLike<number>, srcOff: number, n: number): void {
  let t = 0;
  for (; t + 3 < n; t += 4) {
    out[off + t] += w * src[srcOff + t];
    out[off + t + 1] += w * src[srcOff + t + 1];
    out[off + t + 2] += w * src[srcOff + t + 2];
    out[off + t + 3] += w * src[srcOff + t + 3];
  }
  for (; t < n; t++) out[off + t] += w * src[srcOff + t];
}

/** out[off … off+n) += c. */
export function addConstant(out: Float64Array | Float32Array, off: number, c: number, n: number): void {
  for (let t = 0; t < n; t++) out[off + t] += c;
}

function scaleInPlace(x: Float64Array, off: number, c: number, n: number): void {
  for (let t = 0; t < n; t++) x[off + t] *= c;
}

/** G·Gᵀ for G n×k (row-major), using symmetry and contiguous row dot products. */
export function gramRows(g: Matrix, n: number, k: number): Matrix {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = dotAt(g, i * k, g, j * k, k);
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  return out;
}

export function dotAt(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let t = 0;
  for (; t + 1 < n; t += 2) {
    s0 += a[ao + t] * b[bo + t];
    s1 += a[ao + t + 1] * b[bo + t + 1];
  }
  if (t < n) s0 += a[ao + t] * b[bo + t];
  return s0 + s1;
}

export interface LuFactors {
  lu: Matrix;
  perm: Int32Array;
  sign: number;
  singular: boolean;
}

/** LU with partial pivoting, for the small non-symmetric matrices I + S·M. */
export function luDecompose(a: Matrix, n: number): LuFactors {
  const lu = Float64Array.from(a);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let sign = 1;
  let singular = false;
  for (let k = 0; k < n; k++) {
    let piv = k;
    let best = Math.abs(lu[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(lu[i * n + k]);
      if (v > best) {
        best = v;
        piv = i;
      }
    }
    if (best === 0) {
      singular = true;
      continue;
    }
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = lu[k * n + j];
        lu[k * n + j] = lu[piv * n + j];
        lu[piv * n + j] = t;
      }
      const t = perm[k];
      perm[k] = perm[piv];
      perm[piv] = t;
      sign = -sign;
    }
    const pivot = lu[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const f = (lu[i * n + k] /= pivot);
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) lu[i * n + j] -= f * lu[k * n + j];
    }
  }
  return { lu, perm, sign, singular };
}

/** Sign and log|det| of a square matrix. */
export function logAbsDet(a: Matrix, n: number): { sign: number; logAbs: number } {
  const f = luDecompose(a, n);
  if (f.singular) return { sign: 0, logAbs: -Infinity };
  let sign = f.sign;
  let logAbs = 0;
  for (let i = 0; i < n; i++) {
    const v = f.lu[i * n + i];
    if (v < 0) sign = -sign;
    logAbs += Math.log(Math.abs(v));
  }
  return { sign, logAbs };
}

/** Solve A·X = B (B is n×m) from LU factors. */
export function luSolve(f: LuFactors, n: number, b: Matrix, m: number): Matrix {
  const { lu, perm } = f;
  const x = new Float64Array(n * m);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = b[perm[i] * m + c];
      for (let p = 0; p < i; p++) s -= lu[i * n + p] * x[p * m + c];
      x[i * m + c] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * m + c];
      for (let p = i + 1; p < n; p++) s -= lu[i * n + p] * x[p * m + c];
      x[i * m + c] = s / lu[i * n + i];
    }
  }
  return x;
}

/** log|A| of a symmetric positive (semi)definite matrix; −Infinity when it is singular. */
export function denseLogDetSymmetric(a: Matrix, n: number): number {
  const { factor: l, failedAt } = cholesky(a, n);
  return failedAt < 0 ? choleskyLogDet(l, n) : -Infinity;
}
