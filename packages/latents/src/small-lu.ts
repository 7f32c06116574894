/**
 * Dense LU with partial pivoting for the few small matrices the exact PMI needs (K_SS, |S|×|S|,
 * and I + C·M, r×r with r the number of shared directions): a handful of rows, so clarity
 * beats speed. Row-major Float64Array throughout.
 */

export interface Lu {
  n: number;
  /** L (unit diagonal, below) and U (on and above the diagonal) in one matrix. */
  lu: Float64Array;
  /** Row i of the factorisation is row piv[i] of the input. */
  piv: Int32Array;
  /** Sign of the permutation times the signs of U's diagonal: the determinant's sign (0 when singular). */
  sign: number;
  /** log |det|, −Infinity when singular. */
  logAbsDet: number;
}

/** Factorises the n×n matrix `a` (left unchanged). */
export function luFactor(a: ArrayLike<number>, n: number): Lu {
  const lu = Float64Array.from(a);
  const piv = Int32Array.from({ length: n }, (_, i) => i);
  let sign = 1;
  let logAbsDet = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(lu[i * n + k]) > Math.abs(lu[p * n + k])) p = i;
    if (p !== k) {
      for (let j = 0; j < n; j++) [lu[k * n + j], lu[p * n + j]] = [lu[p * n + j], lu[k * n + j]];
      [piv[k], piv[p]] = [piv[p], piv[k]];
      sign = -sign;
    }
    const pivot = lu[k * n + k];
    if (pivot === 0) return { n, lu, piv, sign: 0, logAbsDet: -Infinity };
    if (pivot < 0) sign = -sign;
    logAbsDet += Math.log(Math.abs(pivot));
    for (let i = k + 1; i < n; i++) {
      const f = (lu[i * n + k] /= pivot);
      if (f !== 0) for (let j = k + 1; j < n; j++) lu[i * n + j] -= f * lu[k * n + j];
    }
  }
  return { n, lu, piv, sign, logAbsDet };
}

/** X with A·X = B, for B of n rows and `cols` columns (row-major). */
export function luSolve(f: Lu, b: ArrayLike<number>, cols: number): Float64Array {
  const { n, lu, piv } = f;
  if (f.sign === 0) throw new RangeError('luSolve: the matrix is singular');
  const x = new Float64Array(n * cols);
  for (let i = 0; i < n; i++) for (let c = 0; c < cols; c++) x[i * cols + c] = b[piv[i] * cols + c];
  for (let c = 0; c < cols; c++) {
    for (let i = 1; i < n; i++) {
      let s = x[i * cols + c];
      for (let j = 0; j < i; j++) s -= lu[i * n + j] * x[j * cols + c];
      x[i * cols + c] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * cols + c];
      for (let j = i + 1; j < n; j++) s -= lu[i * n + j] * x[j * cols + c];
      x[i * cols + c] = s / lu[i * n + i];
    }
  }
  return x;
}

/** The n×n identity. */
export function identityMatrix(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}
