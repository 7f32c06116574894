/**
 * The contrastive objectives, as differentiable tfjs ops on the unit-norm projections z of a
 * minibatch of K draws (row i of every view is draw i).
 *
 * Scores: S^{ab}_ij = ⟨z^a_i, z^b_j⟩ / τ, the cosine similarity of view a of draw i and view b of
 * draw j over the temperature τ. Row i's positive is its own draw (the diagonal), the other
 * K − 1 draws of the batch its negatives.
 *
 *   one direction   ℓ_{a→b} = −(1/K) Σ_i [S^{ab}_ii − log Σ_j e^{S^{ab}_ij}]
 *   a pair of views ℓ_ab = ½ (ℓ_{a→b} + ℓ_{b→a})         (S^{ba} = (S^{ab})ᵀ: the columns' softmax)
 *   N views         L = Σ_{a<b} ℓ_ab                       (CMC's "full graph", Tian et al. 2020, §3.2)
 *
 * Two views give the symmetric InfoNCE of CLIP and of CMC's two-view case. CMC adds the two
 * directions rather than averaging them: a constant factor, which Adam's step does not feel.
 * SimCLR's NT-Xent would also use the other view of the same modality as negatives (2K − 2 of
 * them); with one view per modality there is none, so the negatives are cross-view only.
 *
 * Each direction is the InfoNCE bound in disguise: log K − ℓ_{a→b} ≤ I(X_a; X_b) in expectation
 * (van den Oord et al. 2018; Poole et al. 2019) and ≤ log K always, so a contrastive loss near
 * 0 says the batch was too small to see more than log K nats, not that the MI is small.
 */
import * as tf from '@tensorflow/tfjs-core';
import { diagonal, logSumExp } from '@mmmi/estimators';

/** Rows scaled to unit Euclidean norm (a tiny ε keeps a zero row finite). */
export function normaliseRows(z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(z, tf.sqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12))));
}

/** S^{ab} = z_a z_bᵀ / τ for unit rows z_a, z_b (K×E each). */
export function similarityMatrix(za: tf.Tensor2D, zb: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.matMul(za, zb, false, true), temperature));
}

/** ℓ_{a→b} from S^{ab}: the mean over rows of log Σ_j e^{S_ij} − S_ii. */
export function directionLoss(s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(logSumExp(s), diagonal(s))));
}

/** ℓ_ab = ½ (ℓ_{a→b} + ℓ_{b→a}). */
export function pairLoss(za: tf.Tensor2D, zb: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const s = similarityMatrix(za, zb, temperature);
    return tf.mul(tf.add(directionLoss(s), directionLoss(tf.transpose(s))), 0.5);
  });
}

/** The view pairs (a, b), a < b, of n views, in order. */
export function viewPairs(n: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) pairs.push([a, b]);
  return pairs;
}

/** L = Σ_{a<b} ℓ_ab over the views' unit projections (at least two views). */
export function multiViewLoss(z: readonly tf.Tensor2D[], temperature: number): tf.Scalar {
  if (z.length < 2) throw new RangeError(`a contrastive loss needs at least two views, got ${z.length}`);
  return tf.tidy(() => tf.addN(viewPairs(z.length).map(([a, b]) => pairLoss(z[a], z[b], temperature))) as tf.Scalar);
}
