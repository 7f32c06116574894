/**
 * f-DIME (Letizia, Novello, Tonello, "Mutual Information Estimation via f-Divergence and Data
 * Derangements", NeurIPS 2024; code: github.com/nicolaNovello/fDIME, utils.py `*_fdime_deranged`,
 * classes.py): a discriminator D trained on K joint pairs (x_i, y_i) against K pairs (x_i, y_σ(i)),
 * σ a derangement (./derangement.ts), by maximising the variational lower bound of an f-divergence
 * between p(x, y) and p(x)p(y); the MI estimate is the mean over joint pairs of the log density
 * ratio R̂ = (f*)'(T̂) that the trained discriminator implies:
 *
 *   I_fDIME = E_p[log R̂(x, y)],   D̂ = argmax_D J_f(D).
 *
 * Our critics output T ∈ ℝ; D is T through the paper's last activation (classes.py: softplus for
 * KL and HD, sigmoid for GAN). With mean_+ over the K joint pairs and mean_− over the K deranged
 * ones (the paper's J_f, from its README):
 *
 *   KL-DIME   D = softplus(T)      J = mean_+ log D − mean_− D + 1              log R̂ = log D
 *             optimum D* = p/(p_x p_y) = r, where J = I (J is itself NWJ's bound in D)
 *   GAN-DIME  D = sigmoid(T)       J = mean_+ log D + mean_− log(1 − D) + log 4  log R̂ = log D/(1 − D) = T
 *             = −mean_+ softplus(−T) − mean_− softplus(T) + log 4: the JS f-GAN objective of ./bounds.ts on
 *             the deranged pairs; optimum T* = log r, J = 2·JS(p ‖ p_x p_y).
 *             (The authors' code labels the joint pairs 0 and the deranged ones 1, so their D is
 *             our 1 − D and their R̂ = (1 − D)/D: the same estimator under T ↦ −T.)
 *   HD-DIME   D = softplus(T)      J = 2 − mean_+ D − mean_− 1/D               log R̂ = log 1/D² = −2 log D
 *             optimum D* = r^{−1/2}, J = 2·(1 − ∫√(p·p_x p_y)) (twice the squared Hellinger distance)
 *
 * Numerics, the same on every backend: softplus(T) = T + log1p(e^{−T}) for T ≥ 0 and log1p(e^T) below
 * ({@link stableSoftplus}), with log1p by Goldberg's identity ({@link log1p}: wasm's Log1p kernel
 * computes log(1 + u) in float32 and returns 0 for u below 6e-8, which would make log softplus(−20)
 * −∞); log D = log softplus(T) is T itself where T < −20 (softplus(T) = e^T(1 − e^T/2 + …), so the two
 * agree to 1e-9 there) instead of the log of an underflowed 0; 1/D = e^{−log D}.
 *
 * The read-out is not a bound: it is a plain mean over joint pairs, so its per-row terms are
 * independent given the critic (./evaluate.ts gives it the batch-means standard error) and it can
 * land above I. J_f is what training maximises, and what early stopping watches on held-out rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DimeName } from './options.js';

/** Below this, log softplus(t) is t to float32 precision (see the module notes). */
const LINEAR_BELOW = -20;

/**
 * log(1 + u) for u ≥ 0, accurate to float32 rounding however small u is, on every backend:
 * w = 1 + u rounded, then log1p(u) = log(w)·u/(w − 1) (Goldberg 1991, "What every computer scientist
 * should know about floating-point arithmetic", Theorem 4: the rounding of w cancels), and u itself
 * where w rounds to 1. The gradient is 1/(1 + u), given directly (differentiating the identity would
 * cancel two terms of size 1 for tiny u).
 */
export const log1p: (u: tf.Tensor) => tf.Tensor = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const u = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const w = tf.add(u, 1);
  const d = tf.sub(w, 1);
  const value = tf.where(tf.equal(d, 0), u, tf.div(tf.mul(tf.log(w), u), tf.where(tf.equal(d, 0), tf.onesLike(d), d)));
  save([w]);
  return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.div(dy, saved[0]) };
});

/**
 * softplus(t) = log(1 + e^t), accurate in float32 for every t: t + log1p(e^{−t}) for t ≥ 0,
 * log1p(e^t) below. Each branch sees its input clamped to its own side, so the branch not taken
 * stays finite and so does its (masked) gradient; at t = 0 the gradient is ½, as it should be.
 */
export function stableSoftplus<T extends tf.Tensor>(t: T): T {
  return tf.tidy(() => {
    const above = tf.maximum(t, 0);
    const below = tf.minimum(t, 0);
    const upper = tf.add(above, log1p(tf.exp(tf.neg(above))));
    const lower = log1p(tf.exp(below));
    return tf.where(tf.greaterEqual(t, 0), upper, lower) as T;
  });
}

/** log softplus(t) = log log(1 + e^t), finite for every finite t (the module notes). */
export function logSoftplus<T extends tf.Tensor>(t: T): T {
  return tf.tidy(() => {
    const safe = tf.log(stableSoftplus(tf.maximum(t, LINEAR_BELOW)));
    // greaterEqual, not less: tfjs registers a (zero) gradient for the one, not the other
    return tf.where(tf.greaterEqual(t, LINEAR_BELOW), safe, t) as T;
  });
}

/** J_f's per-row terms: row i's joint term plus row i's deranged term, so that their mean is J_f. */
export function dimeObjectiveRowTerms(name: DimeName, positive: tf.Tensor1D, negative: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    switch (name) {
      case 'kl-dime':
        return tf.add<tf.Tensor1D>(tf.sub(logSoftplus(positive), stableSoftplus(negative)), 1);
      case 'gan-dime':
        return tf.add<tf.Tensor1D>(tf.neg(tf.add(stableSoftplus(tf.neg(positive)), stableSoftplus(negative))), Math.log(4));
      case 'hd-dime':
        return tf.sub<tf.Tensor1D>(tf.sub(2, stableSoftplus(positive)), tf.exp(tf.neg(logSoftplus(negative))));
    }
  });
}

/** J_f(T) on K joint and K deranged pairs (the module notes); training maximises it. */
export function dimeObjective(name: DimeName, positive: tf.Tensor1D, negative: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(dimeObjectiveRowTerms(name, positive, negative)));
}

/** log R̂ from the critic's T, element by element: on joint pairs the per-row terms of the estimate, anywhere an estimate of the PMI. */
export function dimeLogRatio<T extends tf.Tensor>(name: DimeName, t: T): T {
  return tf.tidy(() => {
    switch (name) {
      case 'kl-dime':
        return logSoftplus(t);
      case 'gan-dime':
        return tf.clone(t);
      case 'hd-dime':
        return tf.mul<T>(logSoftplus(t), -2);
    }
  });
}

/** I_fDIME on one batch: the mean of {@link dimeLogRatio} over its joint pairs. */
export function dimeEstimate(name: DimeName, positive: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(dimeLogRatio(name, positive)));
}
