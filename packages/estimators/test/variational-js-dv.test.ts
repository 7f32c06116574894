/**
 * The `js` and `dv` estimators and SMILE without a clip: the formulas against hand-worked 2×2
 * matrices and float64 loops, what each trains on (the gradient of its loss), the optimal
 * critics of a Gaussian plugged in, and the trained estimators on 1-D Gaussians of known MI.
 *
 * Tolerances, and why:
 *  - formulas: float32 ops against float64 references agree to 1e-5 relative (as in
 *    variational-bounds.test.ts); gradients to 1e-6.
 *  - optimal critics (K = 1500 pairs, 4 matrices): I_JS(f*) = I_NWJ(f* + 1) is the very quantity
 *    variational-bounds.test.ts checks with its measured spreads, so the same 0.03 (ρ = 0.5) and
 *    0.065 (ρ = 0.9); the unshifted I_NWJ(f*) sits at I − 1/e, outside that band: the shift is
 *    what makes the JS critic's value land on I.
 *  - trained (n = 4000, as variational-gaussian.test.ts): at least I − max(0.1, 15 % of I), at most
 *    4 standard errors + 0.01 above: both are lower bounds for the trained critic, read on held-out
 *    rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '@mmmi/test-utils';
import type { AllPairsObjective } from '../src/variational/objectives.js';
import { makeObjective } from '../src/variational/objectives.js';
import {
  combineBatches,
  dvBound,
  ensureTrainingBackend,
  jsBound,
  jsMiBound,
  jsMiRowTerms,
  nwjBound,
  smileBound,
  VARIATIONAL_ESTIMATORS,
  type BatchSummary,
  type VariationalOptions,
} from '../src/variational/index.js';
import { checkEstimate, gaussianMiOf, gaussianPairs, gaussianPmi } from './variational-data.js';

type Matrix = number[][];
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const diag = (s: Matrix) => s.map((row, i) => row[i]);
const offDiagonal = (s: Matrix) => s.flatMap((row, i) => row.filter((_, j) => j !== i));
const value = (f: (s: tf.Tensor2D) => tf.Tensor, s: Matrix): number => tf.tidy(() => f(tf.tensor2d(s)).dataSync()[0]);
const values = (f: (s: tf.Tensor2D) => tf.Tensor, s: Matrix): number[] => tf.tidy(() => Array.from(f(tf.tensor2d(s)).dataSync()));

/** Float64 references, from the definitions. */
const reference = {
  /** I_NWJ(f + 1) = 1 + mean_i S_ii − mean_{i≠j} e^{S_ij} */
  jsMi: (s: Matrix) => 1 + mean(diag(s)) - mean(offDiagonal(s).map(Math.exp)),
  dv: (s: Matrix) => mean(diag(s)) - Math.log(mean(offDiagonal(s).map(Math.exp))),
};

beforeAll(async () => {
  await ensureTrainingBackend();
});

describe('the formulas', () => {
  const s = [
    [1, 0],
    [2, 3],
  ];
  const e = Math.E;

  it('2×2 by hand: I_JS = 1 + 2 − (e⁰ + e²)/2, rows 1 + 1 − e⁰ and 3 + 1 − e²; DV = 2 − log((1 + e²)/2); SMILE with τ = ∞ is DV', () => {
    expect(value(jsMiBound, s)).toBeCloseTo(3 - (1 + e ** 2) / 2, 6);
    const rows = values(jsMiRowTerms, s);
    expect(rows[0]).toBeCloseTo(1, 6);
    expect(rows[1]).toBeCloseTo(4 - e ** 2, 6);
    expect(value(dvBound, s)).toBeCloseTo(2 - Math.log((1 + e ** 2) / 2), 6);
    expect(value((t) => smileBound(t, Infinity), s)).toBeCloseTo(2 - Math.log((1 + e ** 2) / 2), 6);
    // and τ = 1 does clip (e² → e), so the τ = ∞ case is not SMILE's clip by accident
    expect(value((t) => smileBound(t, 1), s)).toBeCloseTo(2 - Math.log((1 + e) / 2), 6);
  });

  it('random matrices (K = 3…64): I_JS and DV equal their float64 references; I_JS(f) = I_NWJ(f + 1); SMILE(τ = ∞) = DV', () => {
    const random = new SeededRandom(17);
    for (const k of [3, 5, 16, 64])
      for (const scale of [0.1, 1, 5]) {
        const s = Array.from({ length: k }, () => Array.from({ length: k }, () => scale * random.normal()));
        const big = Math.max(1, ...s.flat().map(Math.abs));
        const js = value(jsMiBound, s);
        const ref = reference.jsMi(s);
        // e^{S} up to e^{15} here: relative float32 rounding of the largest term
        if (!(Math.abs(js - ref) <= 1e-5 * Math.max(1, Math.abs(ref), Math.exp(big) / (k * (k - 1))))) expect.fail(`js K=${k} scale ${scale}: ${js} vs ${ref}`);
        expect(Math.abs(mean(values(jsMiRowTerms, s)) - js)).toBeLessThan(1e-5 * Math.max(1, Math.abs(js)));
        const shifted = value((t) => nwjBound(tf.add(t, 1)), s);
        expect(Math.abs(shifted - js)).toBeLessThan(1e-5 * Math.max(1, Math.abs(js)));
        const dv = value(dvBound, s);
        if (!(Math.abs(dv - reference.dv(s)) <= 1e-5 * Math.max(big, Math.abs(dv)))) expect.fail(`dv K=${k} scale ${scale}: ${dv} vs ${reference.dv(s)}`);
        expect(value((t) => smileBound(t, Infinity), s)).toBe(dv);
      }
  });

  it('what each trains on: js follows −∇J_JS (not its reported value), dv follows −∇I_DV; the step reports the value and its companion', () => {
    const s = [
      [0.5, -0.2, 0.1],
      [0.3, 1.2, -0.4],
      [0.0, 0.7, 0.9],
    ];
    const st = tf.tensor2d(s);
    const gradOf = (f: (t: tf.Tensor2D) => tf.Scalar) =>
      tf.tidy(() =>
        Array.from(
          tf
            .grad((t: tf.Tensor) => f(t as tf.Tensor2D))(st)
            .dataSync(),
        ),
      );
    for (const [bound, trainedOn, reported] of [
      ['js', (t: tf.Tensor2D) => tf.neg(jsBound(t)), reference.jsMi(s)],
      ['dv', (t: tf.Tensor2D) => tf.neg(dvBound(t)), reference.dv(s)],
    ] as const) {
      const objective = makeObjective(bound, { tau: 5, emaRate: 0.01 }) as AllPairsObjective;
      expect(objective.negatives).toBe('all-pairs');
      const g = gradOf((t) => objective.loss(t));
      const step = objective.afterStep();
      const want = gradOf(trainedOn as (t: tf.Tensor2D) => tf.Scalar);
      g.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
      expect(step.value).toBeCloseTo(reported, 5);
      if (bound === 'js') {
        // I_NWJ(f) beside it: mean S_ii − mean e^{S_ij − 1}
        expect(step.extras.unshiftedNwj).toBeCloseTo(mean(diag(s)) - mean(offDiagonal(s).map((v) => Math.exp(v - 1))), 5);
        // training on the reported value would have another gradient: the test can tell them apart
        const onValue = gradOf((t) => tf.neg(jsMiBound(t)));
        expect(Math.max(...onValue.map((v, i) => Math.abs(v - g[i])))).toBeGreaterThan(0.01);
      }
    }
    st.dispose();
  });

  it('held-out combination: js is the mean of its batch means and reports the unshifted NWJ; dv pools like MINE', () => {
    const batch = (rows: number[], unshifted: number[], diagMean: number, logMeanExp: number): BatchSummary => ({
      rows: Float64Array.from(rows),
      unshiftedRows: Float64Array.from(unshifted),
      diagMean,
      logMeanExp,
    });
    const summaries = [batch([1, 2, 3], [0, 1, 2], 1, 0), batch([4, 5, 6], [3, 4, 5], 3, Math.log(3))];
    const js = combineBatches('js', summaries, 3);
    expect(js.estimate).toBeCloseTo(3.5, 12);
    expect(js.standardError).toBeCloseTo(1.5, 12);
    expect(js.details.unshiftedNwj).toBeCloseTo(2.5, 12);
    const dv = combineBatches('dv', summaries, 3);
    // ā − log m̄ with a = (1, 3), m = (1, 3): 2 − log 2, SE ½ (the hand-worked case of variational-bounds.test.ts)
    expect(dv.estimate).toBeCloseTo(2 - Math.log(2), 12);
    expect(dv.standardError).toBeCloseTo(0.5, 12);
  });
});

/**
 * The optimal critic of a standard bivariate Gaussian, f*(x, y) = PMI(x, y) (the JS and DV
 * optimum), on K = 1500 pairs, 4 independent matrices.
 */
describe('the optimal critic of a Gaussian', () => {
  const optimalScores = (rho: number, k: number, seed: number): Matrix => {
    const data = gaussianPairs(k, [rho], seed);
    return Array.from(data.x, (xi) => Array.from(data.y, (yj) => gaussianPmi(xi, yj, rho)));
  };
  for (const [rho, tol] of [
    [0.5, 0.03],
    [0.9, 0.065],
  ] as const) {
    const truth = gaussianMiOf([rho]);
    it(`ρ = ${rho} (I = ${truth.toFixed(3)}): I_JS(f*) ≈ I and I_DV(f*) ≈ I; the unshifted I_NWJ(f*) ≈ I − 1/e`, () => {
      const got = { js: [] as number[], dv: [] as number[], unshifted: [] as number[] };
      for (let seed = 0; seed < 4; seed++) {
        const s = optimalScores(rho, 1500, 300 + seed);
        got.js.push(value(jsMiBound, s));
        got.dv.push(value(dvBound, s));
        got.unshifted.push(value(nwjBound, s));
      }
      expect(Math.abs(mean(got.js) - truth)).toBeLessThan(tol);
      expect(Math.abs(mean(got.dv) - truth)).toBeLessThan(tol);
      expect(Math.abs(mean(got.unshifted) - (truth - 1 / Math.E))).toBeLessThan(tol);
    });
  }
});

describe('trained on 1-D Gaussians (n = 4000)', () => {
  const OPTIONS: VariationalOptions = { steps: 1000, learningRate: 3e-3, batchSize: 128, evalEvery: 50, patience: 4, seed: 1 };
  const table: string[] = [];
  afterAll(() => console.info(`js and dv on 1-D Gaussians (n = 4000):\n${table.join('\n')}`));
  for (const rho of [0.5, 0.9]) {
    const truth = gaussianMiOf([rho]);
    const data = gaussianPairs(4000, [rho], 7);
    for (const bound of ['js', 'dv'] as const)
      it(`${bound}, ρ = ${rho}: within max(0.1, 15 %) below I = ${truth.toFixed(3)}, at most 4 SE above; no leaked tensors`, async () => {
        const before = tf.memory().numTensors;
        const e = await VARIATIONAL_ESTIMATORS[bound].estimate(data, OPTIONS);
        expect(tf.memory().numTensors).toBe(before);
        const d = e.details as Record<string, unknown>;
        table.push(
          `  ${bound} ρ=${rho}: ${e.estimate.toFixed(3)} ± ${e.standardError?.toFixed(3)} (I = ${truth.toFixed(3)}; kept step ${d.keptStep}${bound === 'js' ? `; unshifted NWJ ${(d.unshiftedNwj as number).toFixed(3)}` : ''})`,
        );
        expect(e.estimator).toBe(bound);
        expect(d.protocol).toBe('held-out');
        checkEstimate(e, truth, Math.max(0.1, 0.15 * truth));
        if (bound === 'js') expect(d.unshiftedNwj as number).toBeLessThan(e.estimate);
      });
  }
});
