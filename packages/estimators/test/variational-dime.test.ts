/**
 * f-DIME: derangements, the three objectives and read-outs against hand-worked values and
 * float64 loops, the optimal critics of a Gaussian plugged in, and the three estimators trained
 * on 1-D Gaussians of known MI.
 *
 * Tolerances, and why:
 *  - derangements: a uniform derangement of 4 positions is each of the 9 with probability 1/9;
 *    9000 draws give a χ² statistic (8 degrees of freedom) below 26.1 with probability 0.999. For
 *    6 positions, P(σ(i) = j) = 1/5 for every j ≠ i; each of the 30 counts of 12 000 draws has sd
 *    √(12 000·0.2·0.8) ≈ 44, and the check allows 5 sd (220; all 30 within it with probability
 *    > 0.9999).
 *  - formulas: float32 ops against float64 references, 1e-5 relative (1/softplus(T) reaches e^{20}).
 *  - optimal critics: each read-out of T* is the PMI itself (float32 rounding only: 1e-4), so its
 *    mean over N = 6000 joint pairs is within 4 standard errors of I, the standard error
 *    sd(PMI)/√N computed in float64 from the same pairs. KL-DIME's J at its optimum equals I too
 *    (J_KL = E_p log r − E_q r + 1), within 4 standard errors of its per-row terms.
 *    Each J is largest at T*: moving T* by ±0.5 or scaling it by 1.3 lowers it on the same pairs.
 *  - trained (n = 4000, the options of variational-gaussian.test.ts: learning rate 3e-3, at most 1000
 *    steps, early stopping on J): measured over three data seeds (7, 8, 9), at ρ = 0.9 (I = 0.830)
 *    KL-DIME 0.685–0.776, GAN-DIME 0.781–0.801 (and 0.663, 0.664 for both on variational-dime-maps'
 *    seed 2), HD-DIME 0.562–0.608; at ρ = 0.5 (I = 0.144) 0.068–0.159,
 *    0.090–0.153 and 0.055–0.112; standard errors 0.01–0.035. So below: I − max(0.1, 20 % of I) for KL-
 *    and GAN-DIME, I − max(0.1, 35 % of I) for HD-DIME, which lands lowest: its read-out −2 log D doubles
 *    an error in D's scale, which its objective penalises weakly (J_HD(c·D*) = J* − (c + 1/c − 2)·BC,
 *    BC = ∫√(p·p_x p_y) = 0.74 here, so a read-out 0.25 nats off costs J only 0.012). Above (the
 *    read-out is no bound): I + max(0.1, 15 % of I) + 4 standard errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '@mmmi/test-utils';
import { mulberry32 } from '../src/random.js';
import {
  combineBatches,
  cyclicDerangement,
  DIME_NAMES,
  dimeEstimate,
  dimeLogRatio,
  dimeObjective,
  dimeObjectiveRowTerms,
  ensureTrainingBackend,
  hasFixedPoint,
  logSoftplus,
  permutationMatrix,
  randomDerangement,
  stableSoftplus,
  VARIATIONAL_ESTIMATORS,
  type CurvePoint,
  type DimeName,
  type VariationalOptions,
} from '../src/variational/index.js';
import { gaussianMiOf, gaussianPairs, gaussianPmi } from './variational-data.js';

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
const sd = (v: ArrayLike<number>) => {
  const m = mean(v);
  return Math.sqrt(Array.from(v).reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};
/** softplus in float64, without overflow. */
const softplus = (t: number) => Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));
/** Its inverse, softplus⁻¹(u) = log(e^u − 1), stable for large u. */
const softplusInverse = (u: number) => (u > 30 ? u + Math.log1p(-Math.exp(-u)) : Math.log(Math.expm1(u)));

/** Float64 references from the paper's definitions (./src/variational/dime.ts module notes). */
const reference = {
  objective(name: DimeName, pos: number[], neg: number[]): number {
    switch (name) {
      case 'kl-dime':
        return mean(pos.map((t) => Math.log(softplus(t)))) - mean(neg.map(softplus)) + 1;
      case 'gan-dime':
        return -mean(pos.map((t) => softplus(-t))) - mean(neg.map(softplus)) + Math.log(4);
      case 'hd-dime':
        return 2 - mean(pos.map(softplus)) - mean(neg.map((t) => 1 / softplus(t)));
    }
  },
  logRatio(name: DimeName, t: number): number {
    switch (name) {
      case 'kl-dime':
        return Math.log(softplus(t));
      case 'gan-dime':
        return t;
      case 'hd-dime':
        return -2 * Math.log(softplus(t));
    }
  },
  /** The T whose read-out is log r: the optimum of each objective. */
  optimalT(name: DimeName, logR: number): number {
    switch (name) {
      case 'kl-dime':
        return softplusInverse(Math.exp(logR)); // softplus(T) = r
      case 'gan-dime':
        return logR; // σ(T)/(1 − σ(T)) = r
      case 'hd-dime':
        return softplusInverse(Math.exp(-logR / 2)); // softplus(T) = r^{−1/2}
    }
  },
};

const tensorValue = (f: () => tf.Tensor): number => tf.tidy(() => f().dataSync()[0]);
const tensorValues = (f: () => tf.Tensor): number[] => tf.tidy(() => Array.from(f().dataSync()));

beforeAll(async () => {
  await ensureTrainingBackend();
});

describe('derangements', () => {
  it('no fixed point, every position moved, for K = 2…40; K = 2 is the swap; seeded', () => {
    const random = mulberry32(1);
    for (let k = 2; k <= 40; k++)
      for (let trial = 0; trial < 50; trial++) {
        const p = randomDerangement(k, random);
        expect(hasFixedPoint(p)).toBe(false);
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: k }, (_, i) => i)); // a permutation
      }
    expect(Array.from(randomDerangement(2, random))).toEqual([1, 0]);
    expect(Array.from(randomDerangement(9, mulberry32(5)))).toEqual(Array.from(randomDerangement(9, mulberry32(5))));
    expect(() => randomDerangement(1, random)).toThrow(/at least 2 positions/);
    expect(Array.from(cyclicDerangement(4))).toEqual([1, 2, 3, 0]);
    expect(hasFixedPoint([1, 1, 0])).toBe(true);
  });

  it('uniform: the 9 derangements of 4 positions equally often (χ², 8 dof, < 26.1)', () => {
    const random = mulberry32(2);
    const counts = new Map<string, number>();
    const draws = 9000;
    for (let i = 0; i < draws; i++) {
      const key = Array.from(randomDerangement(4, random)).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(9); // D_4 = 9
    const expected = draws / 9;
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(26.1);
  });

  it("each position's image spread evenly over the other 5 (K = 6, 12 000 draws, each count within 5 sd of 2400)", () => {
    const random = mulberry32(3);
    const k = 6;
    const draws = 12000;
    const counts = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    for (let d = 0; d < draws; d++) {
      const p = randomDerangement(k, random);
      for (let i = 0; i < k; i++) counts[i][p[i]]++;
    }
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) {
        if (i === j) expect(counts[i][j]).toBe(0);
        else expect(Math.abs(counts[i][j] - draws / 5)).toBeLessThan(220);
      }
  });

  it('the permutation matrix takes row σ(i) to row i', () => {
    const sigma = Int32Array.from([2, 0, 1]);
    const e = [
      [1, 10],
      [2, 20],
      [3, 30],
    ];
    const got = tf.tidy(() => tf.matMul(tf.tensor2d(permutationMatrix(sigma), [3, 3]), tf.tensor2d(e)).arraySync());
    expect(got).toEqual([e[2], e[0], e[1]]);
  });
});

describe('objectives and read-outs', () => {
  const pos = [0, 2];
  const neg = [-1, 1];

  it('by hand: J and log R̂ of each variant on joint scores (0, 2) and deranged scores (−1, 1)', () => {
    const cases: [DimeName, number, number[]][] = [
      // KL: ½[log sp(0) + log sp(2)] − ½[sp(−1) + sp(1)] + 1; log R̂ = log sp(T)
      [
        'kl-dime',
        (Math.log(Math.log(2)) + Math.log(Math.log(1 + Math.E ** 2))) / 2 - (Math.log(1 + 1 / Math.E) + Math.log(1 + Math.E)) / 2 + 1,
        [Math.log(Math.log(2)), Math.log(Math.log(1 + Math.E ** 2))],
      ],
      // GAN: −½[sp(0) + sp(−2)] − ½[sp(−1) + sp(1)] + log 4; log R̂ = T
      ['gan-dime', -(Math.log(2) + Math.log(1 + Math.E ** -2)) / 2 - (Math.log(1 + 1 / Math.E) + Math.log(1 + Math.E)) / 2 + Math.log(4), [0, 2]],
      // HD: 2 − ½[sp(0) + sp(2)] − ½[1/sp(−1) + 1/sp(1)]; log R̂ = −2 log sp(T)
      [
        'hd-dime',
        2 - (Math.log(2) + Math.log(1 + Math.E ** 2)) / 2 - (1 / Math.log(1 + 1 / Math.E) + 1 / Math.log(1 + Math.E)) / 2,
        [-2 * Math.log(Math.log(2)), -2 * Math.log(Math.log(1 + Math.E ** 2))],
      ],
    ];
    for (const [name, j, logR] of cases) {
      expect(tensorValue(() => dimeObjective(name, tf.tensor1d(pos), tf.tensor1d(neg)))).toBeCloseTo(j, 6);
      expect(j).toBeCloseTo(reference.objective(name, pos, neg), 12); // the references agree with the hand
      const got = tensorValues(() => dimeLogRatio(name, tf.tensor1d(pos)));
      got.forEach((v, i) => expect(v).toBeCloseTo(logR[i], 6));
      expect(tensorValue(() => dimeEstimate(name, tf.tensor1d(pos)))).toBeCloseTo(mean(logR), 6);
    }
  });

  it('random scores in [−30, 30] (all branches of softplus): J, its row terms and log R̂ equal the float64 references', () => {
    const random = new SeededRandom(23);
    for (const name of DIME_NAMES)
      for (const scale of [0.5, 3, 12, 30]) {
        const k = 64;
        const p = Array.from({ length: k }, () => Math.max(-30, Math.min(30, scale * random.normal())));
        const n = Array.from({ length: k }, () => Math.max(-30, Math.min(30, scale * random.normal())));
        // HD's 1/sp(T) is as large as e^{−T}: kept below e^{20} so float32 sums stay meaningful
        const nn = name === 'hd-dime' ? n.map((t) => Math.max(t, -20)) : n;
        const ref = reference.objective(name, p, nn);
        const j = tensorValue(() => dimeObjective(name, tf.tensor1d(p), tf.tensor1d(nn)));
        if (!(Math.abs(j - ref) <= 1e-5 * Math.max(1, Math.abs(ref)))) expect.fail(`${name} scale ${scale}: J ${j} vs ${ref}`);
        const rows = tensorValues(() => dimeObjectiveRowTerms(name, tf.tensor1d(p), tf.tensor1d(nn)));
        expect(Math.abs(mean(rows) - j)).toBeLessThan(1e-5 * Math.max(1, Math.abs(j)));
        const logR = tensorValues(() => dimeLogRatio(name, tf.tensor1d(p)));
        logR.forEach((v, i) => {
          const r = reference.logRatio(name, p[i]);
          if (!(Math.abs(v - r) <= 1e-5 * Math.max(1, Math.abs(r)))) expect.fail(`${name}: log R̂(${p[i]}) = ${v}, want ${r}`);
        });
      }
  });

  it('softplus and log softplus: float64 values across the branches, gradient σ(t) (½ at 0), finite far out', () => {
    const ts = [-100, -30, -20.5, -19.5, -5, -1e-3, 0, 1e-3, 5, 30, 100];
    const got = tensorValues(() => stableSoftplus(tf.tensor1d(ts)));
    got.forEach((v, i) => expect(Math.abs(v - softplus(ts[i]))).toBeLessThanOrEqual(1e-6 * Math.max(softplus(ts[i]), 1e-30)));
    const logs = tensorValues(() => logSoftplus(tf.tensor1d(ts)));
    logs.forEach((v, i) => expect(Math.abs(v - Math.log(softplus(ts[i])))).toBeLessThan(1e-5 * Math.max(1, Math.abs(Math.log(softplus(ts[i]))))));
    const grads = tf.tidy(() =>
      Array.from(
        tf
          .grad((t: tf.Tensor) => tf.sum(stableSoftplus(t)))(tf.tensor1d(ts))
          .dataSync(),
      ),
    );
    grads.forEach((g, i) => expect(g).toBeCloseTo(1 / (1 + Math.exp(-ts[i])), 6));
    const logGrads = tf.tidy(() =>
      Array.from(
        tf
          .grad((t: tf.Tensor) => tf.sum(logSoftplus(t)))(tf.tensor1d(ts))
          .dataSync(),
      ),
    );
    // d/dt log softplus(t) = σ(t)/softplus(t): 1 far below 0, → 0 far above
    logGrads.forEach((g, i) => expect(g).toBeCloseTo(1 / (1 + Math.exp(-ts[i])) / softplus(ts[i]), 4));
  });

  it('held-out combination: the mean of batch read-outs with the batch-means error; the monitor is the mean J', () => {
    const v = combineBatches(
      'gan-dime',
      [
        { rows: Float64Array.from([1, 2, 3]), objective: 0.2, diagMean: 2, logMeanExp: NaN },
        { rows: Float64Array.from([4, 5, 6]), objective: 0.4, diagMean: 5, logMeanExp: NaN },
      ],
      3,
    );
    expect(v.estimate).toBeCloseTo(3.5, 12);
    expect(v.standardError).toBeCloseTo(1.5, 12);
    expect(v.monitor).toBeCloseTo(0.3, 12);
    expect(v.details.heldOutObjective).toBeCloseTo(0.3, 12);
  });
});

/**
 * The optimal T* of each variant for a standard bivariate Gaussian (T* = the T whose read-out is
 * the exact PMI) on N = 6000 joint pairs, negatives the next pair's y (independent: the pairs are
 * independent draws).
 */
describe('the optimal critic of a Gaussian', () => {
  for (const rho of [0.5, 0.9]) {
    const truth = gaussianMiOf([rho]);
    const n = 6000;
    const data = gaussianPairs(n, [rho], 400);
    const pmiPos = Array.from({ length: n }, (_, i) => gaussianPmi(data.x[i], data.y[i], rho));
    const pmiNeg = Array.from({ length: n }, (_, i) => gaussianPmi(data.x[i], data.y[(i + 1) % n], rho));
    const se = sd(pmiPos) / Math.sqrt(n);
    for (const name of DIME_NAMES)
      it(`${name}, ρ = ${rho}: the read-out of T* is the PMI, its mean within 4 SE of I = ${truth.toFixed(3)}; J is largest at T*`, () => {
        const tPos = pmiPos.map((v) => reference.optimalT(name, v));
        const tNeg = pmiNeg.map((v) => reference.optimalT(name, v));
        const logR = tensorValues(() => dimeLogRatio(name, tf.tensor1d(tPos)));
        logR.forEach((v, i) => expect(Math.abs(v - pmiPos[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(pmiPos[i]))));
        expect(Math.abs(mean(logR) - truth)).toBeLessThan(4 * se);
        const j = (pos: number[], neg: number[]) => tensorValue(() => dimeObjective(name, tf.tensor1d(pos), tf.tensor1d(neg)));
        const best = j(tPos, tNeg);
        for (const perturb of [(t: number) => t + 0.5, (t: number) => t - 0.5, (t: number) => 1.3 * t])
          expect(j(tPos.map(perturb), tNeg.map(perturb))).toBeLessThan(best);
        if (name === 'kl-dime') {
          // J_KL(T*) = E_p log r − E_q r + 1 = I; its per-row terms' standard error from the same pairs
          const rows = pmiPos.map((v, i) => v - Math.exp(pmiNeg[i]) + 1);
          expect(Math.abs(best - truth)).toBeLessThan(4 * (sd(rows) / Math.sqrt(n)) + 1e-4);
        }
      });
  }
});

describe('trained on 1-D Gaussians (n = 4000)', () => {
  const OPTIONS: VariationalOptions = { steps: 1000, learningRate: 3e-3, batchSize: 128, evalEvery: 50, patience: 4, seed: 1 };
  const table: string[] = [];
  afterAll(() => console.info(`f-DIME on 1-D Gaussians (n = 4000):\n${table.join('\n')}`));
  for (const rho of [0.5, 0.9]) {
    const truth = gaussianMiOf([rho]);
    const data = gaussianPairs(4000, [rho], 7);
    for (const name of DIME_NAMES)
      it(`${name}, ρ = ${rho}: near I = ${truth.toFixed(3)} (module notes); early stopping on J; no leaked tensors`, async () => {
        const before = tf.memory().numTensors;
        const e = await VARIATIONAL_ESTIMATORS[name].estimate(data, OPTIONS);
        expect(tf.memory().numTensors).toBe(before);
        const d = e.details as Record<string, unknown>;
        table.push(
          `  ${name} ρ=${rho}: ${e.estimate.toFixed(3)} ± ${e.standardError?.toFixed(3)} (I = ${truth.toFixed(3)}; kept step ${d.keptStep}; held-out J ${(d.heldOutObjective as number).toFixed(3)})`,
        );
        expect(e.estimator).toBe(name);
        expect(e.estimate).toBeGreaterThan(truth - Math.max(0.1, (name === 'hd-dime' ? 0.35 : 0.2) * truth));
        expect(e.estimate).toBeLessThan(truth + Math.max(0.1, 0.15 * truth) + 4 * (e.standardError as number));
        // early stopping kept the step whose held-out J was best, and the curve carries J beside the read-out
        const curve = d.curve as CurvePoint[];
        expect(curve.every((p) => Number.isFinite(p.monitor))).toBe(true);
        const best = curve.reduce((a, p) => ((p.monitor as number) > (a.monitor as number) ? p : a));
        expect(d.keptStep).toBe(best.step);
        expect(d.keptMonitor as number).toBeCloseTo(best.monitor as number, 5);
      });
  }
});
