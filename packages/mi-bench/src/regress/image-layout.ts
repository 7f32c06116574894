/**
 * From the datasets' pixel rows to the CNN's input. A row of k stacked modalities holds k
 * channel-first 3×32×32 images (3k planes of 32×32, plane c = 3·modality + colour); tfjs's
 * convolutions on the CPU-side backends want channels last (NHWC), so rows are rearranged to
 * 32×32×3k, and each of the 3k planes is standardised with its training mean and standard
 * deviation (the maps put pixels on different scales: identity latents, tanh, flow images).
 */
import { InputError } from '@mmmi/cli-kit';
import type { FeatureArray } from './check.js';

/** Values of one modality's image: 3 × 32 × 32. */
export const IMAGE_VALUES = 3072;
export const IMAGE_SIZE = 32;
const PLANE = IMAGE_SIZE * IMAGE_SIZE;

/** Planes (input channels) of a row of `dim` values; throws an InputError unless dim is a positive multiple of 3072. */
export function imageChannels(dim: number): number {
  if (!Number.isInteger(dim) || dim < IMAGE_VALUES || dim % IMAGE_VALUES !== 0) {
    throw new InputError(
      `CNN regression needs rows of stacked 3×32×32 images, a multiple of ${IMAGE_VALUES} values; got ${dim} (use ridge for other features)`,
    );
  }
  return (dim / IMAGE_VALUES) * 3;
}

export interface PlaneScaling {
  mean: Float64Array;
  inverseScale: Float64Array;
}

/** Per-plane mean and 1/sd (divisor: all values of the plane in the n rows); a constant plane gets 1/sd = 0. */
export function fitPlaneScaling(x: FeatureArray, n: number, channels: number): PlaneScaling {
  const mean = new Float64Array(channels);
  const ss = new Float64Array(channels);
  const count = n * PLANE;
  for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const o = i * channels * PLANE + c * PLANE;
      for (let t = 0; t < PLANE; t++) s += x[o + t];
    }
    mean[c] = s / count;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const o = i * channels * PLANE + c * PLANE;
      for (let t = 0; t < PLANE; t++) q += (x[o + t] - mean[c]) ** 2;
    }
    ss[c] = q;
  }
  const inverseScale = Float64Array.from(ss, (q, c) => {
    const sd = Math.sqrt(q / count);
    return sd > 0 && sd > 1e-12 * Math.abs(mean[c]) ? 1 / sd : 0;
  });
  return { mean, inverseScale };
}

/** The n rows standardised and rearranged channel-last: n × 32 × 32 × channels, float32. */
export function toNhwc(x: FeatureArray, n: number, channels: number, scaling: PlaneScaling): Float32Array {
  const out = new Float32Array(n * channels * PLANE);
  for (let i = 0; i < n; i++) {
    const o = i * channels * PLANE;
    for (let c = 0; c < channels; c++) {
      const src = o + c * PLANE;
      const m = scaling.mean[c];
      const s = scaling.inverseScale[c];
      for (let t = 0; t < PLANE; t++) out[o + t * channels + c] = (x[src + t] - m) * s;
    }
  }
  return out;
}
