/**
 * Solves the regularised systems of ridge regression, (A + λI) x = b with A symmetric positive
 * semi-definite, by latents' Cholesky factorisation and two triangular solves.
 */
import { cholesky } from '@mmmi/latents';

/**
 * x = (A + λI)⁻¹ b for the symmetric d×d row-major `a` (not modified) and λ > 0: A + λI = L Lᵀ,
 * then L z = b and Lᵀ x = z. Returns null when the factorisation meets a non-positive pivot
 * (A + λI numerically indefinite: λ far below A's rounding). d³/6 + d² multiply-adds.
 */
export function solveShifted(a: Float64Array, d: number, lambda: number, b: Float64Array): Float64Array | null {
  if (b.length !== d) throw new RangeError(`solveShifted: right-hand side of ${b.length} for a ${d}×${d} system`);
  const shifted = a.slice();
  for (let i = 0; i < d; i++) shifted[i * d + i] += lambda;
  const { factor: l, failedAt } = cholesky(shifted, d, { ratio: 0 });
  if (failedAt >= 0) return null;
  const x = Float64Array.from(b);
  // L z = b (rows of L are contiguous)
  for (let i = 0; i < d; i++) {
    const row = i * d;
    let s = x[i];
    for (let k = 0; k < i; k++) s -= l[row + k] * x[k];
    x[i] = s / l[row + i];
  }
  // Lᵀ x = z: column i of L is row i of Lᵀ; subtract each solved x_i from the entries above it
  for (let i = d - 1; i >= 0; i--) {
    const row = i * d;
    x[i] /= l[row + i];
    const xi = x[i];
    for (let k = 0; k < i; k++) x[k] -= l[row + k] * xi;
  }
  return x;
}
