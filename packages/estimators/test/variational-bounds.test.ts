/**
 * The bounds as formulas, independent of any training: tfjs ops on score matrices against
 * plain float64 loops written here from the definitions, hand-worked 2×2 values, InfoNCE ≤ log K
 * for arbitrary scores, the gradients that make MINE's correction and SMILE's stop-gradient
 * work, the held-out combination rules, and the bounds with the optimal critic of a Gaussian.
 *
 * Tolerances: float32 ops against float64 references agree to 1e-5 relative (scores O(1–100));
 * optimal-critic checks state theirs below.
 */
import { SeededRandom } from '@mmmi/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  combineDv,
  combineRowMeans,
  diagonal,
  dvBound,
  ensureTrainingBackend,
  infonceBound,
  infonceRowTerms,
  jsBound,
  logSumExp,
  mineSurrogateLoss,
  nwjBound,
  nwjRowTerms,
  offDiagonalLogMeanExp,
  smileBound,
  stopGradient,
} from '../src/variational/index.js';

beforeAll(async () => {
  await ensureTrainingBackend();
});

type Matrix = number[][];
const lse = (v: number[]) => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};
const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const offDiagonal = (s: Matrix) => s.flatMap((row, i) => row.filter((_, j) => j !== i));
const diag = (s: Matrix) => s.map((row, i) => row[i]);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** Float64 references, straight from the definitions. */
const reference = {
  infonce: (s: Matrix) => mean(s.map((row, i) => row[i] - lse(row))) + Math.log(s.length),
  nwj: (s: Matrix) => mean(diag(s)) - mean(offDiagonal(s).map((v) => Math.exp(v - 1))),
  dv: (s: Matrix) => mean(diag(s)) - Math.log(mean(offDiagonal(s).map(Math.exp))),
  smile: (s: Matrix, tau: number) => mean(diag(s)) - Math.log(mean(offDiagonal(s).map((v) => Math.min(Math.max(Math.exp(v), Math.exp(-tau)), Math.exp(tau))))),
  js: (s: Matrix) => -mean(diag(s).map((v) => softplus(-v))) - mean(offDiagonal(s).map(softplus)),
};

const value = (f: (s: tf.Tensor2D) => tf.Tensor, s: Matrix): number => tf.tidy(() => f(tf.tensor2d(s)).dataSync()[0]);
const values = (f: (s: tf.Tensor2D) => tf.Tensor, s: Matrix): number[] => tf.tidy(() => Array.from(f(tf.tensor2d(s)).dataSync()));

function randomScores(random: SeededRandom, k: number, scale: number): Matrix {
  return Array.from({ length: k }, () => Array.from({ length: k }, () => scale * random.normal()));
}

describe('bounds on hand-worked score matrices', () => {
  const s = [
    [1, 0],
    [2, 3],
  ];
  const e = Math.E;
  it('2×2: each bound by hand', () => {
    // InfoNCE: ½[(1 − log(e + 1)) + (3 − log(e² + e³))] + log 2
    expect(value(infonceBound, s)).toBeCloseTo(0.5 * (1 - Math.log(e + 1) + 3 - Math.log(e ** 2 + e ** 3)) + Math.log(2), 6);
    // NWJ: mean diag 2, negatives e^{0−1}, e^{2−1}
    expect(value(nwjBound, s)).toBeCloseTo(2 - (1 / e + e) / 2, 6);
    // DV: 2 − log((e⁰ + e²)/2)
    expect(value(dvBound, s)).toBeCloseTo(2 - Math.log((1 + e ** 2) / 2), 6);
    // SMILE τ = 1: e² is clipped to e¹, e⁰ stays
    expect(value((t) => smileBound(t, 1), s)).toBeCloseTo(2 - Math.log((1 + e) / 2), 6);
    // τ = 5 clips nothing here: SMILE = DV
    expect(value((t) => smileBound(t, 5), s)).toBeCloseTo(value(dvBound, s), 6);
    // JS: −½[softplus(−1) + softplus(−3)] − ½[softplus(0) + softplus(2)]
    expect(value(jsBound, s)).toBeCloseTo(-(softplus(-1) + softplus(-3)) / 2 - (softplus(0) + softplus(2)) / 2, 6);
    expect(values(diagonal, s)).toEqual([1, 3]);
    expect(value(offDiagonalLogMeanExp, s)).toBeCloseTo(Math.log((1 + e ** 2) / 2), 6);
  });

  it('per-row terms average to the bound', () => {
    const s3 = randomScores(new SeededRandom(3), 7, 2);
    expect(mean(values(infonceRowTerms, s3))).toBeCloseTo(value(infonceBound, s3), 5);
    expect(mean(values(nwjRowTerms, s3))).toBeCloseTo(value(nwjBound, s3), 5);
    // NWJ's row i: S_ii − (1/(K−1)) Σ_{j≠i} e^{S_ij − 1}
    const row0 = s3[0][0] - mean(s3[0].slice(1).map((v) => Math.exp(v - 1)));
    expect(values(nwjRowTerms, s3)[0]).toBeCloseTo(row0, 5);
  });

  it('random matrices (K = 3…64, scale up to 30): every bound equals its float64 reference', () => {
    const random = new SeededRandom(11);
    for (const k of [3, 5, 16, 64])
      for (const scale of [0.1, 1, 5, 30]) {
        const s = randomScores(random, k, scale);
        // float32 rounding of terms as large as the largest |S_ij| (a difference of such terms can be small)
        const big = Math.max(1, ...s.flat().map(Math.abs));
        const cases: [string, (t: tf.Tensor2D) => tf.Tensor, number][] = [
          ['infonce', infonceBound, reference.infonce(s)],
          ['dv', dvBound, reference.dv(s)],
          ['smile', (t) => smileBound(t, 5), reference.smile(s, 5)],
          ['smile τ=0.5', (t) => smileBound(t, 0.5), reference.smile(s, 0.5)],
          ['js', jsBound, reference.js(s)],
        ];
        // NWJ's e^{S−1} overflows float32 above S ≈ 89: compared where it does not, relatively
        if (scale <= 5) cases.push(['nwj', nwjBound, reference.nwj(s)]);
        for (const [name, f, ref] of cases) {
          const v = value(f, s);
          const tol = name === 'nwj' ? 1e-5 * Math.max(1, Math.abs(ref)) : 1e-5 * Math.max(big, Math.abs(ref));
          if (!(Math.abs(v - ref) <= tol)) expect.fail(`${name} K=${k} scale ${scale}: ${v} vs ${ref}`);
        }
      }
  });

  it('InfoNCE ≤ log K for any scores (500 random matrices, including a dominant diagonal)', () => {
    const random = new SeededRandom(5);
    for (let trial = 0; trial < 500; trial++) {
      const k = 2 + (trial % 30);
      const s = randomScores(random, k, 0.1 + (trial % 7) * 3);
      if (trial % 5 === 0) for (let i = 0; i < k; i++) s[i][i] += 50; // a near-perfect critic
      const v = value(infonceBound, s);
      expect(v).toBeLessThanOrEqual(Math.log(k) + 1e-6);
      expect(values(infonceRowTerms, s).every((t) => t <= Math.log(k) + 1e-6)).toBe(true);
    }
  });
});

describe('logSumExp and the gradient tools', () => {
  it('logSumExp: equal to the float64 reference over rows and flat, huge and masked entries included; gradient softmax', () => {
    const rows = [
      [1000, 999, -5],
      [-1e9, 0.5, 0.25],
      [3, 3, 3],
    ];
    const got = values((t) => logSumExp(t), rows);
    rows.forEach((r, i) => expect(got[i]).toBeCloseTo(lse(r), 4));
    expect(value((t) => logSumExp(tf.reshape(t, [-1])), rows)).toBeCloseTo(lse(rows.flat()), 3);
    const x = tf.tensor1d([0.3, -1.2, 2.5, 0]);
    const g = tf.grad((t: tf.Tensor) => logSumExp(t))(x);
    const ref = [0.3, -1.2, 2.5, 0].map((v) => Math.exp(v - lse([0.3, -1.2, 2.5, 0])));
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(ref[i], 6));
    tf.dispose([x, g]);
  });

  it('stopGradient: identity forward, zero gradient', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.add(stopGradient(tf.square(t)), t)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(tf.tidy(() => stopGradient(tf.square(x)).dataSync()))).toEqual([1, 4, 9]);
    tf.dispose([x, g]);
  });

  it("MINE's surrogate: gradient −1/K on the diagonal and e^{S_ij}/(K(K−1)·ḿ) off it (the moving average ḿ in place of the batch mean)", () => {
    const s = [
      [0.5, -0.2, 0.1],
      [0.3, 1.2, -0.4],
      [0.0, 0.7, 0.9],
    ];
    const k = 3;
    const logMa = Math.log(1.7);
    const st = tf.tensor2d(s);
    const g = tf.grad((t: tf.Tensor) => mineSurrogateLoss(t as tf.Tensor2D, tf.scalar(logMa)))(st);
    const got = g.arraySync() as number[][];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) expect(got[i][j]).toBeCloseTo(i === j ? -1 / k : Math.exp(s[i][j]) / (k * (k - 1) * 1.7), 6);
    // with ḿ equal to the batch mean m it is the plain DV gradient
    const gDv = tf.grad((t: tf.Tensor) => tf.neg(dvBound(t as tf.Tensor2D)))(st);
    const gSame = tf.grad((t: tf.Tensor) => mineSurrogateLoss(t as tf.Tensor2D, tf.scalar(Math.log(mean(offDiagonal(s).map(Math.exp))))))(st);
    Array.from(gDv.dataSync()).forEach((v, i) => expect(gSame.dataSync()[i]).toBeCloseTo(v, 6));
    tf.dispose([st, g, gDv, gSame]);
  });
});

describe('held-out combination', () => {
  it('InfoNCE/NWJ: mean of batch means, batch-means standard error', () => {
    const v = combineRowMeans([Float64Array.from([1, 2, 3]), Float64Array.from([4, 5, 6])]);
    expect(v.estimate).toBeCloseTo(3.5, 12);
    // batch means 2 and 5: sd 3/√2, over √2
    expect(v.standardError).toBeCloseTo(1.5, 12);
    // the naive per-row error: sd(1…6)/√6
    expect(v.details.rowStandardError).toBeCloseTo(Math.sqrt(3.5) / Math.sqrt(6), 12);
    expect(combineRowMeans([Float64Array.from([1, 2])]).standardError).toBeNull();
  });

  it('DV/SMILE: ā − log m̄ pooled, delta-method standard error', () => {
    // a = (1, 3), m = (1, 3): m̄ = 2; u = a − m/m̄ = (0.5, 1.5), sd 1/√2, SE ½
    const v = combineDv([1, 3], [0, Math.log(3)]);
    expect(v.estimate).toBeCloseTo(2 - Math.log(2), 12);
    expect(v.standardError).toBeCloseTo(0.5, 12);
    expect(combineDv([1], [0]).standardError).toBeNull();
    // pooling is not the mean of per-batch DV values (those would give 2 − ½ log 3)
    expect(v.estimate).not.toBeCloseTo(2 - 0.5 * Math.log(3), 3);
  });
});

/**
 * The optimal critic of a standard bivariate Gaussian with correlation ρ,
 * f*(x, y) = log p(y|x)/p(y) = −½ log(1 − ρ²) − (ρ²x² − 2ρxy + ρ²y²)/(2(1 − ρ²)), plugged into each
 * bound on K = 1500 pairs, averaged over 4 independent matrices. NWJ with f* + 1 and DV with f*
 * attain I in expectation (up to DV's O(1/K²) log bias); InfoNCE is biased low by a term that
 * shrinks with K (and can never exceed log K): measured over 20 seeds at K = 1500 its mean gap is
 * 0.001 (ρ = 0.5) and 0.01 (ρ = 0.9), below the noise. The noise, dominated by the K positive
 * pairs' mean of f*, was measured over 20 seeds as a spread of 0.015 (ρ = 0.5) and 0.031
 * (ρ = 0.9) for one matrix, so 0.0075 and 0.016 for the mean of 4; the checks allow 4 of those
 * (0.03, 0.065).
 */
describe('the optimal critic of a Gaussian', () => {
  const optimalScores = (rho: number, k: number, seed: number): Matrix => {
    const random = new SeededRandom(seed);
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < k; i++) {
      x.push(random.normal());
      y.push(rho * x[i] + Math.sqrt(1 - rho * rho) * random.normal());
    }
    const c = -0.5 * Math.log(1 - rho * rho);
    return x.map((xi) => y.map((yj) => c - (rho * rho * xi * xi - 2 * rho * xi * yj + rho * rho * yj * yj) / (2 * (1 - rho * rho))));
  };

  for (const [rho, tol] of [
    [0.5, 0.03],
    [0.9, 0.065],
  ] as const) {
    const truth = -0.5 * Math.log(1 - rho * rho);
    it(`ρ = ${rho} (I = ${truth.toFixed(3)}): NWJ(f* + 1), DV(f*) and InfoNCE(f*) ≈ I; NWJ(f*) ≈ I − 1/e; DV ignores the shift`, () => {
      const got = { nwj: [] as number[], nwjUnshifted: [] as number[], dv: [] as number[], dvShifted: [] as number[], nce: [] as number[] };
      for (let seed = 0; seed < 4; seed++) {
        const s = optimalScores(rho, 1500, 42 + seed);
        tf.tidy(() => {
          const t = tf.tensor2d(s);
          const shifted = tf.add<tf.Tensor2D>(t, 1);
          got.nwj.push(nwjBound(shifted).dataSync()[0]);
          got.nwjUnshifted.push(nwjBound(t).dataSync()[0]);
          got.dv.push(dvBound(t).dataSync()[0]);
          got.dvShifted.push(dvBound(shifted).dataSync()[0]);
          got.nce.push(infonceBound(t).dataSync()[0]);
        });
      }
      expect(Math.abs(mean(got.nwj) - truth)).toBeLessThan(tol);
      expect(Math.abs(mean(got.dv) - truth)).toBeLessThan(tol);
      expect(Math.abs(mean(got.nce) - truth)).toBeLessThan(tol);
      // NWJ with f* itself: E_p f* − e^{−1} E_q e^{f*} = I − 1/e
      expect(Math.abs(mean(got.nwjUnshifted) - (truth - 1 / Math.E))).toBeLessThan(tol);
      // float32 sums of 2.25 million terms: equal to about 1e-4
      got.dv.forEach((v, i) => expect(Math.abs(got.dvShifted[i] - v)).toBeLessThan(1e-3));
    });
  }

  it('a small batch caps InfoNCE at log K even for the optimal critic of a high-MI pair (ρ = 0.999, I = 3.1 > log 8)', () => {
    const truth = -0.5 * Math.log(1 - 0.999 ** 2);
    const values8: number[] = [];
    for (let seed = 0; seed < 50; seed++) values8.push(value(infonceBound, optimalScores(0.999, 8, seed)));
    expect(Math.max(...values8)).toBeLessThanOrEqual(Math.log(8) + 1e-6);
    expect(mean(values8)).toBeGreaterThan(Math.log(8) - 0.3); // close to min(I, log K) = log 8
    expect(truth).toBeGreaterThan(Math.log(8));
  });
});
