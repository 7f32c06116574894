/**
 * The wasm backend's kernels, one register list: those that training needs and
 * @tensorflow/tfjs-backend-wasm 4.x lacks, one it gets wrong, and some it has but runs much
 * slower than the same backend can. All are composed from wasm's own kernels, so the
 * arithmetic runs in the wasm module (XNNPACK does the products).
 *
 * A survey of the gradients of the UNet's ops on wasm (see bench/conv-grad.bench.ts and
 * test/wasm-kernels.test.ts) found these missing:
 *
 *   Conv2DBackpropFilter  the filter gradient of every conv2d  (./conv2d-backprop-filter.ts)
 *   UnsortedSegmentSum    the gradient of gather (an embedding lookup)  (./unsorted-segment-sum.ts)
 *
 * and one that gives wrong results, which is wrapped:
 *
 *   OneHot                ignores dtype: a float32 one-hot reads as 1.4e-45 instead of 1  (./one-hot.ts)
 *
 * Replaced for speed (the original stays as the fallback; flow-train's bench/train.bench.ts
 * times the training step they serve):
 *
 *   BatchMatMul           transposes or batches took a naive loop  (./batch-mat-mul.ts)
 *   Conv2DBackpropInput   a naive loop; for stride 1 a forward convolution  (./conv2d-backprop-input.ts)
 *   Slice, SplitV         copied the whole input to JavaScript per output  (./slice.ts)
 */
import * as tf from '@tensorflow/tfjs-core';
import { fastBatchMatMul } from './batch-mat-mul.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { convBackpropInputAsConv } from './conv2d-backprop-input.js';
import { oneHotFix } from './one-hot.js';
import { fastSlice, fastSplitV } from './slice.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';
import { wrapWasmKernel, type KernelFix } from './wrap.js';

export { conv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
export { KernelScope, type WasmBackendLike } from './scope.js';
export { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';
export { wrapWasmKernel, type KernelFix } from './wrap.js';

/**
 * One entry of the list: `training` — a kernel wasm lacks (registered when still missing) or
 * a fix wrapping one it gets wrong; `faster` — a faster wrapper of one wasm has.
 */
type WasmKernel =
  { kernelName: string; role: 'training'; kernelFunc: tf.KernelConfig['kernelFunc'] } | { kernelName: string; role: 'training' | 'faster'; fix: KernelFix };

/** The one register list, in registration order. */
const WASM_KERNELS = [
  { kernelName: 'Conv2DBackpropFilter', role: 'training', kernelFunc: conv2DBackpropFilterWasm },
  { kernelName: 'UnsortedSegmentSum', role: 'training', kernelFunc: unsortedSegmentSumWasm },
  { kernelName: 'OneHot', role: 'training', fix: oneHotFix },
  { kernelName: 'BatchMatMul', role: 'faster', fix: fastBatchMatMul },
  { kernelName: 'Conv2DBackpropInput', role: 'faster', fix: convBackpropInputAsConv },
  { kernelName: 'Slice', role: 'faster', fix: fastSlice },
  { kernelName: 'SplitV', role: 'faster', fix: fastSplitV },
] as const satisfies readonly WasmKernel[];

type TrainingKernelName = Extract<(typeof WASM_KERNELS)[number], { role: 'training' }>['kernelName'];

/** The kernels {@link registerWasmTrainingKernels} provides, in registration order. */
export const WASM_TRAINING_KERNELS: readonly TrainingKernelName[] = WASM_KERNELS.filter((k) => k.role === 'training').map(
  (k) => k.kernelName as TrainingKernelName,
);

/** The kernels {@link registerFastWasmKernels} replaces, in registration order. */
export const WASM_FAST_KERNELS: readonly string[] = WASM_KERNELS.filter((k) => k.role === 'faster').map((k) => k.kernelName);

/** Registers the entries of the list with `role`; returns the names registered or wrapped by this call. */
function registerRole(role: WasmKernel['role']): string[] {
  const registered: string[] = [];
  for (const kernel of WASM_KERNELS as readonly WasmKernel[]) {
    if (kernel.role !== role) continue;
    const name = kernel.kernelName;
    const present = tf.getKernel(name, 'wasm') !== undefined;
    if ('fix' in kernel) {
      if (role === 'faster' ? wrapWasmKernel(name, kernel.fix) : present && wrapWasmKernel(name, kernel.fix)) registered.push(name);
    } else if (!present) {
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernel.kernelFunc });
      registered.push(name);
    }
  }
  return registered;
}

/**
 * Registers, for the 'wasm' backend, each kernel of {@link WASM_TRAINING_KERNELS} that it
 * lacks, and wraps the ones it gets wrong. Idempotent: returns the names registered by this
 * call (none the second time, or when a future tfjs-backend-wasm brings its own
 * Conv2DBackpropFilter / UnsortedSegmentSum).
 */
export function registerWasmTrainingKernels(): string[] {
  return registerRole('training');
}

/**
 * Replaces the kernels of {@link WASM_FAST_KERNELS} by their faster wrappers (idempotent);
 * returns the kernel names replaced by this call.
 */
export function registerFastWasmKernels(): string[] {
  return registerRole('faster');
}
