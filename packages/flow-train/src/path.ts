/**
 * The conditional optimal-transport ("CondOT", linear) probability path of flow matching
 * (SPEC §6; flow_matching's AffineProbPath with CondOTScheduler):
 *
 *   x_t = t·x_1 + (1 − t)·x_0,   dx_t/dt = x_1 − x_0,
 *
 * x_0 ~ N(0, I) noise at t = 0, x_1 data at t = 1. The model learns v(x_t, t) ≈ x_1 − x_0 by
 * mean squared error.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface PathSample {
  xt: tf.Tensor4D;
  target: tf.Tensor4D;
}

/** x_t and the target velocity for noise x0, data x1 [B, H, W, C] and times t [B]. */
export function condOtSample(x0: tf.Tensor4D, x1: tf.Tensor4D, t: tf.Tensor1D): PathSample {
  const tb = tf.reshape(t, [-1, 1, 1, 1]);
  const xt = tf.add(tf.mul(tb, x1), tf.mul(tf.sub(1, tb), x0)) as tf.Tensor4D;
  return { xt, target: tf.sub(x1, x0) as tf.Tensor4D };
}
