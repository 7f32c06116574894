/**
 * Dense float64 products for the 2048×2048 feature covariances. Loop order i-k-j keeps
 * the innermost loop on contiguous rows; the row update lives in its own small function,
 * which V8 optimises far better than the same loop inlined.
 */

function addScaledRow(out: Float64Array, off: number, w: number, src: Float64Array, srcOff: number, n: number): void {
  for (let t = 0; t < n; t++) out[off + t] += w * src[srcOff + t];
}

/** C = A·B for A n×k and B k×m, row-major. */
export function matMul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < k; p++) {
      const w = a[i * k + p];
      if (w !== 0) addScaledRow(c, i * m, w, b, p * m, m);
    }
  return c;
}

/** (A + Aᵀ)/2, to remove the asymmetry rounding leaves in a product that is symmetric in exact arithmetic. */
export function symmetrize(a: Float64Array, n: number): Float64Array {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = 0.5 * (a[i * n + j] + a[j * n + i]);
      s[i * n + j] = v;
      s[j * n + i] = v;
    }
  return s;
}

export function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i];
  return t;
}
