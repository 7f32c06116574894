/**
 * Output scaling of a batch of images (all modalities of all draws together).
 *
 * - `affine` (the default): x/2 + 1/2, float32: the flow's [−1, 1] image range onto [0, 1]
 *   by one fixed affine map, the same for every draw, no clamping, no quantisation, so the
 *   images keep the MI exactly (up to float32 rounding). A flow's output overshoots [−1, 1]
 *   slightly: those values are kept (previews clamp them for display only).
 * - `float`: the map's output unchanged, float32: MI exact too.
 * - `minmax-batch` (the reference's): (x − min)/(max − min) over the batch, clamped to
 *   [0, 1], then floor(x·255)/255. Neither step is invertible (the batch min/max differ
 *   between batches, and couple the draws of a batch; 8-bit quantisation), so the saved
 *   images carry the latents' MI only approximately.
 * - `clamp`: x/2 + 1/2, clamped, then 8-bit: also not invertible.
 *
 * `invert` undoes a scaling as far as it can be undone: exactly for the exact ones; for the
 * 8-bit ones it undoes the nominal affine x/2 + 1/2 (the batch statistics of `minmax-batch`
 * are not kept), so what they lost shows as reconstruction error in `verify --invert`.
 */

/** One output scaling: whether it keeps the MI exact, what it does to a batch (into `out`), and its (nominal) inverse. */
export interface Scaling {
  formula: string;
  keepsMiExact: boolean;
  /** How a preview shows the stored values: clamped to [0, 1], or stretched per tile (unbounded values). */
  display: 'clamp' | 'stretch';
  apply(values: Float64Array | Float32Array, out: Float32Array): void;
  invert(values: Float32Array, out: Float64Array): void;
}

const invertAffine = (values: Float32Array, out: Float64Array): void => {
  for (let i = 0; i < values.length; i++) out[i] = 2 * values[i] - 1;
};

export const SCALINGS = {
  affine: {
    formula: 'x/2 + 1/2 (float32)',
    keepsMiExact: true,
    display: 'clamp',
    apply(values, out) {
      for (let i = 0; i < values.length; i++) out[i] = values[i] * 0.5 + 0.5;
    },
    invert: invertAffine,
  },
  float: {
    formula: 'x (float32)',
    keepsMiExact: true,
    display: 'stretch',
    apply: (values, out) => out.set(values),
    invert: (values, out) => out.set(values),
  },
  'minmax-batch': {
    formula: 'floor(255·clamp((x − min)/(max − min)))/255 over the batch',
    keepsMiExact: false,
    display: 'clamp',
    invert: invertAffine,
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
    display: 'clamp',
    invert: invertAffine,
    apply(values, out) {
      for (let i = 0; i < values.length; i++) out[i] = quantise(values[i] * 0.5 + 0.5);
    },
  },
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
