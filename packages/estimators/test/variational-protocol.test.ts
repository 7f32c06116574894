/**
 * The fork's 'training-mean' protocol and its settings, beside our 'held-out' default: what the
 * number is (the mean of the recorded per-step training values), that it uses all n rows, that
 * details say which protocol made it; SMILE without a clip, MINE's "moving average 0.9", the
 * fork's concat critic; and the refusals, before any training.
 *
 * Tolerances, and why:
 *  - the estimate is the mean of `details.stepValues`, summed in the same order: equal to 1e-12;
 *    the curve's points average `evalEvery` steps each, so with evalEvery dividing steps the mean
 *    of the points is the same number (1e-12).
 *  - rows drawn: 400 steps of 64 rows from n = 2000, with replacement, leave a given row undrawn
 *    with probability (1 − 1/2000)^{25 600} = e^{−12.8}, 3e-6 rows expected: at least n − 2 are
 *    drawn (the held-out protocol trains on n/2 = 1000).
 *  - the value itself: the training-mean of a 1-D pair (ρ = 0.9, I = 0.830) after 400 steps lies
 *    between 0.4 and 1.2. The untrained first steps pull the mean down, training-set over-fitting
 *    pushes it up; the band only catches a wrong quantity (a sum, a last value, a sign).
 */
import { InputError } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOUND_NAMES,
  ensureTrainingBackend,
  fitCritic,
  VARIATIONAL_ESTIMATORS,
  type BoundName,
  type CurvePoint,
  type VariationalOptions,
} from '../src/variational/index.js';
import { gaussianMiOf, gaussianPairs } from './variational-data.js';

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const table: string[] = [];

beforeAll(async () => {
  await ensureTrainingBackend();
});
afterAll(() => console.info(`training-mean on 1-D ρ = 0.9 (I = ${gaussianMiOf([0.9]).toFixed(3)}), n = 2000, 400 steps:\n${table.join('\n')}`));

describe("protocol: 'training-mean'", () => {
  const data = gaussianPairs(2000, [0.9], 5);
  const FORK: VariationalOptions = { protocol: 'training-mean', steps: 400, batchSize: 64, learningRate: 3e-3, evalEvery: 50, seed: 2 };

  for (const bound of ['infonce', 'js', 'gan-dime'] as const satisfies readonly BoundName[])
    it(`${bound}: the estimate is the mean of the per-step training values it records, over all steps, on all n rows`, async () => {
      const before = tf.memory().numTensors;
      const seen: CurvePoint[] = [];
      const e = await VARIATIONAL_ESTIMATORS[bound].estimate(data, { ...FORK, onProgress: (p) => seen.push(p) });
      expect(tf.memory().numTensors).toBe(before);
      const d = e.details as Record<string, unknown>;
      const steps = d.stepValues as number[];
      table.push(
        `  ${bound.padEnd(8)} ${e.estimate.toFixed(3)} (first step ${steps[0].toFixed(3)}, last ${steps[399].toFixed(3)}; ${d.distinctRowsDrawn} rows drawn)`,
      );
      expect(d.protocol).toBe('training-mean');
      expect(steps).toHaveLength(400);
      expect(steps.every(Number.isFinite)).toBe(true);
      expect(Math.abs(e.estimate - mean(steps))).toBeLessThan(1e-12);
      const curve = d.curve as CurvePoint[];
      expect(curve).toEqual(seen);
      expect(curve.map((p) => p.step)).toEqual([50, 100, 150, 200, 250, 300, 350, 400]);
      expect(Math.abs(mean(curve.map((p) => p.train)) - e.estimate)).toBeLessThan(1e-12);
      // each point is the mean of its own 50 steps
      expect(curve[2].train).toBeCloseTo(mean(steps.slice(100, 150)), 12);
      expect(curve.every((p) => Number.isNaN(p.heldOut))).toBe(true);
      expect(e.standardError).toBeNull();
      expect(d).toMatchObject({ trainSamples: 2000, steps: 400, patience: 0, stoppedEarly: false });
      expect(d.distinctRowsDrawn as number).toBeGreaterThanOrEqual(2000 - 2);
      expect(d.epochs).toBeCloseTo((400 * 64) / 2000, 12);
      expect(e.estimate).toBeGreaterThan(0.4);
      expect(e.estimate).toBeLessThan(1.2);
      if (bound === 'js') expect(d.unshiftedNwj as number).toBeLessThan(e.estimate);
      if (bound === 'gan-dime') expect(Number.isFinite(d.trainingObjective)).toBe(true);
    });

  it('a seed fixes every step value; the default protocol is held-out and says so', async () => {
    const a = await VARIATIONAL_ESTIMATORS.nwj.estimate(data, { ...FORK, steps: 60 });
    const b = await VARIATIONAL_ESTIMATORS.nwj.estimate(data, { ...FORK, steps: 60 });
    expect(b.details?.stepValues).toEqual(a.details?.stepValues);
    const held = await VARIATIONAL_ESTIMATORS.nwj.estimate(data, { steps: 60, batchSize: 64, patience: 0 });
    expect(held.details?.protocol).toBe('held-out');
    expect(held.details?.stepValues).toBeUndefined();
    expect(held.details?.trainSamples).toBe(1000);
  });
});

describe("the fork's settings", () => {
  const data = gaussianPairs(2000, [0.9], 6);
  const quick: VariationalOptions = { steps: 100, evalEvery: 25, patience: 0, learningRate: 3e-3, batchSize: 64 };

  it('SMILE with τ = Infinity: no clip, so its value is the unclipped DV of its critic; details say Infinity in a JSON-safe way', async () => {
    const e = await VARIATIONAL_ESTIMATORS.smile.estimate(data, { ...quick, tau: Infinity });
    expect(e.details?.tau).toBe('Infinity');
    expect(e.estimate).toBe(e.details?.unclippedDv);
    expect(JSON.parse(JSON.stringify(e.details)).tau).toBe('Infinity');
    const clipped = await VARIATIONAL_ESTIMATORS.smile.estimate(data, { ...quick, tau: 1 });
    expect(clipped.details?.tau).toBe(1);
    expect(clipped.estimate).not.toBe(clipped.details?.unclippedDv);
  });

  it("MINE's moving average 0.9 (ḿ ← 0.9ḿ + 0.1m) is emaRate 0.1, reported", async () => {
    const e = await VARIATIONAL_ESTIMATORS.mine.estimate(data, { ...quick, emaRate: 0.1 });
    expect(e.details?.emaRate).toBe(0.1);
    expect(Number.isFinite(e.estimate)).toBe(true);
  });

  it('the fork critic: a concat MLP on [x, y] with three hidden ReLU layers of 256 (hidden 256, layers 3)', async () => {
    const critic = await fitCritic(data, { bound: 'nwj', critic: 'concat', hidden: 256, layers: 3, protocol: 'training-mean', steps: 2, batchSize: 8 });
    expect(critic.estimate.details?.critic).toBe('concat mlp 2→256→256→256→1');
    // (2·256 + 256) + 2·(256·256 + 256) + (256 + 1) weights and biases
    expect(critic.estimate.details?.parameters).toBe(2 * 256 + 256 + 2 * (256 * 256 + 256) + 256 + 1);
    critic.dispose();
  });
});

describe('refusals, before any training', () => {
  const small = gaussianPairs(300, [0.5], 1);
  const refused = async (options: VariationalOptions, message: RegExp, data = small) => {
    let reported = 0;
    const before = tf.memory().numTensors;
    const run = fitCritic(data, { ...options, onProgress: () => reported++ });
    await expect(run).rejects.toThrow(InputError);
    await expect(run).rejects.toThrow(message);
    expect(reported).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  };

  it('the protocol and the options it has no use for', async () => {
    const fork: VariationalOptions = { protocol: 'training-mean', batchSize: 32, steps: 2 };
    await refused({ protocol: 'fork' as never }, /protocol = 'fork': expected one of held-out, training-mean/);
    await refused(
      { ...fork, trainFraction: 0.5 },
      /trainFraction = 0.5: the 'training-mean' protocol trains on all n rows .* with no held-out rows; leave trainFraction out or use protocol: 'held-out'/,
    );
    await refused({ ...fork, evalBatchSize: 32 }, /evalBatchSize = 32: the 'training-mean' protocol/);
    await refused({ ...fork, monitorBatches: 2 }, /monitorBatches = 2: the 'training-mean' protocol/);
    await refused({ ...fork, patience: 3 }, /patience = 3: the 'training-mean' protocol .* \(it trains all steps\); leave patience out or set it to 0/);
    await refused({ ...fork, batchSize: 400 }, /300 samples are fewer than one training batch of 400 \(protocol 'training-mean'\)/);
    // patience 0 is what the protocol does anyway: accepted
    const ok = await fitCritic(small, { ...fork, patience: 0 });
    expect(ok.estimate.details?.protocol).toBe('training-mean');
    ok.dispose();
  });

  it('tau: positive, Infinity allowed; an unknown bound lists all nine', async () => {
    await refused({ tau: 0, steps: 2, batchSize: 32, patience: 0 }, /tau = 0: a number > 0 is needed \(Infinity for no clip\)/);
    await refused({ tau: NaN, steps: 2, batchSize: 32, patience: 0 }, /tau = NaN/);
    await refused({ bound: 'tuba' } as never, new RegExp(`bound = 'tuba': expected one of ${BOUND_NAMES.join(', ')}`));
    expect(BOUND_NAMES).toEqual(['infonce', 'nwj', 'mine', 'smile', 'js', 'dv', 'kl-dime', 'gan-dime', 'hd-dime']);
    expect(Object.keys(VARIATIONAL_ESTIMATORS).sort()).toEqual([...BOUND_NAMES].sort());
  });

  it('the new estimators refuse what the others refuse (too few samples for the held-out batches)', async () => {
    for (const name of ['js', 'dv', 'kl-dime', 'gan-dime', 'hd-dime'] as const)
      await expect(VARIATIONAL_ESTIMATORS[name].estimate(gaussianPairs(100, [0.5], 1))).rejects.toThrow(/fewer than one batch of 128/);
  });
});

describe('the value is an estimate of I on the same scale as held-out', () => {
  it('dv under both protocols on ρ = 0.9: each within 0.3 of I', async () => {
    const data = gaussianPairs(4000, [0.9], 9);
    const truth = gaussianMiOf([0.9]);
    const held = await VARIATIONAL_ESTIMATORS.dv.estimate(data, { steps: 400, learningRate: 3e-3, seed: 1 });
    const fork = await VARIATIONAL_ESTIMATORS.dv.estimate(data, { protocol: 'training-mean', steps: 400, learningRate: 3e-3, seed: 1 });
    console.info(`dv, ρ = 0.9 (I = ${truth.toFixed(3)}): held-out ${held.estimate.toFixed(3)}, training-mean ${fork.estimate.toFixed(3)}`);
    expect(Math.abs(held.estimate - truth)).toBeLessThan(0.3);
    expect(Math.abs(fork.estimate - truth)).toBeLessThan(0.3);
  });
});
