/**
 * The sinh-arcsinh transformation (Jones & Pewsey 2009), an elementwise monotone map with two
 * parameters per coordinate and everything in closed form:
 *
 *   z = sinh(δ·asinh(x) − ε),                   δ = e^{a} > 0
 *   x = sinh((asinh(z) + ε) / δ)                 (the inverse)
 *   log ∂z/∂x = log δ + log cosh(δ·asinh(x) − ε) − ½ log(1 + x²).
 *
 * Why a flow needs it: affine couplings need two coordinates (one conditions the other), so a
 * one-dimensional side would get affine maps only, and a Gaussian latent could not be reached
 * from, say, x³ or tanh(x). For |x| ≫ 1, z ≈ (2|x|)^δ/2: δ < 1 pulls heavy tails in, δ > 1
 * pushes light tails out; ε skews. Composed with the affine maps around it (actnorm, the other
 * blocks) it reshapes each marginal. δ = 1, ε = 0 (the initial values) is the identity.
 *
 * log cosh u is computed as u + softplus(−2u) − log 2, which neither overflows nor loses the
 * small values.
 *
 * Parameters: [a = log δ (d), ε (d)].
 */
import * as tf from '@tensorflow/tfjs-core';
import { constantParameter, type FlowLayer, type LayerOutput } from './layer.js';

/** log cosh u without overflow. */
export function logCosh(u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.add(u, tf.softplus(tf.mul(u, -2))), Math.log(2)));
}

export function sinhArcsinh(dim: number): FlowLayer {
  return {
    kind: 'sinh-arcsinh',
    dim,
    parameters: [constantParameter([dim]), constantParameter([dim])],
    forward: (x, [logTailWeight, skew]): LayerOutput =>
      tf.tidy(() => {
        const u = tf.sub(tf.mul(tf.asinh(x), tf.exp(logTailWeight)), skew);
        // Σ_j log δ_j is the same for every row: added once, as a scalar
        const perValue = tf.sub(logCosh(u), tf.mul(tf.log1p(tf.square(x)), 0.5));
        return { z: tf.sinh(u) as tf.Tensor2D, logDet: tf.add(tf.sum(perValue, 1), tf.sum(logTailWeight)) as tf.Tensor1D };
      }),
    inverse: (z, [logTailWeight, skew]) => tf.tidy(() => tf.sinh(tf.div(tf.add(tf.asinh(z), skew), tf.exp(logTailWeight))) as tf.Tensor2D),
  };
}
