/**
 * Replacing one of wasm's kernels by a wrapper of it (a fix, or a faster formulation that
 * falls back to the original).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Makes the replacement from wasm's original kernel function. */
export type KernelFix = (original: tf.KernelConfig['kernelFunc']) => tf.KernelConfig['kernelFunc'];

/** Marks a wrapper, so that registering twice is recognised. */
const FIXED = Symbol('tfjs-runtime wasm kernel fix');

/**
 * Replaces wasm's kernel `name` by `make(original)` (idempotent: a kernel already wrapped
 * this way is left alone). Returns whether this call replaced it.
 */
export function wrapWasmKernel(name: string, make: KernelFix): boolean {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`tfjs-runtime: the wasm backend has no ${name} kernel to wrap`);
  if ((kernel.kernelFunc as unknown as Record<symbol, boolean>)[FIXED]) return false;
  const fixed = make(kernel.kernelFunc);
  (fixed as unknown as Record<symbol, boolean>)[FIXED] = true;
  tf.unregisterKernel(name, 'wasm');
  // keep the original's setupFunc: it binds the wasm function the original kernelFunc calls
  tf.registerKernel({ ...kernel, kernelFunc: fixed });
  return true;
}
