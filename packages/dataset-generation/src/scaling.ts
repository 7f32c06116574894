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

/** One output scaling: whether it keeps the MI exact, and what it does to a batch (into `out`). */
export interface Scaling {
  formula: string;
  keepsMiExact: boolean;
  apply(values: Float64Array | Float32Array, out: Float32Array): void;
}

export const SCALINGS = {
  'minmax-batch': {
    formula: 'floor(255·clamp((x − min)/(max − min)))/255 over the batch',
    keepsMiExact: false,
    apply(values, out) {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const range = max - min;
      // A constant batch (range 0) maps to 0, where the reference would divide by zero.
      for (let i = 0; i < values.length; i++) out[i] = range > 0 ? quantise((values[i] - min) / range) : 0;
    },
  },
  clamp: {
    formula: 'floor(255·clamp(x/2 + 1/2))/255',
    keepsMiExact: false,
    apply(values, out) {
      for (let i = 0; i < values.length; i++) out[i] = quantise(values[i] * 0.5 + 0.5);
    },
  },
  float: { formula: 'x (float32)', keepsMiExact: true, apply: (values, out) => out.set(values) },
} as const satisfies Record<string, Scaling>;

export type ScalingName = keyof typeof SCALINGS;

export function scaleBatch(name: ScalingName, values: Float64Array | Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  SCALINGS[name].apply(values, out);
  return out;
}

function quantise(x: number): number {
  const c = x < 0 ? 0 : x > 1 ? 1 : x;
  return Math.floor(c * 255) / 255;
}
