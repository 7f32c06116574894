/**
 * The samples as the flows see them: each side standardised with its training rows' statistics,
 * then (with the canonical start, ./cca.ts) mapped into canonical coordinates, both fixed
 * invertible affine maps of one side, which leave I(X; Y) and the pointwise MI unchanged; float32
 * copies for tfjs.
 */
import { standardise, type Standardiser } from '../variational/data.js';

/** A side's fixed preprocessing: v ↦ A·standardise(v) (A the identity when null). */
export interface SideMap {
  dim: number;
  standardiser: Standardiser;
  /** dim×dim row-major, or null. */
  linear: Float64Array | null;
}

/** The mapped float32 copy of `rows` of `a` (n×dim row-major; all rows when omitted). */
export function applySideMap(m: SideMap, a: Float64Array, rows?: Int32Array): Float32Array {
  const s = standardise(m.standardiser, a, rows);
  if (m.linear === null) return s;
  const d = m.dim;
  const out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i += d)
    for (let r = 0; r < d; r++) {
      let t = 0;
      for (let c = 0; c < d; c++) t += m.linear[r * d + c] * s[i + c];
      out[i + r] = t;
    }
  return out;
}
