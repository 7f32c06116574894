/**
 * A faster BatchMatMul for the wasm backend. tfjs-backend-wasm 4.x sends a product to
 * XNNPACK only when it is a single matrix product without transposes; a transposed operand
 * or a batch > 1 falls back to a naive loop that is 10–30× slower (flow-train's
 * bench/train.bench.ts times training with and without it). Matrix-product gradients always use transposes, and attention
 * uses batches, so training would spend most of its time there.
 *
 * This kernel wraps the original: transposed operands are materialised with wasm's
 * Transpose kernel, and batches run as one XNNPACK product per matrix (a broadcast operand
 * is reused). The arithmetic per output element is XNNPACK's either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './scope.js';
import type { KernelFix } from './wrap.js';

type KernelFunc = tf.KernelConfig['kernelFunc'];
interface WasmHeap extends WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * Matrix `index` of a [batch, rows, cols] tensor as a new [1, rows, cols] tensor, copied
 * straight from the wasm heap (wasm's Slice kernel first copies the whole input to JS).
 */
function matrixAt(x: tf.TensorInfo, index: number, rows: number, cols: number, wasm: WasmHeap): tf.TensorInfo {
  const out = wasm.makeOutput([1, rows, cols], 'float32');
  // views are taken after makeOutput, which may grow (and move) the heap
  const src = wasm.typedArrayFromHeap(x);
  wasm.typedArrayFromHeap(out).set(src.subarray(index * rows * cols, (index + 1) * rows * cols));
  return out;
}

/** BatchMatMul by XNNPACK products only (registered from ./kernels.ts). */
export const fastBatchMatMul: KernelFix =
  (base: KernelFunc): KernelFunc =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const wasm = backend as unknown as WasmHeap;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const plain = (a: tf.TensorInfo, b: tf.TensorInfo) => base({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
    const s = new KernelScope(wasm);
    const transposeLast2 = (x: tf.TensorInfo) => {
      const rank = x.shape.length;
      const perm = [...Array(rank).keys()];
      [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
      return s.transpose(x, perm);
    };
    try {
      const a = transposeA ? transposeLast2(inputs.a as tf.TensorInfo) : (inputs.a as tf.TensorInfo);
      const b = transposeB ? transposeLast2(inputs.b as tf.TensorInfo) : (inputs.b as tf.TensorInfo);
      const ra = a.shape.length;
      const rb = b.shape.length;
      const [m, k] = a.shape.slice(ra - 2);
      const n = b.shape[rb - 1];
      const batchA = a.shape.slice(0, ra - 2).reduce((x, y) => x * y, 1);
      const batchB = b.shape.slice(0, rb - 2).reduce((x, y) => x * y, 1);
      const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, ra - 2), b.shape.slice(0, rb - 2));
      const batch = Math.max(batchA, batchB);
      const simpleBroadcast = (batchA === batch && (batchB === batch || batchB === 1)) || (batchB === batch && batchA === 1);
      if (batch === 1 || !simpleBroadcast) return plain(a, b);
      const a3 = s.reshape(a, [batchA, m, k]);
      const b3 = s.reshape(b, [batchB, k, n]);
      const parts: tf.TensorInfo[] = [];
      for (let i = 0; i < batch; i++) {
        const ai = batchA === 1 ? a3 : s.adopt(matrixAt(a3, i, m, k, wasm));
        const bi = batchB === 1 ? b3 : s.adopt(matrixAt(b3, i, k, n, wasm));
        parts.push(s.adopt(plain(ai, bi)));
      }
      // wasm's Concat reads its inputs as a list; Reshape shares the data and counts a reference
      return s.keep(s.reshape(s.run('Concat', parts, { axis: 0 }), [...outBatchShape, m, n]));
    } finally {
      s.release();
    }
  };
