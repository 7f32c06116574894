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

type KernelFunc = tf.KernelConfig['kernelFunc'];
interface WasmLike {
  disposeData(dataId: object): void;
}

let original: KernelFunc | undefined;

function run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, backend: unknown): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is missing`);
  return kernel.kernelFunc({ inputs, attrs, backend: backend as never }) as tf.TensorInfo;
}

function convBackpropInputAsConv(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const [kh, kw] = filter.shape;
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  const stride1 = sh === 1 && sw === 1;
  const samePad = pad === 'same' && kh % 2 === 1 && kw % 2 === 1;
  const usable = stride1 && (dataFormat ?? 'NHWC') === 'NHWC' && (samePad || pad === 'valid');
  if (!usable) return original!(args) as tf.TensorInfo;
  const wasm = backend as unknown as WasmLike;
  const flipped = run('Reverse', { x: filter }, { dims: [0, 1] }, backend);
  try {
    const swapped = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }, backend);
    try {
      const convPad = samePad ? 'same' : [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]];
      const out = run('Conv2D', { x: dy, filter: swapped }, { strides: [1, 1], pad: convPad as never, dataFormat: 'NHWC', dilations: [1, 1], ...(dimRoundingMode ? { dimRoundingMode } : {}) }, backend);
      if (out.shape.some((d, i) => d !== inputShape[i])) {
        wasm.disposeData(out.dataId);
        throw new Error(`Conv2DBackpropInput as convolution gave shape [${out.shape}], expected [${inputShape}]`);
      }
      return out;
    } finally {
      wasm.disposeData(swapped.dataId);
    }
  } finally {
    wasm.disposeData(flipped.dataId);
  }
}

/** Replaces wasm's Conv2DBackpropInput with the convolution form (idempotent). */
export function registerFastWasmConvBackpropInput(): boolean {
  if (original) return false;
  const kernel = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!kernel) throw new Error('the wasm backend has no Conv2DBackpropInput kernel to wrap');
  original = kernel.kernelFunc;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ ...kernel, kernelFunc: convBackpropInputAsConv as KernelFunc });
  return true;
}
