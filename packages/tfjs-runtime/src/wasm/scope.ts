/**
 * Composing a kernel from wasm's own kernels on TensorInfos (below the engine, so no
 * Tensor bookkeeping). Every intermediate is released with backend.disposeData; Reshape
 * shares its input's data and counts a reference, so releasing a reshape is always right.
 */
import * as tf from '@tensorflow/tfjs-core';

export type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];

/** The part of the wasm backend these kernels use. */
export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Runs wasm kernels on TensorInfos and remembers every result, so that one `release()`
 * frees all intermediates; `keep` takes a result out of that list (the kernel's output).
 */
export class KernelScope {
  private readonly temps: tf.TensorInfo[] = [];
  constructor(private readonly backend: WasmBackendLike) {}

  run(name: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: object = {}): tf.TensorInfo {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`tfjs-runtime: the wasm backend has no ${name} kernel`);
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      attrs: attrs as tf.NamedAttrMap,
      backend: this.backend as unknown as tf.KernelBackend,
    });
    if (Array.isArray(out)) throw new Error(`tfjs-runtime: wasm ${name} returned several outputs`);
    this.temps.push(out);
    return out;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** A plain product a · b (no transposes: the form wasm hands to XNNPACK). */
  matMul(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  }

  /** Takes a TensorInfo made outside `run` into the scope (it is released with the rest). */
  adopt(t: tf.TensorInfo): tf.TensorInfo {
    this.temps.push(t);
    return t;
  }

  keep(t: tf.TensorInfo): tf.TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    return t;
  }

  release(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A kernelFunc that runs `body` in a KernelScope and frees everything but its result. */
export function scoped(body: (s: KernelScope, args: KernelArgs) => tf.TensorInfo): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const s = new KernelScope(args.backend as unknown as WasmBackendLike);
    try {
      return s.keep(body(s, args));
    } finally {
      s.release();
    }
  };
}
