/**
 * One invertible layer of a normalizing flow, data → latent: z = g(x) with
 * log|det ∂z/∂x| per row, the quantity the change of variables needs,
 *
 *   log p_X(x) = log p_Z(g(x)) + log|det ∂g/∂x|.
 *
 * Layers are written in the data → latent direction because that is the direction maximum
 * likelihood trains in (every training step maps data rows to latents); `inverse` maps latents
 * back (for checks and for reading the model), with no gradient needed.
 *
 * A layer holds no tensors: it declares its parameters (shapes and seeded initial values) and
 * receives them as tensors on every call. The model packs every parameter of both flows and
 * the base into one variable (./parameters.ts), because tfjs's Adam costs about thirty kernel
 * launches per variable per step, which on a CPU dominated the step when each layer held its
 * own (a 5-D model of 105 variables: 3953 kernels per step, about 3000 of them Adam's).
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface LayerOutput {
  /** n×d latent rows. */
  z: tf.Tensor2D;
  /** log|det ∂z_i/∂x_i| of each of the n rows, or a scalar where it is the same for all (a linear layer): broadcast when added. */
  logDet: tf.Tensor1D | tf.Scalar;
}

/** One parameter tensor of a layer: its shape and its initial values (row-major). */
export interface ParameterSpec {
  shape: number[];
  initial: Float32Array;
}

export interface FlowLayer {
  /** e.g. 'actnorm', 'sinh-arcsinh', 'lu-linear', 'affine-coupling'. */
  readonly kind: string;
  /** Values per row, in and out. */
  readonly dim: number;
  readonly parameters: readonly ParameterSpec[];
  /** z and log|det| of the rows, `p` holding the parameters in the order of `parameters`. */
  forward(x: tf.Tensor2D, p: readonly tf.Tensor[]): LayerOutput;
  inverse(z: tf.Tensor2D, p: readonly tf.Tensor[]): tf.Tensor2D;
}

/** Uniforms on [0, 1) from one seeded stream (the package's mulberry32), so a seed fixes a model. */
export type Uniforms = () => number;

/** A parameter of `shape` filled with `value`. */
export function constantParameter(shape: number[], value = 0): ParameterSpec {
  return { shape, initial: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value) };
}

/** A parameter of `shape` drawn from N(0, sd²) truncated at 2 sd (Box–Muller on the stream, rejection beyond 2 sd). */
export function truncatedNormalParameter(shape: number[], sd: number, random: Uniforms): ParameterSpec {
  const initial = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < initial.length;) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    for (const v of [r * Math.cos(angle), r * Math.sin(angle)]) if (Math.abs(v) <= 2 && i < initial.length) initial[i++] = sd * v;
  }
  return { shape, initial };
}
