/**
 * OneHot: tfjs-backend-wasm 4.22 ignores `dtype` and always writes int32 bits, so
 * tf.oneHot(ids, n, 1, 0, 'float32') reads as 1.4e-45 instead of 1 (and a fractional
 * onValue would be truncated). For other dtypes: a 0/1 int32 one-hot h from the original,
 * then out = Cast(h) · (on − off) + off.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { KernelScope, type KernelArgs, type WasmBackendLike } from './scope.js';
import type { KernelFix } from './wrap.js';

export const oneHotFix: KernelFix = (original) => (args: KernelArgs) => {
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
