/**
 * Every parameter of a model in one trainable variable, unpacked into the layers' tensors on
 * each pass: one SplitV (whose gradient is one Concat) and a reshape per piece, instead of one
 * variable per piece, which tfjs's Adam would update with some thirty kernels each (see
 * ./layer.ts). The pieces are differentiable views of the one variable, so gradients reach it
 * unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterSpec } from './layer.js';

export class ParameterPack {
  readonly variable: tf.Variable;
  private readonly sizes: number[];

  constructor(readonly specs: readonly ParameterSpec[]) {
    this.sizes = specs.map((s) => s.initial.length);
    const all = new Float32Array(this.sizes.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const s of specs) {
      all.set(s.initial, at);
      at += s.initial.length;
    }
    this.variable = tf.tidy(() => tf.variable(tf.tensor1d(all)));
  }

  /** Number of trainable values. */
  get size(): number {
    return this.variable.size;
  }

  /** The parameters as tensors of their shapes, in the order of the specs (inside the caller's tidy). */
  unpack(): tf.Tensor[] {
    const nonEmpty = this.sizes.filter((s) => s > 0);
    const pieces = nonEmpty.length === 1 ? [this.variable as tf.Tensor] : tf.split(this.variable, nonEmpty);
    let k = 0;
    return this.specs.map((s) => (s.initial.length === 0 ? tf.zeros(s.shape) : tf.reshape(pieces[k++], s.shape)));
  }

  dispose(): void {
    this.variable.dispose();
  }
}
