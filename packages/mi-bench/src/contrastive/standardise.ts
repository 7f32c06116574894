/**
 * The encoders' inputs, standardised with statistics of the training draws only:
 * v ↦ (v − mean)/sd per feature for an MLP, per channel (the mean and sd of a channel's 1024
 * pixels) for a CNN, which keeps an image's spatial structure. An affine map per feature is
 * invertible, so it changes no MI; it only puts the inputs on the scale the initial weights
 * expect. A constant feature keeps sd 1. Float32 copies, the layout tfjs takes.
 */

export interface InputScaling {
  dim: number;
  mean: Float64Array;
  invScale: Float64Array;
}

/** Statistics of `rows` of `values` (count × dim, row-major), pooled over consecutive groups of `groupSize` features. */
export function fitInputScaling(values: Float64Array, dim: number, rows: ArrayLike<number>, groupSize = 1): InputScaling {
  const groups = Math.ceil(dim / groupSize);
  const sum = new Float64Array(groups);
  const count = (g: number) => rows.length * (Math.min(dim, (g + 1) * groupSize) - g * groupSize);
  for (let i = 0; i < rows.length; i++) {
    const o = rows[i] * dim;
    for (let j = 0; j < dim; j++) sum[Math.floor(j / groupSize)] += values[o + j];
  }
  const groupMean = Float64Array.from(sum, (s, g) => s / count(g));
  const sq = new Float64Array(groups);
  for (let i = 0; i < rows.length; i++) {
    const o = rows[i] * dim;
    for (let j = 0; j < dim; j++) {
      const g = Math.floor(j / groupSize);
      sq[g] += (values[o + j] - groupMean[g]) ** 2;
    }
  }
  const mean = new Float64Array(dim);
  const invScale = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    const g = Math.floor(j / groupSize);
    const sd = Math.sqrt(sq[g] / count(g));
    mean[j] = groupMean[g];
    invScale[j] = sd > 0 && Number.isFinite(sd) ? 1 / sd : 1;
  }
  return { dim, mean, invScale };
}

/** The standardised float32 rows (all of `values`, in order). */
export function scaleInputs(s: InputScaling, values: Float64Array): Float32Array {
  const out = new Float32Array(values.length);
  const d = s.dim;
  for (let i = 0; i < values.length; i++) {
    const j = i % d;
    out[i] = (values[i] - s.mean[j]) * s.invScale[j];
  }
  return out;
}
