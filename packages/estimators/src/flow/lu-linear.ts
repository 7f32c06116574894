/**
 * An invertible linear map of each row in Glow's LU form (Kingma & Dhariwal 2018):
 *
 *   z = W x,   W = P L U,   L unit lower-triangular, U upper-triangular with diagonal e^{s_j},
 *   log|det ∂z/∂x| = Σ_j s_j   (P is a permutation, |det P| = 1; det L = 1).
 *
 * P is fixed (a seeded random permutation); L's strictly lower entries, U's strictly upper ones
 * and s are learned (parameters: [L (d×d, masked), U (d×d, masked), s (d)]). Why a flow for MI
 * needs it: the tridiagonal base pairs coordinate j of one side's latent with coordinate j of
 * the other's only, so each side must stay free to rotate and mix its coordinates into its
 * canonical directions while the nonlinear layers change; couplings alone mix only slowly. It
 * starts as W = P, which also shuffles which coordinates the next coupling conditions on.
 *
 * The inverse solves L and U by substitution in float64 on the host (W⁻¹ = U⁻¹ L⁻¹ Pᵀ); it
 * is for checks and reading the model, not for training, so it needs no gradient.
 */
import { permutation } from '@mmmi/latents';
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';
import { constantParameter, type FlowLayer, type LayerOutput } from './layer.js';

/** Row-major d×d 0/1 mask of the entries strictly below (lower) or above the diagonal. */
function triangleMask(d: number, lower: boolean): Float32Array {
  const m = new Float32Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m[i * d + j] = (lower ? j < i : j > i) ? 1 : 0;
  return m;
}

/** Row-major d×d permutation matrix with P[k][perm[k]] = 1, so (P v)_k = v_{perm[k]}. */
function permutationMatrix(perm: Int32Array): Float32Array {
  const d = perm.length;
  const m = new Float32Array(d * d);
  for (let k = 0; k < d; k++) m[k * d + perm[k]] = 1;
  return m;
}

export function luLinear(dim: number, seed: number): FlowLayer {
  const d = dim;
  const perm = permutation(d, mulberry32(seed ^ 0x1a9e1));
  const lowerMask = triangleMask(d, true);
  const upperMask = triangleMask(d, false);
  const pMatrix = permutationMatrix(perm);
  /** W = P L U, built inside the caller's tidy. */
  const weight = (lowerFree: tf.Tensor, upperFree: tf.Tensor, logDiagonal: tf.Tensor): tf.Tensor2D => {
    const eye = tf.eye(d);
    const l = tf.add(tf.mul(lowerFree, tf.tensor2d(lowerMask, [d, d])), eye) as tf.Tensor2D;
    const u = tf.add(tf.mul(upperFree, tf.tensor2d(upperMask, [d, d])), tf.mul(eye, tf.exp(logDiagonal))) as tf.Tensor2D;
    return tf.matMul(tf.tensor2d(pMatrix, [d, d]), tf.matMul(l, u));
  };
  return {
    kind: 'lu-linear',
    dim,
    parameters: [constantParameter([d, d]), constantParameter([d, d]), constantParameter([d])],
    forward: (x, [lowerFree, upperFree, logDiagonal]): LayerOutput =>
      tf.tidy(() => ({
        z: tf.matMul(x, weight(lowerFree, upperFree, logDiagonal), false, true) as tf.Tensor2D,
        logDet: tf.sum(logDiagonal) as tf.Scalar,
      })),
    inverse: (z, [lowerFree, upperFree, logDiagonal]) => {
      const [n] = z.shape;
      const zs = z.dataSync();
      const lf = lowerFree.dataSync();
      const uf = upperFree.dataSync();
      const diag = Float64Array.from(logDiagonal.dataSync(), Math.exp);
      const out = new Float32Array(n * d);
      const w = new Float64Array(d);
      for (let r = 0; r < n; r++) {
        // Pᵀ z: (P v)_k = v_perm[k], so v_perm[k] = z_k
        for (let k = 0; k < d; k++) w[perm[k]] = zs[r * d + k];
        // L w' = w (unit diagonal), forward substitution in place
        for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) w[i] -= lf[i * d + j] * w[j];
        // U x = w', back substitution in place
        for (let i = d - 1; i >= 0; i--) {
          for (let j = i + 1; j < d; j++) w[i] -= uf[i * d + j] * w[j];
          w[i] /= diag[i];
        }
        for (let j = 0; j < d; j++) out[r * d + j] = w[j];
      }
      return tf.tensor2d(out, [n, d]);
    },
  };
}
