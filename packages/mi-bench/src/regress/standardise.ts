/**
 * Feature standardisation for ridge regression: z_j = (x_j − mean_j) / sd_j with the training
 * rows' mean and standard deviation (divisor n). One penalty λ‖w‖² then treats every feature
 * alike whatever its units, and the λ grid can be stated relative to the data's own scale.
 */
import type { FeatureArray } from './check.js';

export interface Standardiser {
  /** Features per row. */
  p: number;
  /** Training means, length p. */
  mean: Float64Array;
  /** 1 / sd_j, or 0 for a feature constant on the training rows (it then contributes nothing). */
  inverseScale: Float64Array;
  /** Features that vary on the training rows. */
  varying: number;
}

/**
 * Means and scales of the n×p row-major `x`. A feature counts as constant when its standard
 * deviation is 0 or below 1e-12 of its mean's magnitude: what is left there is the rounding
 * of the mean, and scaling it up would turn rounding into a feature.
 */
export function fitStandardiser(x: FeatureArray, n: number, p: number): Standardiser {
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const o = i * p;
    for (let j = 0; j < p; j++) mean[j] += x[o + j];
  }
  for (let j = 0; j < p; j++) mean[j] /= n;
  const ss = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const o = i * p;
    for (let j = 0; j < p; j++) ss[j] += (x[o + j] - mean[j]) ** 2;
  }
  const inverseScale = new Float64Array(p);
  let varying = 0;
  for (let j = 0; j < p; j++) {
    const sd = Math.sqrt(ss[j] / n);
    if (sd > 0 && sd > 1e-12 * Math.abs(mean[j])) {
      inverseScale[j] = 1 / sd;
      varying++;
    }
  }
  return { p, mean, inverseScale, varying };
}

/** The standardised rows, n×p row-major. */
export function standardisedRows(s: Standardiser, x: FeatureArray, n: number): Float64Array {
  const { p, mean, inverseScale } = s;
  const z = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const o = i * p;
    for (let j = 0; j < p; j++) z[o + j] = (x[o + j] - mean[j]) * inverseScale[j];
  }
  return z;
}

/**
 * The standardised rows transposed, p×n row-major (row j holds feature j of every sample),
 * with the samples in the order `order` (column c is sample order[c]): the layout whose row
 * Gram matrix is ZᵀZ, and in which a block of samples is a contiguous column range.
 */
export function standardisedColumns(s: Standardiser, x: FeatureArray, n: number, order: Int32Array): Float64Array {
  const { p, mean, inverseScale } = s;
  const zt = new Float64Array(p * n);
  for (let c = 0; c < n; c++) {
    const o = order[c] * p;
    for (let j = 0; j < p; j++) zt[j * n + c] = (x[o + j] - mean[j]) * inverseScale[j];
  }
  return zt;
}
