/**
 * Kernels that training needs and @tensorflow/tfjs-backend-wasm 4.x lacks, composed from
 * wasm's own kernels (so all arithmetic runs in the wasm module; XNNPACK does the products).
 *
 * A survey of the gradients of the UNet's ops on wasm (see bench/conv-grad.bench.ts and
 * test/wasm-kernels.test.ts) found these missing:
 *
 *   Conv2DBackpropFilter  the filter gradient of every conv2d
 *   UnsortedSegmentSum    the gradient of gather (an embedding lookup)
 *
 * and one that gives wrong results, which is wrapped (see "Fixes" below):
 *
 *   OneHot                ignores dtype: a float32 one-hot reads as 1.4e-45 instead of 1
 *
 * Conv2DBackpropFilter, NHWC (NCHW is transposed to NHWC first), dilation 1 (tfjs's Conv2D
 * gradient rejects other dilations anyway):
 *
 *   dW[kh, kw] = Σ_{b,i,j} xpad[b, i·sh + kh, j·sw + kw, :]ᵀ · dy[b, i, j, :]
 *
 * Default formulation ('conv'): the filter gradient IS a forward convolution, which wasm
 * runs in XNNPACK — with the batch as the channel axis,
 *   dW[kh, kw, ci, co] = conv2d(xᵀ [Cin, H, W, B], dyᵀ [Ho, Wo, B, Cout])[ci, kh, kw, co]
 * (same padding as the original, dilation = the original stride): two Transposes in, one
 * Conv2D, one small Transpose out. A 1×1 stride-1 filter is one product (dyᵀ·x)ᵀ instead.
 *
 * Kept for the benchmark (bench/conv-grad.bench.ts), all correct, none faster:
 *   'per-tap'  one XNNPACK product per tap, dyᵀ shifted (PadV2) · the flat padded input;
 *   'im2col'   the shifted inputs stacked into [KH·KW·Cin, R] (PadV2 + Concat on axis 0),
 *              one product;
 *   'conv3d'   wasm's native Conv3DBackpropFilterV2 with depth 1: a naive loop, 10–30×
 *              slower, and wrong for strides > 1 in 4.22 (other strides use 'conv').
 * Products are kept plain (untransposed, batch 1): that is the form wasm's BatchMatMul
 * hands to XNNPACK; a transposed operand takes its naive loop (≈25× slower). Windows are
 * never cut with Slice/StridedSlice/GatherV2: tfjs-wasm's Slice copies its WHOLE input on
 * every call (backend.readSync) and its StridedSlice and GatherV2 move one element at a time.
 *
 * UnsortedSegmentSum(x [N, …], ids [N]) = oneHot(ids, S)ᵀ · x: OneHot, Transpose, one
 * product. Ids outside [0, S) contribute nothing (as in TensorFlow). A non-finite value in
 * x spreads NaN to every segment (0·∞), which only matters once training has diverged.
 *
 * Every intermediate TensorInfo is released with backend.disposeData (Reshape shares its
 * input's data and counts a reference, so releasing a reshape is always right).
 */
import * as tf from '@tensorflow/tfjs-core';

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];

/** The part of the wasm backend these kernels use. */
export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}

export type Conv2DBackpropFilterVariant = 'per-tap' | 'im2col' | 'conv' | 'conv3d';

/**
 * The kernels {@link registerWasmTrainingKernels} provides, in registration order: two that
 * wasm lacks, and a wrapper of one that it gets wrong.
 */
export const WASM_TRAINING_KERNELS = ['Conv2DBackpropFilter', 'UnsortedSegmentSum', 'OneHot'] as const;

let conv2DBackpropFilterVariant: Conv2DBackpropFilterVariant = 'conv';

/** Chooses the Conv2DBackpropFilter formulation (for benchmarks; the default is the fastest). */
export function setConv2DBackpropFilterVariant(variant: Conv2DBackpropFilterVariant): void {
  conv2DBackpropFilterVariant = variant;
}

export function getConv2DBackpropFilterVariant(): Conv2DBackpropFilterVariant {
  return conv2DBackpropFilterVariant;
}

/**
 * Runs wasm kernels on TensorInfos and remembers every result, so that one `release()`
 * frees all intermediates; `keep` takes a result out of that list (the kernel's output).
 */
export class KernelScope {
  private readonly temps: tf.TensorInfo[] = [];
  constructor(private readonly backend: WasmBackendLike) {}

  run(name: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: object = {}): tf.TensorInfo {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`flow-train: the wasm backend has no ${name} kernel`);
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      attrs: attrs as tf.NamedAttrMap,
      backend: this.backend as unknown as tf.KernelBackend,
    });
    if (Array.isArray(out)) throw new Error(`flow-train: wasm ${name} returned several outputs`);
    this.temps.push(out);
    return out;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** A plain product a · b (no transposes: the form wasm hands to XNNPACK). */
  matMul(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  }

  /** Takes a TensorInfo made outside `run` into the scope (it is released with the rest). */
  adopt(t: tf.TensorInfo): tf.TensorInfo {
    this.temps.push(t);
    return t;
  }

  keep(t: tf.TensorInfo): tf.TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    return t;
  }

  release(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A kernelFunc that runs `body` in a KernelScope and frees everything but its result. */
function scoped(body: (s: KernelScope, args: KernelArgs) => tf.TensorInfo): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const s = new KernelScope(args.backend as unknown as WasmBackendLike);
    try {
      return s.keep(body(s, args));
    } finally {
      s.release();
    }
  };
}

// ---------------------------------------------------------------------------------------
// Conv2DBackpropFilter

interface FilterGradGeometry {
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

function filterGradGeometry(x: tf.TensorInfo, dy: tf.TensorInfo, attrs: tf.Conv2DBackpropFilterAttrs): FilterGradGeometry {
  const { strides, pad, dimRoundingMode, filterShape } = attrs;
  const dilations = (attrs as unknown as { dilations?: number | number[] }).dilations;
  if (dilations !== undefined && ![dilations].flat().every((d) => d === 1)) {
    throw new Error(`flow-train: wasm Conv2DBackpropFilter supports dilation 1 only, got dilations ${JSON.stringify(dilations)}`);
  }
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new Error(`flow-train: wasm Conv2DBackpropFilter expects rank-4 x and dy, got ${JSON.stringify(x.shape)} and ${JSON.stringify(dy.shape)}`);
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
      `flow-train: wasm Conv2DBackpropFilter: dy ${JSON.stringify(dy.shape)} does not match the convolution's output ` +
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
  const phases = maxOff === 0 ? flat : flat.map((f) => s.run('PadV2', { x: f }, { paddings: [[0, maxOff], [0, 0]], constantValue: 0 }));
  const dyq = padTo(s, dy, 0, 0, hq, wq);
  const offsets: { phase: number; off: number }[] = [];
  for (let kh = 0; kh < g.filterHeight; kh++) {
    for (let kw = 0; kw < g.filterWidth; kw++) {
      offsets.push({ phase: (kh % sh) * sw + (kw % sw), off: Math.floor(kh / sh) * wq + Math.floor(kw / sw) });
    }
  }
  return { phases, dy: s.reshape(dyq, [rows, co]), rows, maxOff, offsets };
}

/** 1×1, stride 1, no padding: dW = (dyᵀ·x)ᵀ, one product and no windows. */
const isPointwise = (g: FilterGradGeometry) =>
  g.filterHeight === 1 && g.filterWidth === 1 && g.strideHeight === 1 && g.strideWidth === 1 && g.top === 0 && g.left === 0 && g.outHeight === g.inHeight && g.outWidth === g.inWidth;

function filterGradPointwise(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const n = g.batch * g.outHeight * g.outWidth;
  const dyT = s.transpose(s.reshape(dy, [n, g.outChannels]), [1, 0]); // [Cout, N]
  const dwT = s.matMul(dyT, s.reshape(x, [n, g.inChannels])); // [Cout, Cin]
  return s.reshape(s.transpose(dwT, [1, 0]), [1, 1, g.inChannels, g.outChannels]);
}

/** Per tap: dyᵀ shifted by `off` (one PadV2) times the phase: [Cout, Cin]; then stack and transpose. */
function filterGradPerTap(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = g;
  const r = shiftedRows(s, x, dy, g);
  const dyT = s.transpose(r.dy, [1, 0]); // [Cout, R]
  const parts = r.offsets.map(({ phase, off }) => {
    const shifted = r.maxOff === 0 ? dyT : s.run('PadV2', { x: dyT }, { paddings: [[0, 0], [off, r.maxOff - off]], constantValue: 0 });
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
    r.maxOff === 0 ? phasesT[phase] : s.run('PadV2', { x: phasesT[phase] }, { paddings: [[0, 0], [r.maxOff - off, off]], constantValue: 0 }),
  ); // [Cin, R + 2·maxOff]: column c holds phase row c − (maxOff − off)
  const colsT = cols.length === 1 ? cols[0] : s.run('Concat', cols, { axis: 0 }); // [T·Cin, R + 2·maxOff]
  const dyP = r.maxOff === 0 ? r.dy : s.run('PadV2', { x: r.dy }, { paddings: [[r.maxOff, r.maxOff], [0, 0]], constantValue: 0 });
  return s.reshape(s.matMul(colsT, dyP), [kh, kw, ci, co]);
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

function filterGradConv3d(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  // padded to exactly the rows and columns read, then 'valid'
  const rows = (g.outHeight - 1) * g.strideHeight + g.filterHeight;
  const cols = (g.outWidth - 1) * g.strideWidth + g.filterWidth;
  const xp = padTo(s, x, g.top, g.left, rows, cols);
  const ci = g.inChannels;
  const x5 = s.reshape(xp, [g.batch, 1, rows, cols, ci]);
  const dy5 = s.reshape(dy, [g.batch, 1, g.outHeight, g.outWidth, g.outChannels]);
  const dw5 = s.run('Conv3DBackpropFilterV2', { x: x5, dy: dy5 }, {
    strides: [1, g.strideHeight, g.strideWidth],
    pad: 'valid',
    filterShape: [1, g.filterHeight, g.filterWidth, ci, g.outChannels],
  });
  return s.reshape(dw5, [g.filterHeight, g.filterWidth, ci, g.outChannels]);
}

/** The wasm Conv2DBackpropFilter kernel function (exported for tests and benchmarks). */
export const conv2DBackpropFilterWasm = scoped((s, { inputs, attrs }) => {
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  let x = inputs.x as tf.TensorInfo;
  let dy = inputs.dy as tf.TensorInfo;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`flow-train: wasm Conv2DBackpropFilter needs float32 x and dy, got ${x.dtype} and ${dy.dtype}`);
  }
  if (a.dataFormat === 'NCHW') {
    x = s.transpose(x, [0, 2, 3, 1]);
    dy = s.transpose(dy, [0, 2, 3, 1]);
  } else if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
    throw new Error(`flow-train: wasm Conv2DBackpropFilter: unknown dataFormat ${String(a.dataFormat)}`);
  }
  const g = filterGradGeometry(x, dy, a);
  if (sizeOf(dy.shape) === 0 || sizeOf(x.shape) === 0) {
    return s.run('Fill', {}, { shape: a.filterShape, value: 0, dtype: 'float32' });
  }
  const variant = conv2DBackpropFilterVariant;
  const unitStride = g.strideHeight === 1 && g.strideWidth === 1;
  // wasm's Conv3DBackpropFilterV2 gives wrong results for strides > 1 (tfjs-backend-wasm 4.22)
  if (variant === 'conv3d' && unitStride) return filterGradConv3d(s, x, dy, g);
  if (isPointwise(g)) return filterGradPointwise(s, x, dy, g);
  if (variant === 'per-tap') return filterGradPerTap(s, x, dy, g);
  if (variant === 'im2col') return filterGradIm2col(s, x, dy, g);
  return filterGradConv(s, x, dy, g);
});

// ---------------------------------------------------------------------------------------
// UnsortedSegmentSum

/** The wasm UnsortedSegmentSum kernel function (exported for tests). */
export const unsortedSegmentSumWasm = scoped((s, { inputs, attrs }) => {
  const x = inputs.x as tf.TensorInfo;
  const segmentIds = inputs.segmentIds as tf.TensorInfo;
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const idRank = segmentIds.shape.length;
  if (x.shape.slice(0, idRank).join(',') !== segmentIds.shape.join(',')) {
    throw new Error(`flow-train: wasm UnsortedSegmentSum: segmentIds ${JSON.stringify(segmentIds.shape)} must be a prefix of x ${JSON.stringify(x.shape)}`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`flow-train: wasm UnsortedSegmentSum: unsupported dtype ${x.dtype}`);
  const n = sizeOf(segmentIds.shape);
  const inner = x.shape.slice(idRank);
  const d = sizeOf(inner);
  const outShape = [numSegments, ...inner];
  if (n === 0 || d === 0 || numSegments === 0) return s.run('Fill', {}, { shape: outShape, value: 0, dtype: x.dtype });
  let ids = s.reshape(segmentIds, [n]);
  if (ids.dtype !== 'int32') ids = s.run('Cast', { x: ids }, { dtype: 'int32' });
  // int32, then Cast: wasm's own OneHot writes int32 whatever dtype it is asked for
  const oneHot = s.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' }); // [N, S]
  const oneHotT = s.run('Cast', { x: s.transpose(oneHot, [1, 0]) }, { dtype: 'float32' }); // [S, N]
  let x2 = s.reshape(x, [n, d]);
  if (x2.dtype !== 'float32') x2 = s.run('Cast', { x: x2 }, { dtype: 'float32' });
  let out = s.matMul(oneHotT, x2); // [S, D]
  if (x.dtype === 'int32') out = s.run('Cast', { x: out }, { dtype: 'int32' });
  return s.reshape(out, outShape);
});

// ---------------------------------------------------------------------------------------
// Fixes: wrappers of wasm kernels that give wrong results

/** Marks a wrapper, so that registering twice is recognised. */
const FIXED = Symbol('flow-train wasm kernel fix');
type Fix = (original: tf.KernelConfig['kernelFunc']) => tf.KernelConfig['kernelFunc'];

/**
 * OneHot: tfjs-backend-wasm 4.22 ignores `dtype` and always writes int32 bits, so
 * tf.oneHot(ids, n, 1, 0, 'float32') reads as 1.4e-45 instead of 1 (and a fractional
 * onValue would be truncated). For other dtypes: a 0/1 int32 one-hot from the original,
 * Cast, then · (on − off) + off.
 */
const oneHotFix: Fix = (original) => (args: KernelArgs) => {
  const attrs = args.attrs as unknown as tf.OneHotAttrs;
  if (attrs.dtype === 'int32' || attrs.dtype === undefined) return original(args);
  const s = new KernelScope(args.backend as unknown as WasmBackendLike);
  try {
    const bits = s.adopt(original({ ...args, attrs: { ...attrs, dtype: 'int32', onValue: 1, offValue: 0 } as unknown as tf.NamedAttrMap }) as tf.TensorInfo);
    let out = s.run('Cast', { x: bits }, { dtype: attrs.dtype });
    const on = attrs.onValue ?? 1;
    const off = attrs.offValue ?? 0;
    if (on - off !== 1) out = s.run('Multiply', { a: out, b: s.run('Fill', {}, { shape: [], value: on - off, dtype: attrs.dtype }) });
    if (off !== 0) out = s.run('Add', { a: out, b: s.run('Fill', {}, { shape: [], value: off, dtype: attrs.dtype }) });
    return s.keep(out);
  } finally {
    s.release();
  }
};

const FIXES: Record<'OneHot', Fix> = {
  OneHot: oneHotFix,
};

function registerFix(name: keyof typeof FIXES): boolean {
  return tf.getKernel(name, 'wasm') !== undefined && wrapWasmKernel(name, FIXES[name]);
}

/**
 * Replaces wasm's kernel `name` by `make(original)` (idempotent: a kernel already wrapped
 * this way is left alone). Returns whether this call replaced it.
 */
export function wrapWasmKernel(name: string, make: Fix): boolean {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`flow-train: the wasm backend has no ${name} kernel to wrap`);
  if ((kernel.kernelFunc as unknown as Record<symbol, boolean>)[FIXED]) return false;
  const fixed = make(kernel.kernelFunc);
  (fixed as unknown as Record<symbol, boolean>)[FIXED] = true;
  tf.unregisterKernel(name, 'wasm');
  // keep the original's setupFunc: it binds the wasm function the original kernelFunc calls
  tf.registerKernel({ ...kernel, kernelFunc: fixed });
  return true;
}

// ---------------------------------------------------------------------------------------

const KERNELS: Record<'Conv2DBackpropFilter' | 'UnsortedSegmentSum', tf.KernelConfig['kernelFunc']> = {
  Conv2DBackpropFilter: conv2DBackpropFilterWasm,
  UnsortedSegmentSum: unsortedSegmentSumWasm,
};

/**
 * Registers, for the 'wasm' backend, each kernel of {@link WASM_TRAINING_KERNELS} that it
 * lacks, and wraps wasm's OneHot (see FIXES). Idempotent: returns the names
 * registered by this call (none the second time, or when a future tfjs-backend-wasm brings
 * its own Conv2DBackpropFilter / UnsortedSegmentSum).
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const name of WASM_TRAINING_KERNELS) {
    if (name === 'OneHot') {
      if (registerFix(name)) registered.push(name);
      continue;
    }
    if (tf.getKernel(name, 'wasm')) continue;
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: KERNELS[name] });
    registered.push(name);
  }
  return registered;
}
