/**
 * Kernels that training needs and @tensorflow/tfjs-backend-wasm 4.x lacks, composed from
 * wasm's own kernels (so all arithmetic runs in the wasm module; XNNPACK does the products).
 *
 * A survey of the gradients of the UNet's ops on wasm (see bench/conv-grad.bench.ts and
 * test/wasm-kernels.test.ts) found these missing:
 *
 *   Conv2DBackpropFilter  the filter gradient of every conv2d  (wasm-kernels/conv2d-backprop-filter.ts)
 *   UnsortedSegmentSum    the gradient of gather (an embedding lookup)  (wasm-kernels/unsorted-segment-sum.ts)
 *
 * and one that gives wrong results, which is wrapped:
 *
 *   OneHot                ignores dtype: a float32 one-hot reads as 1.4e-45 instead of 1  (wasm-kernels/one-hot.ts)
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterWasm } from './wasm-kernels/conv2d-backprop-filter.js';
import { oneHotFix } from './wasm-kernels/one-hot.js';
import { unsortedSegmentSumWasm } from './wasm-kernels/unsorted-segment-sum.js';
import { wrapWasmKernel, type KernelFix } from './wasm-kernels/wrap.js';

export { conv2DBackpropFilterWasm } from './wasm-kernels/conv2d-backprop-filter.js';
export { KernelScope, type WasmBackendLike } from './wasm-kernels/scope.js';
export { unsortedSegmentSumWasm } from './wasm-kernels/unsorted-segment-sum.js';
export { wrapWasmKernel, type KernelFix } from './wasm-kernels/wrap.js';

/** A kernel wasm lacks (registered when still missing), or a fix wrapping wasm's own. */
type WasmTrainingKernel = { kernelName: string; kernelFunc: tf.KernelConfig['kernelFunc'] } | { kernelName: string; fix: KernelFix };

/** In registration order. */
const KERNELS = [
  { kernelName: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilterWasm },
  { kernelName: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSumWasm },
  { kernelName: 'OneHot', fix: oneHotFix },
] as const satisfies readonly WasmTrainingKernel[];

/** The kernels {@link registerWasmTrainingKernels} provides, in registration order. */
export const WASM_TRAINING_KERNELS: readonly (typeof KERNELS)[number]['kernelName'][] = KERNELS.map((k) => k.kernelName);

/**
 * Registers, for the 'wasm' backend, each kernel of {@link WASM_TRAINING_KERNELS} that it
 * lacks, and wraps the ones it gets wrong. Idempotent: returns the names registered by this
 * call (none the second time, or when a future tfjs-backend-wasm brings its own
 * Conv2DBackpropFilter / UnsortedSegmentSum).
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const kernel of KERNELS as readonly WasmTrainingKernel[]) {
    const name = kernel.kernelName;
    const present = tf.getKernel(name, 'wasm') !== undefined;
    if ('fix' in kernel) {
      if (present && wrapWasmKernel(name, kernel.fix)) registered.push(name);
    } else if (!present) {
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernel.kernelFunc });
      registered.push(name);
    }
  }
  return registered;
}
