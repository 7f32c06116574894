/**
 * Conv2DBackpropFilter (the filter gradient of every conv2d), which wasm lacks. NHWC (NCHW
 * is transposed to NHWC first), dilation 1 (tfjs's Conv2D gradient rejects other
 * dilations anyway):
 *
 *   dW[kh, kw] = Σ_{b,i,j} xpad[b, i·sh + kh, j·sw + kw, :]ᵀ · dy[b, i, j, :]
 *
 * The filter gradient IS a forward convolution, which wasm runs in XNNPACK — with the batch
 * as the channel axis,
 *
 *   dW[kh, kw, ci, co] = conv2d(xᵀ [Cin, H, W, B], dyᵀ [Ho, Wo, B, Cout])[ci, kh, kw, co]
 *
 * (same padding as the original, dilation = the original stride): two Transposes in, one
 * Conv2D, one small Transpose out. A 1×1 stride-1 filter is one product (dyᵀ·x)ᵀ instead.
 *
 * Products are kept plain (untransposed, batch 1): that is the form wasm's BatchMatMul
 * hands to XNNPACK; a transposed operand takes its naive loop (≈25× slower). Windows are
 * never cut with Slice/StridedSlice/GatherV2: tfjs-wasm's Slice copies its WHOLE input on
 * every call (backend.readSync) and its StridedSlice and GatherV2 move one element at a time.
 *
 * Other formulations (all correct, none faster) are in bench/conv-grad-variants.ts and
 * plug into {@link conv2DBackpropFilterKernel}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { scoped, sizeOf, type KernelScope } from './scope.js';

export interface FilterGradGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  strideHeight: number;
  strideWidth: number;
  filterHeight: number;
  filterWidth: number;
  top: number;
  left: number;
}

/** dW [KH, KW, Cin, Cout] from NHWC x and dy, both non-empty float32. */
export type FilterGradFormulation = (s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry) => tf.TensorInfo;

function filterGradGeometry(x: tf.TensorInfo, dy: tf.TensorInfo, attrs: tf.Conv2DBackpropFilterAttrs): FilterGradGeometry {
  const { strides, pad, dimRoundingMode, filterShape } = attrs;
  const dilations = (attrs as unknown as { dilations?: number | number[] }).dilations;
  if (dilations !== undefined && ![dilations].flat().every((d) => d === 1)) {
    throw new Error(`tfjs-runtime: wasm Conv2DBackpropFilter supports dilation 1 only, got dilations ${JSON.stringify(dilations)}`);
  }
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new Error(`tfjs-runtime: wasm Conv2DBackpropFilter expects rank-4 x and dy, got ${JSON.stringify(x.shape)} and ${JSON.stringify(dy.shape)}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const [b, ho, wo, co] = dy.shape;
  if (b !== info.batchSize || ho !== info.outHeight || wo !== info.outWidth || co !== info.outChannels) {
    throw new Error(
      `tfjs-runtime: wasm Conv2DBackpropFilter: dy ${JSON.stringify(dy.shape)} does not match the convolution's output ` +
        `[${info.batchSize},${info.outHeight},${info.outWidth},${info.outChannels}]`,
    );
  }
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** 1×1, stride 1, no padding: dW = (dyᵀ·x)ᵀ, one product and no windows. */
const isPointwise = (g: FilterGradGeometry) =>
  g.filterHeight === 1 &&
  g.filterWidth === 1 &&
  g.strideHeight === 1 &&
  g.strideWidth === 1 &&
  g.top === 0 &&
  g.left === 0 &&
  g.outHeight === g.inHeight &&
  g.outWidth === g.inWidth;

function filterGradPointwise(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const n = g.batch * g.outHeight * g.outWidth;
  const dyT = s.transpose(s.reshape(dy, [n, g.outChannels]), [1, 0]); // [Cout, N]
  const dwT = s.matMul(dyT, s.reshape(x, [n, g.inChannels])); // [Cout, Cin]
  return s.reshape(s.transpose(dwT, [1, 0]), [1, 1, g.inChannels, g.outChannels]);
}

/** A formulation for the filters that are not 1×1 stride 1; those take the single product. */
export function withPointwise(general: FilterGradFormulation): FilterGradFormulation {
  return (s, x, dy, g) => (isPointwise(g) ? filterGradPointwise(s, x, dy, g) : general(s, x, dy, g));
}

/**
 * As a forward convolution, which wasm runs in XNNPACK: with the batch as channels,
 * dW[kh, kw, ci, co] = conv2d(xᵀ [Cin, H, W, B], dyᵀ [Ho, Wo, B, Cout]) at [ci, kh, kw, co],
 * padded like the original and dilated by the original stride.
 */
function filterGradConv(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const rows = (g.outHeight - 1) * sh + kh;
  const cols = (g.outWidth - 1) * sw + kw;
  let xc = x;
  if (g.inHeight + g.top > rows || g.inWidth + g.left > cols) {
    // rows or columns the filter never reads: crop them (padding stays with Conv2D)
    const h = Math.min(g.inHeight, rows - g.top);
    const w = Math.min(g.inWidth, cols - g.left);
    xc = s.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [g.batch, h, w, g.inChannels] });
  }
  const [, h, w] = xc.shape;
  const xT = s.transpose(xc, [3, 1, 2, 0]); // [Cin, H, W, B]
  const dyT = s.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, B, Cout]
  const pad = [
    [0, 0],
    [g.top, rows - h - g.top],
    [g.left, cols - w - g.left],
    [0, 0],
  ];
  const out = s.run('Conv2D', { x: xT, filter: dyT }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined });
  return s.transpose(out, [1, 2, 0, 3]); // [Cin, KH, KW, Cout] → [KH, KW, Cin, Cout]
}

/** What training uses: the single product for pointwise filters, else the convolution. */
export const filterGradDefault: FilterGradFormulation = withPointwise(filterGradConv);

/**
 * A Conv2DBackpropFilter kernel function computing with `formulation`: the inputs are
 * checked, NCHW made NHWC, and an empty input gives a zero filter before it is called.
 */
export function conv2DBackpropFilterKernel(formulation: FilterGradFormulation): tf.KernelConfig['kernelFunc'] {
  return scoped((s, { inputs, attrs }) => {
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    let x = inputs.x as tf.TensorInfo;
    let dy = inputs.dy as tf.TensorInfo;
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
      throw new Error(`tfjs-runtime: wasm Conv2DBackpropFilter needs float32 x and dy, got ${x.dtype} and ${dy.dtype}`);
    }
    if (a.dataFormat === 'NCHW') {
      x = s.transpose(x, [0, 2, 3, 1]);
      dy = s.transpose(dy, [0, 2, 3, 1]);
    } else if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
      throw new Error(`tfjs-runtime: wasm Conv2DBackpropFilter: unknown dataFormat ${String(a.dataFormat)}`);
    }
    const g = filterGradGeometry(x, dy, a);
    if (sizeOf(dy.shape) === 0 || sizeOf(x.shape) === 0) {
      return s.run('Fill', {}, { shape: a.filterShape, value: 0, dtype: 'float32' });
    }
    return formulation(s, x, dy, g);
  });
}

/** The wasm Conv2DBackpropFilter kernel function (exported for tests and benchmarks). */
export const conv2DBackpropFilterWasm = conv2DBackpropFilterKernel(filterGradDefault);
