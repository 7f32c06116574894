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

/**
 * Cholesky factor L (lower, row-major) of a symmetric matrix, or null when a pivot is
 * not clearly positive. "Clearly" is relative to the largest diagonal entry, so a
 * rank-deficient Gram matrix computed in floating point is reported as singular rather
 * than yielding a meaningless tiny pivot.
 */
export function cholesky(a: Matrix, n: number, relTol = 1e-12): Matrix | null {
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(a[i * n + i]));
  const tol = relTol * Math.max(maxDiag, Number.MIN_VALUE) * Math.max(n, 1);
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let diag = a[j * n + j];
    for (let p = 0; p < j; p++) diag -= l[j * n + p] * l[j * n + p];
    if (!(diag > tol)) return null;
    const ljj = Math.sqrt(diag);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

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

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: slow (O(n³) per
 * sweep) but accurate to working precision for every eigenvalue, which is what the
 * exact alignment quantile and the structured sampler's square root need.
 */
export function symmetricEigen(a: Matrix, n: number): { values: Float64Array; vectors: Matrix } {
  const m = Float64Array.from(a);
  const v = identity(n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = m[i * n + j] * m[i * n + j];
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  return { values, vectors: v };
}

/** log|A| of a symmetric positive (semi)definite matrix; −Infinity when it is singular. */
export function denseLogDetSymmetric(a: Matrix, n: number): number {
  const l = cholesky(a, n);
  return l ? choleskyLogDet(l, n) : -Infinity;
}
