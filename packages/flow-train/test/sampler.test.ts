/**
 * The sampler opener: for a tiny checkpoint it samples the same images as the path the flow
 * map and `mmmi-train sample` assembled by hand (checkpoint → plan → engine → backend →
 * model), on tfjs and on ONNX Runtime; the caller's checks run before anything opens; a
 * training run's model samples as `sampleImages` does, and closing leaves the model to it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, writeCheckpoint } from '../src/checkpoint.js';
import { openEngine } from '../src/engine/index.js';
import { FlowModel } from '../src/flow-model.js';
import { invertFlowRows } from '../src/invert-flow.js';
import { loadModel } from '../src/registry.js';
import { integrateFlowRows, noiseBatch, sampleImages } from '../src/sample.js';
import { openSampler } from '../src/sampler.js';
import { samplingPlan } from '../src/sampling-plan.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { forwardTotalBytesPerImage } from '../src/unet/memory.js';
import { microConfig, randomWeights } from './helpers/training.js';

const config = microConfig();
const arch = buildArchitecture(config);
const labels = Int32Array.from([0, 1, 2, 3, 1]);
const quiet = () => {};
let ckptPath: string;
const savedCacheDir = process.env.MMMI_CACHE_DIR;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'mmmi-sampler-'));
  process.env.MMMI_CACHE_DIR = join(dir, 'cache');
  ckptPath = join(dir, 'micro.safetensors');
  await writeCheckpoint(ckptPath, {
    meta: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      config,
      parameters: arch.parameterCount,
      weights: 'ema',
      sampling: { odeMethod: 'heun2', odeOptions: { nfe: 3 }, cfgScale: 0.4, edmSchedule: false },
      trainArgs: {},
      provenance: { test: true },
    },
    weights: randomWeights(arch, 7),
  });
});

afterAll(() => {
  if (savedCacheDir === undefined) delete process.env.MMMI_CACHE_DIR;
  else process.env.MMMI_CACHE_DIR = savedCacheDir;
});

/** The previous path: checkpoint → plan → (engine) → model → sampleImages. */
async function byHand(overrides: { nfe?: number; cfgScale?: number } = {}, engine?: 'onnx') {
  const ckpt = await loadModel(ckptPath);
  const plan = samplingPlan(ckpt, { overrides });
  const ort = engine
    ? await openEngine({ arch, values: plan.weights, checkpointSha256: ckpt.sha256!, weights: plan.weightsKind }, { engine: 'onnx', threads: 1, log: quiet })
    : undefined;
  const model = new FlowModel(config, plan.weights, ckpt.resolved.path);
  try {
    return { plan, images: await sampleImages(model, model.params, labels, plan.settings, { seed: 11, stream: 2, engine: ort, timeGrid: plan.timeGrid }) };
  } finally {
    await ort?.close();
    model.dispose();
  }
}

describe('openSampler', () => {
  it('samples a checkpoint as the hand-assembled path does (tfjs), with its plan, memory and engine info', async () => {
    const expected = await byHand({ nfe: 2 });
    const sampler = await openSampler({ checkpoint: ckptPath, overrides: { nfe: 2 } }, { engine: 'tfjs', backend: 'cpu', tfjsThreads: 1, log: quiet });
    try {
      expect(sampler.plan.settings).toEqual(expected.plan.settings);
      expect(sampler.timeGrid).toEqual(expected.plan.timeGrid);
      expect(sampler.weightsKind).toBe('ema');
      expect(sampler.checkpoint.resolved.path).toBe(ckptPath);
      expect(sampler.engine).toBeUndefined();
      expect(sampler.engineInfo).toEqual({ engine: 'tfjs', provider: 'cpu', threads: 1 });
      expect(sampler.memory).toEqual({
        weightsBytes: 4 * arch.parameterCount,
        perImageBytes: 2 * forwardTotalBytesPerImage(arch) + 4 * 8 * 8 * 3 * 6,
      });
      expect(Array.from(await sampler.sample(labels, { seed: 11, stream: 2 }))).toEqual(Array.from(expected.images));
      // integrate and invert: flow-train's row functions with the sampler's weights, settings and grid
      const two = labels.subarray(0, 2);
      const x0 = noiseBatch(sampler.model, two.length, 3);
      const x1 = await sampler.integrate(x0, two);
      expect(Array.from(x1)).toEqual(
        Array.from(await integrateFlowRows(sampler.model, sampler.weights, x0, two, sampler.settings, { timeGrid: sampler.timeGrid })),
      );
      const back = await sampler.invert(x1, two);
      const direct = await invertFlowRows(sampler.model, sampler.weights, x1, two, sampler.settings, { timeGrid: sampler.timeGrid });
      expect(Array.from(back.x0)).toEqual(Array.from(direct.x0));
      expect(back.report.converged).toBe(true);
    } finally {
      await sampler.close();
    }
  });

  it('an explicit time grid replaces the plan’s', async () => {
    const sampler = await openSampler({ checkpoint: ckptPath, timeGrid: [0, 0.25, 1] }, { engine: 'tfjs', backend: 'cpu', log: quiet });
    expect(sampler.timeGrid).toEqual([0, 0.25, 1]);
    expect(sampler.settings.odeOptions.step_size).toBeUndefined();
    await sampler.close();
  });

  it('runs the caller’s checks with the checkpoint and plan before anything opens', async () => {
    const seen: string[] = [];
    await expect(
      openSampler(
        { checkpoint: ckptPath },
        {
          engine: 'tfjs',
          backend: 'cpu',
          log: (m) => seen.push(m),
          beforeOpening: (ckpt, plan) => {
            seen.push(`check ${ckpt.meta.config.name} ${plan.settings.odeMethod}`);
            throw new Error('refused');
          },
        },
      ),
    ).rejects.toThrow('refused');
    expect(seen).toEqual(['check micro heun2']);
  });

  it('samples a checkpoint as the hand-assembled path does (ONNX Runtime, one thread)', async () => {
    const expected = await byHand({ cfgScale: 0.2 }, 'onnx');
    const sampler = await openSampler({ checkpoint: ckptPath, overrides: { cfgScale: 0.2 } }, { engine: 'onnx', engineThreads: 1, log: quiet });
    try {
      expect(sampler.engineInfo).toMatchObject({ engine: 'onnx', provider: 'cpu', threads: 1 });
      expect(sampler.backend).toBe('cpu');
      expect(Array.from(await sampler.sample(labels, { seed: 11, stream: 2 }))).toEqual(Array.from(expected.images));
    } finally {
      await sampler.close();
    }
  });

  it('samples a training run’s model in memory as sampleImages does, and leaves the model open', async () => {
    const model = new FlowModel(config, { seed: 4 });
    const settings = { odeMethod: 'euler', odeOptions: { nfe: 2 }, cfgScale: 0.3, edmSchedule: false };
    const expected = await sampleImages(model, model.params, labels, settings, { seed: 5, stream: 77 });
    const sampler = await openSampler({ model, weights: model.params, settings }, { engine: 'tfjs', log: quiet });
    expect(sampler.weightsKind).toBe('live');
    expect(sampler.checkpoint).toBeUndefined();
    expect(Array.from(await sampler.sample(labels, { seed: 5, stream: 77 }))).toEqual(Array.from(expected));
    await sampler.close();
    // the model is the run's: still usable after the sampler closed
    expect(Array.from(await sampleImages(model, model.params, labels, settings, { seed: 5, stream: 77 }))).toEqual(Array.from(expected));
    model.dispose();
  });
});
