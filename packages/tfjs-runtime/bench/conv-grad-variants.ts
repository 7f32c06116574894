/**
 * The Conv2DBackpropFilter formulations kept for bench/conv-grad.bench.ts and for the
 * variant checks of test/wasm-kernels.test.ts, all correct, none faster than the one
 * training uses ('conv', src/wasm/conv2d-backprop-filter.ts):
 *
 *   'per-tap'  one XNNPACK product per tap, dyᵀ shifted (PadV2) · the flat padded input;
 *   'im2col'   the shifted inputs stacked into [KH·KW·Cin, R] (PadV2 + Concat on axis 0),
 *              one product;
 *   'conv3d'   wasm's native Conv3DBackpropFilterV2 with depth 1: a naive loop, 10–30×
 *              slower, and wrong for strides > 1 in 4.22 (other strides use 'conv').
 *
 * {@link setConv2DBackpropFilterVariant} registers a formulation as wasm's
 * Conv2DBackpropFilter kernel (after prepareBackend('wasm') registered training's).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  conv2DBackpropFilterKernel,
  conv2DBackpropFilterWasm,
  filterGradDefault,
  withPointwise,
  type FilterGradGeometry,
} from '../src/wasm/conv2d-backprop-filter.js';
import type { KernelScope } from '../src/wasm/scope.js';

export type Conv2DBackpropFilterVariant = 'per-tap' | 'im2col' | 'conv' | 'conv3d';

/** x padded (PadV2) or cropped (Slice) to [B, rows, cols, Cin], `top`/`left` zeros first. */
function padTo(s: KernelScope, x: tf.TensorInfo, top: number, left: number, rows: number, cols: number): tf.TensorInfo {
  const [b, h, w, c] = x.shape;
  const bottom = rows - h - top;
  const right = cols - w - left;
  let xp = x;
  if (top > 0 || left > 0 || bottom > 0 || right > 0) {
    const paddings = [
      [0, 0],
      [top, Math.max(0, bottom)],
      [left, Math.max(0, right)],
      [0, 0],
    ];
    xp = s.run('PadV2', { x: xp }, { paddings, constantValue: 0 });
  }
  if (xp.shape[1] !== rows || xp.shape[2] !== cols) {
    xp = s.run('Slice', { x: xp }, { begin: [0, 0, 0, 0], size: [b, rows, cols, c] });
  }
  return xp;
}

/**
 * The "shifted rows" layout, which makes every tap a shift of one flat matrix. With
 * Hq = Ho + ⌊(KH−1)/sh⌋ and Wq = Wo + ⌊(KW−1)/sw⌋, the input is padded to
 * [B, Hq·sh, Wq·sw, Cin] and split into its sh·sw stride phases
 * P[ph·sw + pw][b, r, c] = xpad[b, r·sh + ph, c·sw + pw] (nothing to do at stride 1), each
 * flattened to R = B·Hq·Wq rows of Cin; dy is padded with zeros to [B, Hq, Wq, Cout] and
 * flattened the same way. Tap (kh, kw) reads phase (kh mod sh, kw mod sw) at the row offset
 * off = ⌊kh/sh⌋·Wq + ⌊kw/sw⌋: dW[kh, kw] = Σ_r dy[r]ᵀ · P[r + off]. The rows r + off
 * that wrap past an image row or image meet dy's zero padding, so shifting dy by `off`
 * zeros in front (PadV2) lines it up with P: no per-tap slicing. (tfjs-wasm's Slice copies
 * its whole input on every call, and its StridedSlice and GatherV2 move one element at a
 * time; PadV2 and Transpose are native block copies.) The price is R/(B·Ho·Wo) more
 * multiply-adds: (34·34)/(32·32) = 1.13 for 32×32 3×3, 1.27 for 16×16.
 */
interface ShiftedRows {
  /** per phase: [R + maxOff, Cin] (maxOff zero rows appended) */
  phases: tf.TensorInfo[];
  /** dy, padded and flattened: [R, Cout] */
  dy: tf.TensorInfo;
  rows: number;
  maxOff: number;
  offsets: { phase: number; off: number }[];
}

function shiftedRows(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): ShiftedRows {
  const { batch: b, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw } = g;
  const dh = Math.floor((g.filterHeight - 1) / sh);
  const dw = Math.floor((g.filterWidth - 1) / sw);
  const hq = g.outHeight + dh;
  const wq = g.outWidth + dw;
  const rows = b * hq * wq;
  const maxOff = dh * wq + dw;
  const xp = padTo(s, x, g.top, g.left, hq * sh, wq * sw);
  const flat: tf.TensorInfo[] = [];
  if (sh === 1 && sw === 1) {
    flat.push(s.reshape(xp, [rows, ci]));
  } else {
    const split = s.reshape(xp, [b, hq, sh, wq, sw, ci]);
    const all = s.reshape(s.transpose(split, [2, 4, 0, 1, 3, 5]), [sh * sw, rows * ci]);
    for (let p = 0; p < sh * sw; p++) flat.push(s.reshape(s.run('Slice', { x: all }, { begin: [p, 0], size: [1, rows * ci] }), [rows, ci]));
  }
  const phases =
    maxOff === 0
      ? flat
      : flat.map((f) =>
          s.run(
            'PadV2',
            { x: f },
            {
              paddings: [
                [0, maxOff],
                [0, 0],
              ],
              constantValue: 0,
            },
          ),
        );
  const dyq = padTo(s, dy, 0, 0, hq, wq);
  const offsets: { phase: number; off: number }[] = [];
  for (let kh = 0; kh < g.filterHeight; kh++) {
    for (let kw = 0; kw < g.filterWidth; kw++) {
      offsets.push({ phase: (kh % sh) * sw + (kw % sw), off: Math.floor(kh / sh) * wq + Math.floor(kw / sw) });
    }
  }
  return { phases, dy: s.reshape(dyq, [rows, co]), rows, maxOff, offsets };
}

/** Per tap: dyᵀ shifted by `off` (one PadV2) times the phase: [Cout, Cin]; then stack and transpose. */
function filterGradPerTap(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = g;
  const r = shiftedRows(s, x, dy, g);
  const dyT = s.transpose(r.dy, [1, 0]); // [Cout, R]
  const parts = r.offsets.map(({ phase, off }) => {
    const shifted =
      r.maxOff === 0
        ? dyT
        : s.run(
            'PadV2',
            { x: dyT },
            {
              paddings: [
                [0, 0],
                [off, r.maxOff - off],
              ],
              constantValue: 0,
            },
          );
    return s.matMul(shifted, r.phases[phase]); // [Cout, Cin]
  });
  const stacked = parts.length === 1 ? parts[0] : s.run('Concat', parts, { axis: 0 }); // [T·Cout, Cin]
  return s.reshape(s.transpose(s.reshape(stacked, [kh * kw, co, ci]), [0, 2, 1]), [kh, kw, ci, co]);
}

/**
 * im2col, transposed: the phases transposed to [Cin, R + maxOff] and shifted the other
 * way (PadV2 by maxOff − off in front), stacked along rows (Concat on axis 0 is one block
 * copy per tap) → [T·Cin, R + maxOff]; one product with dy padded by maxOff rows in front
 * gives [T·Cin, Cout], already the filter's layout.
 */
function filterGradIm2col(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = g;
  const r = shiftedRows(s, x, dy, g);
  const phasesT = r.phases.map((p) => s.transpose(p, [1, 0])); // [Cin, R + maxOff]
  const cols = r.offsets.map(({ phase, off }) =>
    r.maxOff === 0
      ? phasesT[phase]
      : s.run(
          'PadV2',
          { x: phasesT[phase] },
          {
            paddings: [
              [0, 0],
              [r.maxOff - off, off],
            ],
            constantValue: 0,
          },
        ),
  ); // [Cin, R + 2·maxOff]: column c holds phase row c − (maxOff − off)
  const colsT = cols.length === 1 ? cols[0] : s.run('Concat', cols, { axis: 0 }); // [T·Cin, R + 2·maxOff]
  const dyP =
    r.maxOff === 0
      ? r.dy
      : s.run(
          'PadV2',
          { x: r.dy },
          {
            paddings: [
              [r.maxOff, r.maxOff],
              [0, 0],
            ],
            constantValue: 0,
          },
        );
  return s.reshape(s.matMul(colsT, dyP), [kh, kw, ci, co]);
}

function filterGradConv3d(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  // padded to exactly the rows and columns read, then 'valid'
  const rows = (g.outHeight - 1) * g.strideHeight + g.filterHeight;
  const cols = (g.outWidth - 1) * g.strideWidth + g.filterWidth;
  const xp = padTo(s, x, g.top, g.left, rows, cols);
  const ci = g.inChannels;
  const x5 = s.reshape(xp, [g.batch, 1, rows, cols, ci]);
  const dy5 = s.reshape(dy, [g.batch, 1, g.outHeight, g.outWidth, g.outChannels]);
  const dw5 = s.run(
    'Conv3DBackpropFilterV2',
    { x: x5, dy: dy5 },
    {
      strides: [1, g.strideHeight, g.strideWidth],
      pad: 'valid',
      filterShape: [1, g.filterHeight, g.filterWidth, ci, g.outChannels],
    },
  );
  return s.reshape(dw5, [g.filterHeight, g.filterWidth, ci, g.outChannels]);
}

const VARIANT_KERNELS: Record<Conv2DBackpropFilterVariant, tf.KernelConfig['kernelFunc']> = {
  conv: conv2DBackpropFilterWasm,
  'per-tap': conv2DBackpropFilterKernel(withPointwise(filterGradPerTap)),
  im2col: conv2DBackpropFilterKernel(withPointwise(filterGradIm2col)),
  // wasm's Conv3DBackpropFilterV2 gives wrong results for strides > 1 (tfjs-backend-wasm 4.22)
  conv3d: conv2DBackpropFilterKernel((s, x, dy, g) =>
    g.strideHeight === 1 && g.strideWidth === 1 ? filterGradConv3d(s, x, dy, g) : filterGradDefault(s, x, dy, g),
  ),
};

let variant: Conv2DBackpropFilterVariant = 'conv';

/** Makes wasm's Conv2DBackpropFilter kernel compute with `next` ('conv' is training's). */
export function setConv2DBackpropFilterVariant(next: Conv2DBackpropFilterVariant): void {
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) throw new Error("conv-grad-variants: register the training kernels first (prepareBackend('wasm'))");
  tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: VARIANT_KERNELS[next] });
  variant = next;
}

export function getConv2DBackpropFilterVariant(): Conv2DBackpropFilterVariant {
  return variant;
}
