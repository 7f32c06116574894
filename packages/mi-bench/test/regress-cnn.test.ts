/**
 * The CNN regressor: it learns θ on an easy image problem with an exact answer — identity-map
 * latents of Fig. 1a's DAG at full size (3×32×32 per modality), θ a constant offset over every
 * pixel under per-pixel noise (rho_theta 0.02: I(X_1; θ) ≈ 2.4 nats, Bayes R² ≈ 0.99) — and
 * never beats the Bayes bound; it is repeatable per seed, reports its training curve, and
 * leaves no tensor behind, on success or failure.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { ensureTrainingBackend } from '@mmmi/estimators';
import { latentModelFromTokens, sampleBatch, type LatentStructure } from '@mmmi/latents';
import { beforeAll, describe, expect, it } from 'vitest';
import { bayesOptimum, regressTheta, trainCnn, type CnnEpoch } from '../src/regress/index.js';
import { latentFeatures, r2StandardErrorGaussian } from './regress-helpers.js';

const ARGS = fileURLToPath(new URL('../../../generation_arguments', import.meta.url));
let structure: LatentStructure;

beforeAll(async () => {
  ({ structure } = await latentModelFromTokens([`@${ARGS}/simple_fig1_DAG.txt`, '--rho_theta_arg', '[0.02]']));
  // the tensor counts below need a backend before the first training (the one the CNN then keeps)
  await ensureTrainingBackend();
});

const images = (seed: number, count: number, mods: number[]) => {
  const batch = sampleBatch(structure, seed, 0, count);
  return { x: Float32Array.from(latentFeatures(batch, mods)), theta: batch.theta };
};

describe('CNN regression of θ from images', () => {
  it('learns θ in a few epochs, stays below the Bayes bound, records its curve and leaks no tensor', async () => {
    expect(structure.modDim).toBe(3072);
    const train = images(1, 500, [0]);
    const test = images(2, 1000, [0]);
    const before = tf.memory().numTensors;
    const seen: CnnEpoch[] = [];
    const r = await regressTheta({
      trainFeatures: train.x,
      trainTheta: train.theta,
      testFeatures: test.x,
      testTheta: test.theta,
      dim: 3072,
      model: 'cnn',
      seed: 3,
      cnn: { epochs: 8, onEpoch: (e) => seen.push(e) },
    });
    expect(tf.memory().numTensors).toBe(before);
    const bayes = bayesOptimum(structure, [0]);
    const se = r2StandardErrorGaussian(bayes.r2, 1000);
    const epochs = r.details.model === 'cnn' ? r.details.curve.length : 0;
    console.log(`CNN: R² ${r.r2.toFixed(3)} ± ${r.r2StandardError.toFixed(3)} (Bayes ${bayes.r2.toFixed(4)}), ${epochs} epochs, ${r.seconds.toFixed(1)} s`);
    expect(r.r2).toBeGreaterThan(0.4);
    expect(r.r2).toBeLessThanOrEqual(bayes.r2 + 3 * se);
    expect(r.details.model).toBe('cnn');
    if (r.details.model !== 'cnn') return;
    expect(r.details.backend).toBe('wasm');
    expect(r.details.trainRows + r.details.validationRows).toBe(500);
    expect(r.details.curve).toEqual(seen);
    expect(seen.map((e) => e.epoch)).toEqual(seen.map((_, k) => k + 1));
    expect(seen.length).toBeLessThanOrEqual(8);
    for (const e of seen) expect(Number.isFinite(e.trainMse) && Number.isFinite(e.valMse) && e.seconds > 0).toBe(true);
    // the kept weights are those of the least validation error
    const least = seen.reduce((a, b) => (b.valMse < a.valMse ? b : a));
    expect(r.details.bestEpoch).toBe(least.epoch);
    // learning: the validation error falls well below θ's variance
    expect(least.valMse).toBeLessThan(0.6 * bayes.thetaVariance);
  });

  it('repeats itself for a seed, differs across seeds, and stacks modalities as channels', async () => {
    const train = images(4, 60, [0, 1]);
    const test = images(5, 20, [0, 1]);
    const before = tf.memory().numTensors;
    const run = async (seed: number) => {
      const model = await trainCnn(train.x, train.theta, 60, 6144, { seed, epochs: 2, channels: [8, 8], hidden: 16 });
      expect(model.channels).toBe(6);
      const pred = model.predict(test.x);
      model.dispose();
      return Array.from(pred);
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves no tensor behind when training fails midway', async () => {
    const train = images(6, 40, [0]);
    const before = tf.memory().numTensors;
    await expect(
      trainCnn(train.x, train.theta, 40, 3072, {
        epochs: 3,
        channels: [4],
        hidden: 4,
        onEpoch: (e) => {
          if (e.epoch === 2) throw new Error('stop here');
        },
      }),
    ).rejects.toThrow('stop here');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad input before training', async () => {
    const x = new Float32Array(12 * 3072);
    const theta = Float64Array.from({ length: 12 }, (_, i) => i);
    await expect(trainCnn(x.subarray(0, 12 * 3000), theta, 12, 3000)).rejects.toThrow(/multiple of 3072 values; got 3000/);
    await expect(trainCnn(x, theta.subarray(0, 11), 12, 3072)).rejects.toThrow(/11 θ values for 12 rows/);
    await expect(trainCnn(x.subarray(0, 9 * 3072), theta.subarray(0, 9), 9, 3072)).rejects.toThrow(/9 training draws for the CNN: at least 10/);
    await expect(trainCnn(x, theta, 12, 3072, { channels: [] })).rejects.toThrow(InputError);
    await expect(trainCnn(x, theta, 12, 3072, { learningRate: -1 })).rejects.toThrow(/learning rate/);
  });
});
