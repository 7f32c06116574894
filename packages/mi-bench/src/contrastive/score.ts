/**
 * What a trained network says about held-out draws: its representations and projections, and
 * per draw the similarity of its two views, in two forms:
 *
 *   cosine      c_i = ⟨z^a_i, z^b_i⟩ ∈ [−1, 1], the paper's score (arXiv 2510.21686 compares it
 *               with the per-sample PMI);
 *   normalised  n_i = c_i/τ − log (1/m) Σ_j e^{⟨z^a_i, z^b_j⟩/τ} over the m scored draws: InfoNCE's
 *               normalisation, which removes any function of x^a_i alone (the InfoNCE optimum is
 *               log p(x^b | x^a)/p(x^b) + c(x^a)), so that for an optimal critic it tends to the
 *               PMI as m grows. Its mean over the m draws is the InfoNCE bound with K = m
 *               (≤ log m): a lower-bound estimate of I(X_a; X_b) from the held-out draws.
 *
 * The m² similarities are plain float64 loops over float32 projections: for a thousand draws
 * that is well under a second, and no tensor outlives a call.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ContrastiveNetwork } from './model.js';

/** Rows per forward pass when encoding many draws. */
const CHUNK = 256;

/** h_v (`represent`) or z_v (`project`) of every draw in `values` (count × dim), as count × width float32. */
export function encodeAll(
  net: ContrastiveNetwork,
  view: number,
  values: Float32Array,
  dim: number,
  what: 'represent' | 'project',
): { data: Float32Array; width: number } {
  const count = values.length / dim;
  const parts: Float32Array[] = [];
  let width = 0;
  for (let i = 0; i < count; i += CHUNK) {
    const to = Math.min(count, i + CHUNK);
    const out = tf.tidy(() => {
      const x = tf.tensor2d(values.subarray(i * dim, to * dim), [to - i, dim]);
      return what === 'represent' ? net.represent(view, x) : net.project(view, x);
    });
    width = out.shape[1];
    parts.push(out.dataSync() as Float32Array);
    out.dispose();
  }
  const data = new Float32Array(count * width);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, width };
}

export interface SimilarityScores {
  cosine: Float64Array;
  normalised: Float64Array;
  /** Mean of `normalised`: the InfoNCE bound with K = m, nats. */
  infonce: number;
}

/** Scores of m draws from their unit projections za, zb (m × e each). */
export function similarityScores(za: Float32Array, zb: Float32Array, m: number, e: number, temperature: number): SimilarityScores {
  const cosine = new Float64Array(m);
  const normalised = new Float64Array(m);
  const row = new Float64Array(m);
  let sum = 0;
  for (let i = 0; i < m; i++) {
    let max = -Infinity;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let t = 0; t < e; t++) s += za[i * e + t] * zb[j * e + t];
      row[j] = s / temperature;
      if (row[j] > max) max = row[j];
    }
    let lse = 0;
    for (let j = 0; j < m; j++) lse += Math.exp(row[j] - max);
    cosine[i] = row[i] * temperature;
    normalised[i] = row[i] - (max + Math.log(lse / m));
    sum += normalised[i];
  }
  return { cosine, normalised, infonce: sum / m };
}
