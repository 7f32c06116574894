/**
 * Output scaling of a batch of images (all modalities of all draws together).
 *
 * - `minmax-batch` (the reference, the default): (x − min)/(max − min) over the batch,
 *   clamped to [0, 1], then floor(x·255)/255. Neither step is invertible (the batch min/max
 *   differ between batches; 8-bit quantisation), so the saved images carry the latents' MI
 *   only approximately.
 * - `clamp`: [−1, 1] → [0, 1] by x·0.5 + 0.5, clamped, then 8-bit: also not invertible.
 * - `float`: the map's output unchanged, float32: MI exact (up to float32 rounding).
 */

export const SCALINGS = {
  'minmax-batch': { keepsMiExact: false },
  clamp: { keepsMiExact: false },
  float: { keepsMiExact: true },
} as const;

export type ScalingName = keyof typeof SCALINGS;

export function scaleBatch(name: ScalingName, values: Float64Array | Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  if (name === 'float') {
    out.set(values);
    return out;
  }
  if (name === 'clamp') {
    for (let i = 0; i < values.length; i++) out[i] = quantise(values[i] * 0.5 + 0.5);
    return out;
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  // A constant batch (range 0) maps to 0, where the reference would divide by zero.
  for (let i = 0; i < values.length; i++) out[i] = range > 0 ? quantise((values[i] - min) / range) : 0;
  return out;
}

function quantise(x: number): number {
  const c = x < 0 ? 0 : x > 1 ? 1 : x;
  return Math.floor(c * 255) / 255;
}
