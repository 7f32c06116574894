/**
 * The variational lower bounds on I(X; Y) as pure tfjs ops on a K×K score matrix S,
 * S_ij = f(x_i, y_j) for a critic f and K pairs (x_i, y_i) drawn from p(x, y): the diagonal
 * holds the positive (joint) pairs, the K(K−1) off-diagonal entries pairs from the product of
 * the marginals p(x)p(y) (Poole et al. 2019, "On Variational Bounds of Mutual Information").
 * Everything is differentiable, so the same functions give the training losses.
 *
 *   InfoNCE  I_NCE = (1/K) Σ_i [S_ii − log Σ_j e^{S_ij}] + log K          (van den Oord et al. 2018)
 *            ≤ log K for any S (each row term S_ii − logsumexp_j S_ij ≤ 0); optimal f = log p(y|x)/p(y) + c(x),
 *            with which it approaches I from below as K grows (never above log K).
 *   NWJ      I_NWJ = mean_i S_ii − mean_{i≠j} e^{S_ij − 1}               (Nguyen, Wainwright, Jordan 2010)
 *            optimal f = 1 + log p(x, y)/(p(x)p(y)), where it equals I; unbiased in S, high variance.
 *   DV/MINE  I_DV = mean_i S_ii − log mean_{i≠j} e^{S_ij}                   (Donsker–Varadhan; Belghazi et al. 2018)
 *            optimal f = log p(x, y)/(p(x)p(y)) + c; the log of a minibatch mean makes its
 *            gradient biased, which MINE corrects with a moving average ({@link mineSurrogateLoss}).
 *   SMILE    I_SMILE = mean_i S_ii − log mean_{i≠j} clip(e^{S_ij}, e^{−τ}, e^{τ})   (Song & Ermon 2020, eq. 17)
 *            the DV value with the negative pairs' e^f clipped, i.e. f clipped to [−τ, τ] inside the
 *            log-mean-exp (τ → ∞ gives DV); it bounds the variance of the partition estimate at
 *            the price of a bias. The authors train the critic with the Jensen–Shannon f-GAN
 *            objective ({@link jsBound}) and report I_SMILE of that critic; so do we.
 *   JS       J_JS = −mean_i softplus(−S_ii) − mean_{i≠j} softplus(S_ij)     (Nowozin et al. 2016; a JS-divergence bound, not an MI bound)
 *            its optimum is f = log p(x, y)/(p(x)p(y)) exactly: the training objective of SMILE and of the
 *            `js` estimator ({@link jsBound}).
 *   JS → MI  I_JS(f) = I_NWJ(f + 1) = 1 + mean_i S_ii − mean_{i≠j} e^{S_ij}      (Poole et al. 2019, "JS-KL hybrid")
 *            the MI value of a JS-trained critic: NWJ needs 1 + log ratio, JS's optimum is the log ratio,
 *            so the critic is shifted by 1 before NWJ reads it; at the JS optimum it equals I. (Poole et
 *            al.'s notebook and Song & Ermon's smile-mi-estimator code, `js_lower_bound(f)`, report
 *            nwj_lower_bound(f) = tuba_lower_bound(f − 1) = I_NWJ(f) without the shift, which is I − 1/e
 *            at the JS optimum; {@link jsMiBound} is the shifted value, the unshifted one is reported
 *            beside it.) Any critic gives a lower bound either way: I_NWJ(g) ≤ I for every g.
 *
 * The diagonal is read by multiplying with the identity, and the diagonal is removed from a
 * log-sum-exp by subtracting a large constant from it (e^{−10⁹} is 0 in float32 and so is its
 * gradient): no gather, whose gradient some backends lack. Log-sum-exps go through
 * {@link logSumExp}, not tf.logSumExp, whose max reduction is slow on wasm (about 2 ms for
 * 128×128 scores, most of a training step).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Subtracted from the diagonal to drop it from a log-sum-exp. */
const MASK = 1e9;

/**
 * log Σ_j e^{x_j} over the last axis (which it removes), with gradient softmax(x).
 *
 * Stable without a max: the shift c = Σ_j p_j x_j, p = softmax(x) (a fused kernel on every
 * backend), satisfies max x − log n ≤ c ≤ max x, since c = LSE(x) − H(p) with 0 ≤ H(p) ≤ log n
 * and max x ≤ LSE(x). So every e^{x_j − c} ≤ n (no overflow) and the largest is ≥ 1 (no
 * underflow of the sum), and LSE = c + log Σ_j e^{x_j − c}. Entries of −10⁹ (masks) get p = 0
 * and contribute nothing; −∞ is not allowed (0·∞).
 */
export const logSumExp: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const p = tf.softmax(x);
  const shift = tf.sum(tf.mul(p, x), -1, true);
  const value = tf.add(tf.squeeze(shift, [-1]), tf.log(tf.sum(tf.exp(tf.sub(x, shift)), -1)));
  save([p]);
  return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.expandDims(dy, -1), saved[0]) };
});

function size(s: tf.Tensor2D): number {
  const [k, k2] = s.shape;
  if (k !== k2 || k < 2) throw new RangeError(`a score matrix must be square and at least 2×2, got ${k}×${k2}`);
  return k;
}

/** The diagonal S_ii (K values). */
export function diagonal(s: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(s, tf.eye(size(s))), 1));
}

/** log mean_{i≠j} e^{S_ij}: the log of the mean over the K(K−1) negative pairs. */
export function offDiagonalLogMeanExp(s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const k = size(s);
    return tf.sub<tf.Scalar>(logSumExp(tf.reshape(tf.sub(s, tf.mul(tf.eye(k), MASK)), [k * k])), Math.log(k * (k - 1)));
  });
}

/** InfoNCE's per-row terms S_ii − log Σ_j e^{S_ij} + log K (each ≤ log K); their mean is the bound. */
export function infonceRowTerms(s: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = size(s);
    return tf.add<tf.Tensor1D>(tf.sub(diagonal(s), logSumExp(s)), Math.log(k));
  });
}

/** I_NCE: the mean of {@link infonceRowTerms}. */
export function infonceBound(s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(infonceRowTerms(s)));
}

/** NWJ's per-row terms S_ii − (1/(K−1)) Σ_{j≠i} e^{S_ij − 1}; their mean is the bound. */
export function nwjRowTerms(s: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const k = size(s);
    const offDiagonal = tf.sub(1, tf.eye(k));
    const negatives = tf.div(tf.sum(tf.mul(tf.exp(tf.sub(s, 1)), offDiagonal), 1), k - 1);
    return tf.sub(diagonal(s), negatives);
  });
}

/** I_NWJ = mean_i S_ii − mean_{i≠j} e^{S_ij − 1}. */
export function nwjBound(s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(nwjRowTerms(s)));
}

/** I_DV = mean_i S_ii − log mean_{i≠j} e^{S_ij} (MINE's value). */
export function dvBound(s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.sub(tf.mean(diagonal(s)), offDiagonalLogMeanExp(s)));
}

/** I_SMILE = mean_i S_ii − log mean_{i≠j} clip(e^{S_ij}, e^{−τ}, e^{τ}); τ = Infinity clips nothing (I_DV). */
export function smileBound(s: tf.Tensor2D, tau: number): tf.Scalar {
  return tf.tidy(() => tf.sub(tf.mean(diagonal(s)), offDiagonalLogMeanExp(clipScores(s, tau))));
}

/** S clipped to [−τ, τ]; unchanged for τ = Infinity. */
export function clipScores(s: tf.Tensor2D, tau: number): tf.Tensor2D {
  return Number.isFinite(tau) ? tf.clipByValue(s, -tau, tau) : s;
}

/** The per-row terms of I_NWJ(f + 1): S_ii + 1 − (1/(K−1)) Σ_{j≠i} e^{S_ij}; their mean is {@link jsMiBound}. */
export function jsMiRowTerms(s: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => nwjRowTerms(tf.add<tf.Tensor2D>(s, 1)));
}

/** I_JS(f) = I_NWJ(f + 1) = 1 + mean_i S_ii − mean_{i≠j} e^{S_ij}: the MI value of a JS-trained critic (module notes). */
export function jsMiBound(s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(jsMiRowTerms(s)));
}

/** The Jensen–Shannon f-GAN objective −mean_i softplus(−S_ii) − mean_{i≠j} softplus(S_ij) (SMILE's training objective). */
export function jsBound(s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const k = size(s);
    const d = diagonal(s);
    const positive = tf.mean(tf.softplus(tf.neg(d)));
    const negative = tf.div(tf.sub(tf.sum(tf.softplus(s)), tf.sum(tf.softplus(d))), k * (k - 1));
    return tf.neg(tf.add<tf.Scalar>(positive, negative));
  });
}

/** Identity forward, zero gradient: a value used as a constant in a loss. */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;

/**
 * MINE's bias-corrected surrogate loss (Belghazi et al. 2018, §3.2): the DV gradient
 * ∇mean S_ii − ∇m/m, m = mean_{i≠j} e^{S_ij}, is biased because the denominator m is a
 * minibatch estimate; MINE replaces it by a moving average ḿ of m over steps, i.e. minimises
 *
 *   −(mean_i S_ii − m/ḿ),   ḿ held constant (gradient ∇mean S_ii − ∇m/ḿ),
 *
 * here in log space for range, −(mean_i S_ii − exp(log m − log ḿ)). `logMovingAverage` is log ḿ,
 * a constant (the caller passes it through {@link stopGradient} or as a plain scalar).
 */
export function mineSurrogateLoss(s: tf.Tensor2D, logMovingAverage: tf.Scalar): tf.Scalar {
  return tf.tidy(() => mineSurrogateFromParts(tf.mean(diagonal(s)), offDiagonalLogMeanExp(s), logMovingAverage));
}

/** {@link mineSurrogateLoss} from mean_i S_ii and log mean_{i≠j} e^{S_ij} already computed. */
export function mineSurrogateFromParts(positiveMean: tf.Scalar, logNegativeMean: tf.Scalar, logMovingAverage: tf.Scalar): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.sub<tf.Scalar>(positiveMean, tf.exp(tf.sub(logNegativeMean, logMovingAverage)))));
}
