/**
 * The input path of torchmetrics' `FrechetInceptionDistance(normalize=True)` with
 * torch-fidelity's "inception-v3-compat" network, up to the network's first convolution:
 *
 *   1. floats in [0, 1] → uint8 by truncation of x·255     (torchmetrics: `(imgs * 255).byte()`)
 *   2. uint8 → float32, TF1 bilinear resize to 299 × 299   (torch-fidelity, `resize.ts`)
 *   3. (x − 128) / 128                                     (torch-fidelity: into [-1, 1])
 *
 * All in float32 on NHWC Float32Arrays, in the same operation order as the reference, so the
 * network input is bit-for-bit what torch-fidelity feeds its first layer on CPU.
 */
import { resizeBilinearTF1 } from './resize.js';

/** The Inception-v3 input side length. */
export const INCEPTION_SIZE = 299;

export interface ImageBatchShape {
  n: number;
  height: number;
  width: number;
}

/**
 * Step 1: torchmetrics' `(imgs * 255).byte()` on float32 values in [0, 1]. The product is
 * rounded to float32 first (so 0.2f·255 gives 51, not 50.99…) and then truncated toward
 * zero. Values outside [0, 1] are clamped to 0..255 (torch's cast of out-of-range floats to
 * uint8 is undefined behaviour, so no reference exists for them); NaN is an error.
 * Returns uint8 levels stored as floats (the dtype the resize works in).
 */
export function quantizeUnitToUint8(x: Float32Array | Float64Array, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(x.length);
  if (dst.length !== x.length) throw new RangeError(`quantize: output buffer has ${dst.length} values, needs ${x.length}`);
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(Math.fround(x[i]) * 255);
    if (v !== v) throw new RangeError(`image value ${i} is NaN`);
    dst[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return dst;
}

/** Step 3 in place: (x − 128) / 128, each operation rounded to float32 (128 is a power of 2: exact). */
export function normalizeInceptionInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(x[i] - 128) / 128;
  return x;
}

/**
 * Steps 1–3 for a batch of NHWC RGB images with float values in [0, 1]:
 * returns n × 299 × 299 × 3 float32 in [-1, 1], ready for the feature extractor.
 * `out` may be reused across batches of the same n.
 */
export function preprocessForInception(images: Float32Array, shape: ImageBatchShape, out?: Float32Array): Float32Array {
  const { n, height, width } = shape;
  if (images.length !== n * height * width * 3) {
    throw new RangeError(`preprocess: ${images.length} values do not make ${n} RGB images of ${height}×${width}`);
  }
  const levels = quantizeUnitToUint8(images);
  const resized = resizeBilinearTF1(levels, { n, height, width, channels: 3 }, INCEPTION_SIZE, INCEPTION_SIZE, out);
  return normalizeInceptionInPlace(resized);
}

/** Steps 2–3 for images that are already uint8 (HWC RGB bytes, e.g. a decoded PNG). */
export function preprocessUint8ForInception(images: Uint8Array, shape: ImageBatchShape, out?: Float32Array): Float32Array {
  const { n, height, width } = shape;
  if (images.length !== n * height * width * 3) {
    throw new RangeError(`preprocess: ${images.length} bytes do not make ${n} RGB images of ${height}×${width}`);
  }
  const resized = resizeBilinearTF1(Float32Array.from(images), { n, height, width, channels: 3 }, INCEPTION_SIZE, INCEPTION_SIZE, out);
  return normalizeInceptionInPlace(resized);
}
