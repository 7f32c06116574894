/**
 * The trained critic itself and the training machinery: per-sample scores against the exact
 * pointwise MI, independence, seeding, the concat critic, training curves and early stopping.
 *
 * Tolerances, and why (measured when writing the test on two data seeds, 1-D ρ = 0.9, n = 4000,
 * the default critic):
 *  - pointwiseScores (f − log mean_j e^{f(x_i, y_j)} over 2000 fresh pairs) against the exact
 *    PMI: Pearson r 0.947–0.981 for the four bounds; the check asks r > 0.9. pairScores (the raw
 *    critic): r 0.967–0.977 for NWJ, MINE and SMILE, whose optima are PMI plus a constant; the
 *    check asks r > 0.9. Not for InfoNCE, whose optimum is PMI + c(x) for any c (measured r 0.81).
 *    The constants: NWJ's critic sits at PMI + 1 (measured mean offsets 0.94, 0.97), SMILE's
 *    JS-trained one at PMI (measured 0.12, 0.18); the checks allow ±0.3.
 *  - independence (2-D, I = 0): between −0.05 and 4 standard errors + 0.01; measured −0.014…−0.002
 *    (a critic fitted to noise scores slightly below 0 on held-out rows).
 *  - concat critic: the 1-D checks of variational-gaussian.test.ts (15 % below, 4 SE above).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTrainingBackend, fitCritic, VARIATIONAL_ESTIMATORS, type CurvePoint, type VariationalOptions } from '../src/variational/index.js';
import { checkEstimate, gaussianMiOf, gaussianPairs, gaussianPmi, pearson } from './variational-data.js';

/** The four bounds this file was written for (js, dv and f-DIME: the variational-js-dv, -dime, -maps and -dime-maps tests). */
const BOUNDS = ['infonce', 'nwj', 'mine', 'smile'] as const;
const OPTIONS: VariationalOptions = { steps: 1000, learningRate: 3e-3, batchSize: 128, evalEvery: 50, patience: 4, seed: 1 };
const mean = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
};

beforeAll(async () => {
  await ensureTrainingBackend();
});

describe('fitCritic: per-sample scores against the exact PMI', () => {
  const rho = 0.9;
  const data = gaussianPairs(4000, [rho], 3);
  const fresh = gaussianPairs(2000, [rho], 33);
  const pmi = Float64Array.from({ length: fresh.n }, (_, i) => gaussianPmi(fresh.x[i], fresh.y[i], rho));
  for (const bound of BOUNDS)
    it(`${bound}: pointwise scores follow the PMI${bound === 'infonce' ? '' : ', and so does the raw critic'}; nothing leaks`, async () => {
      const before = tf.memory().numTensors;
      const critic = await fitCritic(data, { ...OPTIONS, bound });
      expect(critic.bound).toBe(bound);
      expect(critic.estimate.estimator).toBe(bound);
      const pointwise = critic.pointwiseScores(fresh.x, fresh.y, fresh.n);
      const pairs = critic.pairScores(fresh.x, fresh.y, fresh.n);
      expect(pointwise).toHaveLength(fresh.n);
      expect(pearson(pointwise, pmi)).toBeGreaterThan(0.9);
      // the mean pointwise score is InfoNCE with K = 2000: close to I, like the estimate
      checkEstimate({ ...critic.estimate, estimate: mean(pointwise) }, gaussianMiOf([rho]), 0.15 * gaussianMiOf([rho]));
      if (bound !== 'infonce') expect(pearson(pairs, pmi)).toBeGreaterThan(0.9);
      if (bound === 'nwj') expect(Math.abs(mean(pairs) - mean(pmi) - 1)).toBeLessThan(0.3);
      if (bound === 'smile') expect(Math.abs(mean(pairs) - mean(pmi))).toBeLessThan(0.3);
      // scores in chunks equal scores at once
      const head = critic.pointwiseScores(fresh.x.subarray(0, 3), fresh.y.subarray(0, 3), 3);
      expect(head).toHaveLength(3);
      expect(critic.pairScores(fresh.x.subarray(0, 3), fresh.y.subarray(0, 3), 3)).toEqual(pairs.subarray(0, 3));
      expect(tf.memory().numTensors).toBeGreaterThan(before); // the critic's variables
      critic.dispose();
      critic.dispose(); // idempotent
      expect(tf.memory().numTensors).toBe(before);
      expect(() => critic.pairScores(fresh.x, fresh.y, fresh.n)).toThrow(/disposed/);
    });
});

describe('independence', () => {
  const data = gaussianPairs(4000, [0, 0], 21);
  for (const bound of BOUNDS)
    it(`${bound}: about 0 on independent 2-D pairs`, async () => {
      const e = await VARIATIONAL_ESTIMATORS[bound].estimate(data, OPTIONS);
      expect(e.estimate).toBeGreaterThan(-0.05);
      expect(e.estimate).toBeLessThan(4 * (e.standardError as number) + 0.01);
    });
});

describe('training machinery', () => {
  const data = gaussianPairs(2000, [0.9], 4);
  const quick: VariationalOptions = { steps: 100, evalEvery: 25, patience: 0, learningRate: 3e-3, batchSize: 64 };

  it('a seed fixes the estimate and the curve; another seed changes them', async () => {
    const a = await VARIATIONAL_ESTIMATORS.smile.estimate(data, { ...quick, seed: 5 });
    const b = await VARIATIONAL_ESTIMATORS.smile.estimate(data, { ...quick, seed: 5 });
    const c = await VARIATIONAL_ESTIMATORS.smile.estimate(data, { ...quick, seed: 6 });
    expect(b.estimate).toBe(a.estimate);
    expect(b.standardError).toBe(a.standardError);
    expect((b.details?.curve as CurvePoint[]).map((p) => p.heldOut)).toEqual((a.details?.curve as CurvePoint[]).map((p) => p.heldOut));
    expect(c.estimate).not.toBe(a.estimate);
  });

  it('curve points every evalEvery steps, each reported to onProgress as made; without early stopping the monitor rows join the estimate', async () => {
    const seen: CurvePoint[] = [];
    const e = await VARIATIONAL_ESTIMATORS.nwj.estimate(data, { ...quick, onProgress: (p) => seen.push(p) });
    const d = e.details as Record<string, unknown>;
    expect(seen.map((p) => p.step)).toEqual([25, 50, 75, 100]);
    expect(d.curve).toEqual(seen);
    for (const p of seen) {
      expect(Number.isFinite(p.train) && Number.isFinite(p.heldOut)).toBe(true);
      expect(p.seconds).toBeGreaterThan(0);
    }
    expect(seen[3].heldOut).toBeGreaterThan(seen[0].heldOut); // it learns
    expect(d).toMatchObject({ steps: 100, keptStep: 100, stoppedEarly: false, monitorInEstimate: true, trainSamples: 1000, heldOutSamples: 1000 });
    expect(d.estimateSamples).toBe(1000);
    expect(d.monitorSamples).toBe(256);
    expect(d.evalBatches).toBe(15);
    expect(d.epochs).toBeCloseTo((100 * 64) / 1000, 12);
  });

  it('early stopping keeps the step with the best monitor value and restores its weights', async () => {
    const e = await VARIATIONAL_ESTIMATORS.infonce.estimate(data, { ...quick, steps: 400, evalEvery: 10, patience: 2, learningRate: 0.02 });
    const d = e.details as Record<string, unknown>;
    const curve = d.curve as CurvePoint[];
    const best = curve.reduce((a, p) => (p.heldOut > a.heldOut ? p : a));
    expect(d.stoppedEarly).toBe(true);
    expect(d.keptStep).toBe(best.step);
    expect(curve[curve.length - 1].step).toBe(best.step + 20); // two points without improvement
    expect(d.steps).toBe(best.step + 20);
    // the weights in use are the best step's: the monitor rows, scored again after training, give its value
    expect(d.keptMonitor as number).toBeCloseTo(best.heldOut, 5);
    expect(d.monitorInEstimate).toBe(false);
  });

  it('SMILE reports τ and the unclipped DV of its critic; with τ huge they coincide', async () => {
    const e = await VARIATIONAL_ESTIMATORS.smile.estimate(data, { ...quick, tau: 1e9 });
    expect(e.details?.tau).toBe(1e9);
    expect(e.details?.unclippedDv).toBeCloseTo(e.estimate, 10);
    const clipped = await VARIATIONAL_ESTIMATORS.smile.estimate(data, { ...quick, tau: 0.5 });
    expect(clipped.details?.unclippedDv).not.toBeCloseTo(clipped.estimate, 3);
  });

  it('the concat critic (an MLP on [x, y]) estimates a 1-D pair too', async () => {
    const big = gaussianPairs(4000, [0.9], 8);
    const e = await VARIATIONAL_ESTIMATORS.infonce.estimate(big, { ...OPTIONS, critic: 'concat', steps: 400 });
    expect(e.details?.critic).toMatch(/^concat mlp 2→32→32→1/);
    checkEstimate(e, gaussianMiOf([0.9]), 0.15 * gaussianMiOf([0.9]));
  });
});
