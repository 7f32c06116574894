/**
 * The contrastive objectives and scores against plain float64 loops on small matrices: the
 * pairwise InfoNCE (both directions averaged), CMC's full-graph sum over view pairs, its
 * gradient (the loss goes through estimators' custom-gradient log-sum-exp) against central
 * differences, and the held-out scores (cosine, InfoNCE-normalised, their mean the bound).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureTrainingBackend } from '@mmmi/estimators';
import { SeededRandom } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { multiViewLoss, normaliseRows, pairLoss, viewPairs } from '../src/contrastive/loss.js';
import { similarityScores } from '../src/contrastive/score.js';

beforeAll(async () => {
  await ensureTrainingBackend('cpu');
});

/** Rows scaled to unit norm, float64. */
function unitRows(a: number[][]): number[][] {
  return a.map((r) => {
    const n = Math.sqrt(r.reduce((s, v) => s + v * v, 0) + 1e-12);
    return r.map((v) => v / n);
  });
}

/** ℓ_{a→b} by the definition: −(1/K) Σ_i [s_ii − log Σ_j e^{s_ij}], s_ij = ⟨a_i, b_j⟩/τ. */
function directionLoss64(a: number[][], b: number[][], tau: number): number {
  const k = a.length;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const s = b.map((bj) => a[i].reduce((acc, v, t) => acc + v * bj[t], 0) / tau);
    const lse = Math.log(s.reduce((acc, v) => acc + Math.exp(v), 0));
    total += lse - s[i];
  }
  return total / k;
}

/** Σ_{a<b} ½(ℓ_{a→b} + ℓ_{b→a}) on raw (unnormalised) rows. */
function multiView64(views: number[][][], tau: number): number {
  const z = views.map(unitRows);
  let sum = 0;
  for (let a = 0; a < z.length; a++) for (let b = a + 1; b < z.length; b++) sum += 0.5 * (directionLoss64(z[a], z[b], tau) + directionLoss64(z[b], z[a], tau));
  return sum;
}

function randomMatrix(rng: SeededRandom, k: number, e: number): number[][] {
  return Array.from({ length: k }, () => Array.from({ length: e }, () => rng.normal()));
}

const value = (t: tf.Scalar) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describe('contrastive loss', () => {
  it('is the symmetric InfoNCE of a pair, by a float64 loop', () => {
    const rng = new SeededRandom(3);
    for (const [k, e, tau] of [
      [5, 3, 0.5],
      [8, 4, 0.1],
      [2, 2, 1],
    ] as const) {
      const a = randomMatrix(rng, k, e);
      const b = randomMatrix(rng, k, e);
      const got = value(tf.tidy(() => pairLoss(normaliseRows(tf.tensor2d(a)), normaliseRows(tf.tensor2d(b)), tau)));
      const want = multiView64([a, b], tau);
      expect(Math.abs(got - want)).toBeLessThan(2e-5 * Math.max(1, Math.abs(want)));
      // each direction is log K minus an InfoNCE bound, which cannot exceed log K: the loss is ≥ 0
      expect(want).toBeGreaterThan(0);
    }
  });

  it("sums the pairs of three and four views (CMC's full graph)", () => {
    const rng = new SeededRandom(11);
    expect(viewPairs(4)).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    for (const views of [3, 4]) {
      const raw = Array.from({ length: views }, () => randomMatrix(rng, 6, 3));
      const got = value(
        tf.tidy(() =>
          multiViewLoss(
            raw.map((m) => normaliseRows(tf.tensor2d(m))),
            0.5,
          ),
        ),
      );
      expect(Math.abs(got - multiView64(raw, 0.5))).toBeLessThan(5e-5);
    }
    expect(() => multiViewLoss([tf.zeros([2, 2]) as tf.Tensor2D], 0.5)).toThrow(/at least two views/);
  });

  it('has the gradient of its definition (central differences in float64)', () => {
    const rng = new SeededRandom(5);
    const a = randomMatrix(rng, 4, 3);
    const b = randomMatrix(rng, 4, 3);
    const tau = 0.5;
    const grad = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => pairLoss(normaliseRows(x as tf.Tensor2D), normaliseRows(tf.tensor2d(b)), tau))(tf.tensor2d(a))
        .arraySync(),
    ) as number[][];
    const h = 1e-5;
    for (let i = 0; i < 4; i++)
      for (let t = 0; t < 3; t++) {
        const plus = a.map((r) => [...r]);
        const minus = a.map((r) => [...r]);
        plus[i][t] += h;
        minus[i][t] -= h;
        const numeric = (multiView64([plus, b], tau) - multiView64([minus, b], tau)) / (2 * h);
        expect(Math.abs(grad[i][t] - numeric)).toBeLessThan(2e-3);
      }
  });
});

describe('held-out similarity scores', () => {
  it('are the cosine and its InfoNCE normalisation over the scored draws, by a float64 loop', () => {
    const rng = new SeededRandom(9);
    const m = 7;
    const e = 3;
    const tau = 0.4;
    const za = unitRows(randomMatrix(rng, m, e));
    const zb = unitRows(randomMatrix(rng, m, e));
    const got = similarityScores(Float32Array.from(za.flat()), Float32Array.from(zb.flat()), m, e, tau);
    let sum = 0;
    for (let i = 0; i < m; i++) {
      const s = zb.map((bj) => za[i].reduce((acc, v, t) => acc + v * bj[t], 0));
      const normalised = s[i] / tau - Math.log(s.reduce((acc, v) => acc + Math.exp(v / tau), 0) / m);
      expect(got.cosine[i]).toBeCloseTo(s[i], 6);
      expect(got.normalised[i]).toBeCloseTo(normalised, 5);
      sum += normalised;
    }
    // the mean is the InfoNCE bound with K = m: log m − ℓ_{a→b}, at most log m
    expect(got.infonce).toBeCloseTo(sum / m, 5);
    expect(got.infonce).toBeCloseTo(Math.log(m) - directionLoss64(za, zb, tau), 5);
    expect(got.infonce).toBeLessThanOrEqual(Math.log(m) + 1e-9);
  });
});
