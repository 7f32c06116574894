/**
 * The base distribution of tridiag-N-MIENF (Butakov et al. 2024): the latents ξ = f_x(x) ∈ R^dx
 * and η = f_y(y) ∈ R^dy are jointly Gaussian, zero mean, unit variances, and coordinate j of ξ
 * is correlated with coordinate j of η only, for j < k = min(dx, dy):
 *
 *   Σ = [[I_dx, R], [Rᵀ, I_dy]],   R_jj = ρ_j ∈ (−1, 1), every other entry of R zero.
 *
 * (Ordered as (ξ_1, η_1, ξ_2, η_2, …) the covariance is tridiagonal, hence the name.) No
 * generality is lost for a Gaussian pair: canonical correlation analysis brings any one to this
 * form by invertible linear maps of each side, and each side's flow contains those maps. The
 * extra coordinates of the longer side are independent standard normals.
 *
 * Everything then factorises over the k pairs, each a bivariate normal with correlation ρ_j:
 *
 *   log q(ξ, η) = log N(ξ; 0, I) + log N(η; 0, I) + Σ_{j<k} pmi_j(ξ_j, η_j),
 *   pmi_j(a, b) = −½ log(1 − ρ_j²) − (ρ_j² a² − 2 ρ_j a b + ρ_j² b²) / (2 (1 − ρ_j²)),
 *   I(ξ; η)     = E_q[Σ_j pmi_j] = −½ Σ_j log(1 − ρ_j²),
 *
 * pmi the pointwise mutual information log q(ξ,η)/(q(ξ)q(η)) of the base, whose marginals are
 * exactly N(0, I). ρ_j = tanh(a_j) keeps each correlation in (−1, 1) without constraints; a = 0
 * (independence) at the start. It also gives the logarithm stably near |ρ| = 1, where 1 − ρ²
 * loses its digits in float32: −½ log(1 − tanh² a) = log cosh a, and 1/(1 − ρ²) = cosh² a.
 *
 * Parameters: [a (k)].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterSpec } from './layer.js';
import { logCosh } from './sinh-arcsinh.js';

const LOG_2PI = Math.log(2 * Math.PI);

export interface TridiagonalBase {
  readonly dx: number;
  readonly dy: number;
  /** Correlated pairs, min(dx, dy). */
  readonly pairs: number;
  readonly parameters: readonly ParameterSpec[];
  /** Σ_j pmi_j(ξ_ij, η_ij) of each row: the base's pointwise mutual information. */
  pointwiseMi(xi: tf.Tensor2D, eta: tf.Tensor2D, p: readonly tf.Tensor[]): tf.Tensor1D;
  /** log q(ξ_i, η_i) of each row. */
  logDensity(xi: tf.Tensor2D, eta: tf.Tensor2D, p: readonly tf.Tensor[]): tf.Tensor1D;
}

/** log N(v; 0, I) of each row. */
export function standardNormalLogDensity(v: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.mul(tf.sum(tf.square(v), 1), -0.5), (v.shape[1] * LOG_2PI) / 2) as tf.Tensor1D);
}

/** ρ_j = tanh(a_j) from the base's parameter, float64. */
export const correlationsOf = (atanhRho: ArrayLike<number>): Float64Array => Float64Array.from(atanhRho, Math.tanh);

/** −½ Σ_j log(1 − ρ_j²) = Σ_j log cosh a_j from the base's parameter, float64 (no loss of digits near |ρ| = 1). */
export function tridiagonalMiOf(atanhRho: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < atanhRho.length; j++) {
    const a = Math.abs(atanhRho[j]);
    s += a + Math.log1p(Math.exp(-2 * a)) - Math.LN2;
  }
  return s;
}

/** −½ Σ_j log(1 − ρ_j²) from the correlations themselves. */
export function tridiagonalMi(rho: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < rho.length; j++) s -= 0.5 * Math.log1p(-rho[j] * rho[j]);
  return s;
}

/** The largest |ρ| a start may take, so that a = atanh ρ is finite (I ≈ 3.8 nats a pair). */
const MAX_START_RHO = 0.999;

/** The base; `initialRho` (k values, default 0) is where its correlations start. */
export function tridiagonalBase(dx: number, dy: number, initialRho?: ArrayLike<number>): TridiagonalBase {
  const pairs = Math.min(dx, dy);
  const initial = new Float32Array(pairs);
  for (let j = 0; j < pairs; j++) initial[j] = Math.atanh(Math.max(-MAX_START_RHO, Math.min(MAX_START_RHO, initialRho?.[j] ?? 0)));
  const pointwiseMi = (xi: tf.Tensor2D, eta: tf.Tensor2D, [atanhRho]: readonly tf.Tensor[]): tf.Tensor1D =>
    tf.tidy(() => {
      const n = xi.shape[0];
      const a = tf.slice(xi, [0, 0], [n, pairs]);
      const b = tf.slice(eta, [0, 0], [n, pairs]);
      const r = tf.tanh(atanhRho);
      const halfLogInverseOneMinus = logCosh(atanhRho); // −½ log(1 − ρ²)
      const inverseOneMinus = tf.exp(tf.mul(halfLogInverseOneMinus, 2)); // 1/(1 − ρ²) = cosh² a
      const quadratic = tf.sub(tf.mul(tf.square(r), tf.add(tf.square(a), tf.square(b))), tf.mul(tf.mul(r, 2), tf.mul(a, b)));
      const perPair = tf.sub(halfLogInverseOneMinus, tf.mul(quadratic, tf.mul(inverseOneMinus, 0.5)));
      return tf.sum(perPair, 1) as tf.Tensor1D;
    });
  return {
    dx,
    dy,
    pairs,
    parameters: [{ shape: [pairs], initial }],
    pointwiseMi,
    logDensity: (xi, eta, p) =>
      tf.tidy(() => tf.add(tf.add(standardNormalLogDensity(xi), standardNormalLogDensity(eta)), pointwiseMi(xi, eta, p)) as tf.Tensor1D),
  };
}
