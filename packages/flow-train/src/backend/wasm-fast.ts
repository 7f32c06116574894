/**
 * Replacements for wasm kernels that exist but are much slower than what the same backend
 * can do: BatchMatMul with transposes or batches, Conv2DBackpropInput, Slice and SplitV
 * (bench/train.bench.ts times the training step they serve).
 */
import { registerFastWasmConvBackpropInput } from './wasm-conv-input.js';
import { registerFastWasmMatMul } from './wasm-matmul.js';
import { registerFastWasmSlicing } from './wasm-slice.js';

/** Registers all replacements (idempotent); returns the kernel names replaced by this call. */
export function registerFastWasmKernels(): string[] {
  const done: string[] = [];
  if (registerFastWasmMatMul()) done.push('BatchMatMul');
  if (registerFastWasmConvBackpropInput()) done.push('Conv2DBackpropInput');
  done.push(...registerFastWasmSlicing());
  return done;
}
