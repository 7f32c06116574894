/**
 * Bad input is refused with an InputError naming the cause before any training (no curve point
 * is ever reported, no tensor is made), and the backend rule: the estimators keep the backend the
 * caller has active and switch only when told to.
 */
import { InputError } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { PairedSamples } from '../src/estimator.js';
import { ensureTrainingBackend, fitCritic, infonce, mine, nwj, smile, type VariationalOptions } from '../src/variational/index.js';
import { gaussianPairs } from './variational-data.js';

const small = gaussianPairs(300, [0.5], 1);
const tiny: VariationalOptions = { steps: 2, batchSize: 32, patience: 0, evalEvery: 1 };

describe('the backend', () => {
  it('with none active, wasm is selected once; an active backend is kept; `backend` switches', async () => {
    const lines: string[] = [];
    const a = await nwj.estimate(small, { ...tiny, log: (l) => lines.push(l) });
    expect(a.details?.backend).toBe('wasm');
    expect(lines.some((l) => /tfjs backend wasm/.test(l))).toBe(true);
    // the caller chooses cpu: the estimators keep it
    await ensureTrainingBackend('cpu');
    const b = await nwj.estimate(small, tiny);
    expect(b.details?.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    // asked for wasm: switched, and kept afterwards
    const c = await nwj.estimate(small, { ...tiny, backend: 'wasm' });
    expect(c.details?.backend).toBe('wasm');
    const d = await nwj.estimate(small, tiny);
    expect(d.details?.backend).toBe('wasm');
  });
});

describe('bad input', () => {
  const refused = async (data: PairedSamples, options: VariationalOptions & { bound?: string }, message: RegExp) => {
    let reported = 0;
    const before = tf.memory().numTensors;
    const run = fitCritic(data, { ...options, bound: options.bound as never, onProgress: () => reported++ });
    await expect(run).rejects.toThrow(InputError);
    await expect(run).rejects.toThrow(message);
    expect(reported).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  };

  it('too few samples for the training batch, the held-out batches or early stopping', async () => {
    await refused(gaussianPairs(200, [0.5], 1), {}, /200 samples with trainFraction 0.5 leave 100 for training, fewer than one batch of 128/);
    await refused(gaussianPairs(200, [0.5], 1), { batchSize: 64, trainFraction: 0.8 }, /leave 40 held out: early stopping needs 4 monitor batches/);
    await refused(gaussianPairs(200, [0.5], 1), { batchSize: 64, trainFraction: 0.8, patience: 0 }, /leave 40 held out, fewer than one evaluation batch of 64/);
    await refused(gaussianPairs(1000, [0.5], 1), {}, /leave 500 held out: early stopping needs 4 monitor batches and at least one more .* \(640 rows\)/);
    await refused(gaussianPairs(3, [0.5], 1), {}, /3 paired samples: at least 4 are needed/);
  });

  it('mismatched or non-finite samples', async () => {
    await refused({ ...small, x: small.x.subarray(1) }, tiny, /x holds 299 values, 300 samples × 1 need 300/);
    await refused({ ...small, dy: 2 }, tiny, /y holds 300 values, 300 samples × 2 need 600/);
    const bad = Float64Array.from(small.y);
    bad[7] = NaN;
    await refused({ ...small, y: bad }, tiny, /y\[7\] = NaN/);
  });

  it('a CNN encoder on a side that is not k stacked 3×32×32 images, or in a concat critic', async () => {
    const wide = gaussianPairs(300, Array(100).fill(0.1), 1);
    await refused(wide, { ...tiny, xEncoder: 'cnn' }, /x has 100 values per sample: the CNN encoder reads k stacked 3×32×32 images \(a multiple of 3072\)/);
    await refused(wide, { ...tiny, yEncoder: 'cnn' }, /y has 100 values per sample/);
    await refused(small, { ...tiny, critic: 'concat', xEncoder: 'cnn' }, /a CNN encoder needs the separable critic/);
  });

  it('options out of range, naming the option', async () => {
    const cases: [VariationalOptions & { bound?: string }, RegExp][] = [
      [{ batchSize: 1 }, /batchSize = 1: an integer ≥ 2/],
      [{ steps: 0 }, /steps = 0/],
      [{ steps: 2.5 }, /steps = 2.5/],
      [{ learningRate: 0 }, /learningRate = 0: a finite number > 0/],
      [{ trainFraction: 1 }, /trainFraction = 1: a number strictly between 0 and 1/],
      [{ tau: -1 }, /tau = -1/],
      [{ emaRate: 0 }, /emaRate = 0: a number in \(0, 1\]/],
      [{ channels: [] }, /channels = \[\]: 1 to 5 positive integers/],
      [{ critic: 'bilinear' as never }, /critic = 'bilinear': expected one of separable, concat/],
      [{ xEncoder: 'rnn' as never }, /xEncoder = 'rnn'/],
      [{ bound: 'tuba' }, /bound = 'tuba': expected one of infonce, nwj, mine, smile, js, dv, kl-dime, gan-dime, hd-dime/],
      [{ backend: 'tpu' }, /backend = 'tpu': expected one of auto, /],
    ];
    for (const [options, message] of cases) await refused(small, { ...tiny, ...options }, message);
  });

  it('each estimator refuses the same way', async () => {
    for (const estimator of [infonce, nwj, mine, smile]) await expect(estimator.estimate(gaussianPairs(100, [0.5], 1))).rejects.toThrow(InputError);
  });

  it("a fitted critic's scores refuse mismatched arrays", async () => {
    const critic = await fitCritic(small, tiny);
    expect(() => critic.pairScores(small.x, small.y, 301)).toThrow(/x holds 300 values, 301 pairs × 1 need 301/);
    expect(() => critic.pointwiseScores(small.x, small.y.subarray(1), 300)).toThrow(InputError);
    expect(() => critic.pointwiseScores(small.x, small.y, 0)).toThrow(/0 pairs: at least 1 is needed/);
    critic.dispose();
  });
});
