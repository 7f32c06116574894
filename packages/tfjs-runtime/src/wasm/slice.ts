/**
 * Faster Slice and SplitV for the wasm backend. tfjs-backend-wasm 4.x implements both in
 * JavaScript after `readSync` of the whole input, a full copy per output: splitting a
 * tensor in k parts costs k full copies, and every concatenation's gradient is a split.
 * These kernels copy only the requested block, straight between views of the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFix } from './wrap.js';

type KernelFunc = tf.KernelConfig['kernelFunc'];
interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

/** Copies the block `begin`/`size` of a C-order array of `shape` into `dst` (C order). */
export function copyBlock(src: tf.TypedArray, shape: readonly number[], begin: readonly number[], size: readonly number[], dst: tf.TypedArray): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return;
  }
  // merge the trailing dimensions that are taken whole into one contiguous run
  let inner = 1;
  let d = rank - 1;
  while (d > 0 && begin[d] === 0 && size[d] === shape[d]) {
    inner *= shape[d];
    d--;
  }
  const run = size[d] * inner;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  const outer = size.slice(0, d);
  const count = outer.reduce((a, b) => a * b, 1);
  const index = new Array<number>(d).fill(0);
  let out = 0;
  for (let n = 0; n < count; n++) {
    let offset = begin[d] * strides[d];
    for (let i = 0; i < d; i++) offset += (begin[i] + index[i]) * strides[i];
    dst.set(src.subarray(offset, offset + run), out);
    out += run;
    for (let i = d - 1; i >= 0; i--) {
      if (++index[i] < outer[i]) break;
      index[i] = 0;
    }
  }
}

function sliceBlock(backend: WasmLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (size.every((s) => s > 0)) {
    // views after makeOutput, which may grow (and move) the heap
    copyBlock(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  }
  return out;
}

/** Slice copying only the block, inside the wasm heap (registered from ./kernels.ts). */
export const fastSlice: KernelFix =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs!.begin as number[], attrs!.size as number[]);
    return sliceBlock(backend as unknown as WasmLike, x, begin, size);
  };

/** SplitV copying only each block, inside the wasm heap (registered from ./kernels.ts). */
export const fastSplitV: KernelFix = (original: KernelFunc): KernelFunc =>
  ((args: Parameters<KernelFunc>[0]) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[$axis] = s;
      const out = sliceBlock(backend as unknown as WasmLike, x, [...begin], size);
      begin[$axis] += s;
      return out;
    });
  }) as KernelFunc;
