/**
 * A faster Conv2DBackpropInput for the wasm backend. tfjs-backend-wasm 4.x computes it with a
 * naive loop, ~15× slower than its XNNPACK forward convolution (bench/conv-grad.bench.ts),
 * and every convolution's gradient needs it. For stride 1 (all the UNet uses) the input
 * gradient is itself a convolution:
 *
 *   dx = conv2d(dy, W′),  W′[i, j, o, c] = W[k_h−1−i, k_w−1−j, c, o],
 *
 * with padding 'same' for odd kernels and k−1 on each side ("full") for 'valid'. Other
 * strides, dilations and paddings go to the original kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './scope.js';
import type { KernelFix } from './wrap.js';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** Conv2DBackpropInput as a forward convolution where it can be (registered from ./kernels.ts). */
export const convBackpropInputAsConv: KernelFix =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const [kh, kw] = filter.shape;
    const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
    const samePad = pad === 'same' && kh % 2 === 1 && kw % 2 === 1;
    const usable = sh === 1 && sw === 1 && (dataFormat ?? 'NHWC') === 'NHWC' && (samePad || pad === 'valid');
    if (!usable) return original(args);
    const s = new KernelScope(backend as unknown as WasmBackendLike);
    try {
      const swapped = s.transpose(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
      const convPad = samePad
        ? 'same'
        : [
            [0, 0],
            [kh - 1, kh - 1],
            [kw - 1, kw - 1],
            [0, 0],
          ];
      const out = s.run(
        'Conv2D',
        { x: dy, filter: swapped },
        { strides: [1, 1], pad: convPad, dataFormat: 'NHWC', dilations: [1, 1], ...(dimRoundingMode ? { dimRoundingMode } : {}) },
      );
      if (out.shape.some((d, i) => d !== inputShape[i]))
        throw new Error(`Conv2DBackpropInput as convolution gave shape [${out.shape}], expected [${inputShape}]`);
      return s.keep(out);
    } finally {
      s.release();
    }
  };
