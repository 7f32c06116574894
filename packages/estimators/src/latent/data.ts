/**
 * The rows as LMI's networks see them: each feature standardised with the training rows'
 * mean and standard deviation, then clipped to ±clip (the authors' code standardises and clips
 * to ±10 so that a few extreme values cannot dominate the squared-error losses), as float32.
 *
 * The authors standardise with the statistics of all rows; these use the training rows only, so
 * that nothing of the held-out rows, which give the estimate, enters before they are encoded.
 * Standardisation is an invertible affine map of each feature and leaves I(X; Y) unchanged; the
 * clip changes only values beyond `clip` standard deviations (none at all for Gaussian data of
 * any realistic size with the default 10).
 */
import { fitStandardiser, standardise, type Standardiser } from '../variational/data.js';

/** A side's map from raw rows to the networks' inputs. */
export interface InputScaler {
  readonly dim: number;
  /** Standardised, clipped float32 copy of `rows` of a (all rows when omitted), in that order. */
  apply(a: Float64Array, rows?: Int32Array): Float32Array;
}

/** Fits the scaler of a side (n×d row-major `a`) on its training rows. */
export function fitInputScaler(a: Float64Array, d: number, trainRows: Int32Array, clip: number): InputScaler {
  const s: Standardiser = fitStandardiser(a, d, trainRows);
  return {
    dim: d,
    apply: (values, rows) => {
      const out = standardise(s, values, rows);
      if (Number.isFinite(clip)) for (let i = 0; i < out.length; i++) out[i] = Math.min(clip, Math.max(-clip, out[i]));
      return out;
    },
  };
}

/** Paired float32 rows, row-major. */
export interface NetworkRows {
  n: number;
  x: Float32Array;
  dx: number;
  y: Float32Array;
  dy: number;
}
