/**
 * Data-parallel model threads: the shards of a micro-batch, computed in worker threads
 * and added up, give the one-thread gradients and loss (to float rounding), through
 * batchGradients and through a whole training run; sampling on shards of the rows gives the
 * one-batch images; a failing worker is reported; the thread count is checked.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { SeededRandom, tempDir } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTfjsGradients } from '@mmmi/tfjs-runtime';
import { makeBatch, epochOrder } from '../src/data/batches.js';
import { FlowModel } from '../src/flow-model.js';
import { ModelThreads, threadCount } from '../src/parallel/model-threads.js';
import { shardRanges, shardsOf } from '../src/parallel/shard.js';
import { generatedSource } from '../src/fid-eval.js';
import { integrateFlowRows } from '../src/sample.js';
import { train } from '../src/train.js';
import { batchGradients, microBatchDraws, type StepSettings } from '../src/train-step.js';
import { makeDataset, microConfig, trainOptions } from './helpers/training.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTfjsGradients();
});

/** Adds 0.05·N(0, 1) to every weight (the UNet's zero-initialised output layer would zero most gradients). */
async function perturbWeights(model: FlowModel, rng: SeededRandom): Promise<void> {
  const values = await model.values();
  for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += 0.05 * rng.normal();
  model.setValues(values);
}

describe('shards of a micro-batch', () => {
  it('split the rows contiguously, the first shards one row larger, and leave out empty ones', () => {
    expect(shardRanges(5, 3)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(shardRanges(32, 2)).toEqual([
      [0, 16],
      [16, 32],
    ]);
    expect(shardRanges(2, 3)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });

  it('carry their rows of the images, labels and draws, weighted by their share of the rows', () => {
    const data = makeDataset(5);
    const batch = makeBatch(data, epochOrder(5, 0, 0), 0, 5, 0, 0);
    const draws = microBatchDraws({ seed: 3, classDropProb: 0, skewedTimesteps: true }, 7, 5, 8 * 8 * 3);
    const shards = shardsOf(batch, draws, 2);
    expect(shards.map((s) => s.weight)).toEqual([3 / 5, 2 / 5]);
    expect(Array.from(shards[1].batch.labels)).toEqual(Array.from(batch.labels.slice(3)));
    expect(Array.from(shards[1].draws.t)).toEqual(Array.from(draws.t.slice(3)));
    expect(shards[1].draws.noise).toEqual(draws.noise.slice(3 * 192));
    expect(shards[0].batch.images).toEqual(batch.images.slice(0, 3 * 192));
  });
});

describe('thread count', () => {
  it('is the request, 0 = one per core on the one-threaded backends (else 1), and more than one only there', () => {
    expect(threadCount(2, 'wasm')).toBe(2);
    expect(threadCount(0, 'cpu')).toBe(availableParallelism());
    expect(threadCount(1, 'tensorflow')).toBe(1);
    expect(threadCount(0, 'tensorflow-gpu')).toBe(1);
    expect(() => threadCount(2, 'tensorflow-gpu')).toThrow(/--threads 2: .*wasm and cpu.*tensorflow-gpu already uses the GPU/);
    expect(() => threadCount(-1, 'wasm')).toThrow(/--threads -1: expected a whole number/);
  });
});

describe('model threads', () => {
  const config = microConfig();
  const settings: StepSettings = { seed: 11, classDropProb: 0, skewedTimesteps: true };
  let pool: ModelThreads;

  beforeAll(async () => {
    pool = await ModelThreads.start(config, 'cpu', 2);
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('give the one-thread loss and gradients of an accumulated step (3 shards of 5 rows, 2 micro-batches)', async () => {
    const data = makeDataset(10, 8, 3, 4);
    const order = epochOrder(10, 0, 0);
    const batches = [makeBatch(data, order, 0, 5, 0, 0), makeBatch(data, order, 1, 5, 0, 0)];
    const model = new FlowModel(config, { seed: 2 });
    const rng = new SeededRandom(8);
    await perturbWeights(model, rng);
    const one = await batchGradients(model, batches, 40, settings);
    const three = await batchGradients(model, batches, 40, settings, pool);
    expect(three.loss).toBeCloseTo(one.loss, 6);
    let worst = 0;
    for (const [name, g] of one.grads) {
      const a = g.dataSync();
      const b = three.grads.get(name)!.dataSync();
      const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
    }
    expect(worst).toBeLessThan(1e-5);
    // and the gradients are not trivially zero
    expect(Math.max(...Array.from(one.grads.get('input_blocks.0.0.weight')!.dataSync(), Math.abs))).toBeGreaterThan(1e-4);
    // the workers took the current weights: after a change, both agree again
    await perturbWeights(model, rng);
    const oneAfter = await batchGradients(model, batches, 40, settings);
    const threeAfter = await batchGradients(model, batches, 40, settings, pool);
    expect(threeAfter.loss).toBeCloseTo(oneAfter.loss, 6);
    expect(threeAfter.loss).not.toBeCloseTo(one.loss, 6);
    tf.dispose([one, three, oneAfter, threeAfter].flatMap((r) => [...r.grads.values()]));
    model.dispose();
  });

  it('a training run on 2 threads follows the one-thread run step by step', async () => {
    const data = makeDataset(16, 8, 2, 9);
    const common = { batchSize: 4, epochs: 1, lr: 2e-3, useEma: true, skewedTimesteps: true, seed: 3 };
    const lossesOne: number[] = [];
    const lossesTwo: number[] = [];
    await train(data, trainOptions(tempDir(), { ...common, onStep: (s) => lossesOne.push(s.loss) }));
    await train(data, trainOptions(tempDir(), { ...common, threads: 2, onStep: (s) => lossesTwo.push(s.loss) }));
    expect(lossesTwo).toHaveLength(4);
    for (const [i, l] of lossesTwo.entries()) expect(l).toBeCloseTo(lossesOne[i], 4);
  });

  it('integrate the flow on shards of the rows as one batch does (heun2, CFG, 5 rows on 3 threads)', async () => {
    const model = new FlowModel(config, { seed: 4 });
    const rng = new SeededRandom(21);
    await perturbWeights(model, rng);
    const labels = Int32Array.from([0, 1, 2, 1, model.noLabel]);
    const x0 = Float32Array.from({ length: 5 * 8 * 8 * 3 }, () => rng.normal());
    const sampling = { odeMethod: 'heun2', odeOptions: { nfe: 3 }, cfgScale: 0.5, edmSchedule: true };
    const one = await integrateFlowRows(model, model.params, x0, labels, sampling);
    const three = await integrateFlowRows(model, model.params, x0, labels, sampling, { threads: pool });
    const scale = Math.max(...Array.from(one, Math.abs));
    let worst = 0;
    for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(one[i] - three[i]) / scale);
    expect(worst).toBeLessThan(1e-5);
    // and the flow moved the rows
    expect(Math.max(...Array.from(one, (v, i) => Math.abs(v - x0[i])))).toBeGreaterThan(1e-2);
    model.dispose();
  });

  it("share the FID evaluation's sampling: the generated images are the one-thread ones", async () => {
    const model = new FlowModel(config, { seed: 6 });
    const rng = new SeededRandom(3);
    await perturbWeights(model, rng);
    const sampling = { odeMethod: 'euler', odeOptions: { nfe: 2 }, cfgScale: 0.2, edmSchedule: false };
    const collect = async (threads?: ModelThreads) => {
      const out: number[] = [];
      for await (const b of generatedSource(model, model.params, 7, sampling, 0, threads).batches(4)) out.push(...b.bytes!);
      return out;
    };
    const one = await collect();
    const three = await collect(pool);
    expect(three).toHaveLength(7 * 8 * 8 * 3);
    // uint8 images: float rounding may move a value across a quantisation step, no further
    expect(Math.max(...three.map((v, i) => Math.abs(v - one[i])))).toBeLessThanOrEqual(1);
    model.dispose();
  });

  it('report a worker that cannot start', async () => {
    await expect(ModelThreads.start(config, 'no-such-backend', 1)).rejects.toThrow(/model thread 1: .*no-such-backend/);
  });
});
