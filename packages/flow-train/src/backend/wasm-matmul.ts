/**
 * A faster BatchMatMul for the wasm backend. tfjs-backend-wasm 4.x sends a product to
 * XNNPACK only when it is a single matrix product without transposes; a transposed operand
 * or a batch > 1 falls back to a naive loop that is 10–30× slower (measured in
 * bench/matmul.bench.ts). Matrix-product gradients always use transposes, and attention
 * uses batches, so training would spend most of its time there.
 *
 * This kernel wraps the original: transposed operands are materialised with wasm's
 * Transpose kernel, and batches run as one XNNPACK product per matrix (a broadcast operand
 * is reused). The arithmetic per output element is XNNPACK's either way.
 */
import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];
interface WasmLike {
  disposeData(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * Matrix `index` of a [batch, rows, cols] tensor as a new [1, rows, cols] tensor, copied
 * straight from the wasm heap (wasm's Slice kernel first copies the whole input to JS).
 */
function matrixAt(x: tf.TensorInfo, index: number, rows: number, cols: number, wasm: WasmLike): tf.TensorInfo {
  const out = wasm.makeOutput([1, rows, cols], 'float32');
  // views are taken after makeOutput, which may grow (and move) the heap
  const src = wasm.typedArrayFromHeap(x);
  wasm.typedArrayFromHeap(out).set(src.subarray(index * rows * cols, (index + 1) * rows * cols));
  return out;
}

let original: KernelFunc | undefined;

function run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, backend: WasmLike): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is missing`);
  return kernel.kernelFunc({ inputs, attrs, backend: backend as never }) as tf.TensorInfo;
}

function fastBatchMatMul(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const wasm = backend as unknown as WasmLike;
  const base = original!;
  let a = inputs.a as tf.TensorInfo;
  let b = inputs.b as tf.TensorInfo;
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  const temps: tf.TensorInfo[] = [];
  const transposeLast2 = (x: tf.TensorInfo) => {
    const rank = x.shape.length;
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    const out = run('Transpose', { x }, { perm }, wasm);
    temps.push(out);
    return out;
  };
  const reshape = (x: tf.TensorInfo, shape: number[]) => {
    const out = run('Reshape', { x }, { shape }, wasm);
    temps.push(out);
    return out;
  };
  try {
    if (transposeA) a = transposeLast2(a);
    if (transposeB) b = transposeLast2(b);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const [m, k] = a.shape.slice(ra - 2);
    const n = b.shape[rb - 1];
    const batchA = a.shape.slice(0, ra - 2).reduce((x, y) => x * y, 1);
    const batchB = b.shape.slice(0, rb - 2).reduce((x, y) => x * y, 1);
    const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, ra - 2), b.shape.slice(0, rb - 2));
    const batch = Math.max(batchA, batchB);
    const simpleBroadcast = batchA === batch && (batchB === batch || batchB === 1) || (batchB === batch && batchA === 1);
    if (batch === 1 || !simpleBroadcast) {
      const out = base({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
      return out;
    }
    const a3 = reshape(a, [batchA, m, k]);
    const b3 = reshape(b, [batchB, k, n]);
    const parts: tf.TensorInfo[] = [];
    for (let i = 0; i < batch; i++) {
      const ai = batchA === 1 ? a3 : matrixAt(a3, i, m, k, wasm);
      const bi = batchB === 1 ? b3 : matrixAt(b3, i, k, n, wasm);
      if (ai !== a3) temps.push(ai);
      if (bi !== b3) temps.push(bi);
      const part = base({ inputs: { a: ai, b: bi }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
      temps.push(part);
      parts.push(part);
    }
    // wasm's Concat reads its inputs as a list
    const joined = run('Concat', parts as unknown as tf.NamedTensorInfoMap, { axis: 0 }, wasm);
    temps.push(joined);
    // Reshape shares the data and counts a reference, so disposing `joined` leaves it alive
    return run('Reshape', { x: joined }, { shape: [...outBatchShape, m, n] }, wasm);
  } finally {
    for (const t of temps) wasm.disposeData(t.dataId);
  }
}

/** Replaces wasm's BatchMatMul with the faster wrapper (idempotent). Returns whether it did. */
export function registerFastWasmMatMul(): boolean {
  if (original) return false;
  const kernel = tf.getKernel('BatchMatMul', 'wasm');
  if (!kernel) throw new Error('the wasm backend has no BatchMatMul kernel to wrap');
  original = kernel.kernelFunc;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...kernel, kernelFunc: fastBatchMatMul as KernelFunc });
  return true;
}
