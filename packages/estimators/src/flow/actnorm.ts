/**
 * Activation normalisation (Kingma & Dhariwal 2018, Glow): a learned affine map of each
 * coordinate,
 *
 *   z_j = x_j · e^{s_j} + b_j,    log|det ∂z/∂x| = Σ_j s_j   (the same for every row).
 *
 * It gives the elementwise nonlinearity that follows (./sinh-arcsinh.ts) a learned location and
 * scale to act at, and (last in the flow) the latent its scale. Glow initialises it from the
 * first batch (zero mean, unit variance); here the inputs are standardised already and every
 * other layer starts as the identity, so s = b = 0 is that same start without the
 * data-dependent step.
 *
 * Parameters: [s (d), b (d)].
 */
import * as tf from '@tensorflow/tfjs-core';
import { constantParameter, type FlowLayer, type LayerOutput } from './layer.js';

export function actNorm(dim: number): FlowLayer {
  return {
    kind: 'actnorm',
    dim,
    parameters: [constantParameter([dim]), constantParameter([dim])],
    forward: (x, [logScale, shift]): LayerOutput =>
      tf.tidy(() => ({
        z: tf.add(tf.mul(x, tf.exp(logScale)), shift) as tf.Tensor2D,
        logDet: tf.sum(logScale) as tf.Scalar,
      })),
    inverse: (z, [logScale, shift]) => tf.tidy(() => tf.mul(tf.sub(z, shift), tf.exp(tf.neg(logScale))) as tf.Tensor2D),
  };
}
