/**
 * Bilinear resize as TensorFlow 1.x does it (`tf.compat.v1.image.resize_bilinear`,
 * align_corners=False, half_pixel_centers=False), which is what the FID Inception graph
 * (2015-12-05) applies to its input and what torch-fidelity reproduces with
 * `interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False)`.
 *
 * For an output index i along an axis of input size `in` and output size `out`:
 *
 *   scale = in / out                      (float32)
 *   s     = i · scale                     (float32; NO half-pixel offset)
 *   lo    = ⌊s⌋,  hi = min(lo + 1, in − 1),  t = s − lo
 *   v     = a + (b − a) · t               (rows first along x, then along y)
 *
 * Every operation is rounded to float32 in the order torch-fidelity's 'slow' method
 * (bit-exact on CPU, per its docs) performs it, so the result does not depend on a backend:
 * plain TypeScript on Float32Array, NHWC.
 */

export interface AxisWeights {
  lo: Int32Array;
  hi: Int32Array;
  /** Fractional part t = s − lo, float32. */
  t: Float32Array;
}

const f32 = Math.fround;

/** The sampling positions of one axis (TF1, align_corners=False). */
export function tf1AxisWeights(inSize: number, outSize: number): AxisWeights {
  if (!Number.isInteger(inSize) || inSize < 1) throw new RangeError(`input size must be a positive integer, got ${inSize}`);
  if (!Number.isInteger(outSize) || outSize < 1) throw new RangeError(`output size must be a positive integer, got ${outSize}`);
  // torch-fidelity: torch.tensor(in / out, dtype=float32), TF1: (float)in / out.
  const scale = f32(inSize / outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const s = f32(i * scale); // float32 product (exact in double, then rounded once)
    const l = Math.min(Math.floor(s), inSize - 1);
    lo[i] = l;
    hi[i] = Math.min(l + 1, inSize - 1);
    t[i] = f32(s - l);
  }
  return { lo, hi, t };
}

export interface ResizeShape {
  /** Number of images. */
  n: number;
  height: number;
  width: number;
  channels: number;
}

/**
 * Resize a batch of NHWC float images to outHeight × outWidth with TF1 bilinear
 * semantics. `out`, when given, must hold n·outHeight·outWidth·channels values.
 */
export function resizeBilinearTF1(src: Float32Array, shape: ResizeShape, outHeight: number, outWidth: number, out?: Float32Array): Float32Array {
  const { n, height: h, width: w, channels: c } = shape;
  if (src.length !== n * h * w * c) {
    throw new RangeError(`resize: input has ${src.length} values, shape ${n}×${h}×${w}×${c} needs ${n * h * w * c}`);
  }
  const size = n * outHeight * outWidth * c;
  const dst = out ?? new Float32Array(size);
  if (dst.length !== size) throw new RangeError(`resize: output buffer has ${dst.length} values, needs ${size}`);
  const ys = tf1AxisWeights(h, outHeight);
  const xs = tf1AxisWeights(w, outWidth);
  // x-interpolated top and bottom rows, recomputed per output row (cheap, exact same ops).
  const top = new Float32Array(outWidth * c);
  const bottom = new Float32Array(outWidth * c);
  for (let b = 0; b < n; b++) {
    const imgOff = b * h * w * c;
    const outImg = b * outHeight * outWidth * c;
    for (let oy = 0; oy < outHeight; oy++) {
      const rowLo = imgOff + ys.lo[oy] * w * c;
      const rowHi = imgOff + ys.hi[oy] * w * c;
      for (let ox = 0; ox < outWidth; ox++) {
        const xl = xs.lo[ox] * c;
        const xh = xs.hi[ox] * c;
        const tx = xs.t[ox];
        for (let k = 0; k < c; k++) {
          const a00 = src[rowLo + xl + k];
          const a01 = src[rowLo + xh + k];
          const a10 = src[rowHi + xl + k];
          const a11 = src[rowHi + xh + k];
          // in_0 = in_00 + (in_01 - in_00) * dx ; in_1 likewise (float32 at every step)
          top[ox * c + k] = f32(a00 + f32(f32(a01 - a00) * tx));
          bottom[ox * c + k] = f32(a10 + f32(f32(a11 - a10) * tx));
        }
      }
      const ty = ys.t[oy];
      const o = outImg + oy * outWidth * c;
      for (let j = 0; j < outWidth * c; j++) {
        const p = top[j];
        dst[o + j] = f32(p + f32(f32(bottom[j] - p) * ty));
      }
    }
  }
  return dst;
}
