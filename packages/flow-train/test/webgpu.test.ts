/**
 * The webgpu backend (tfjs-backend-webgpu on Dawn) against the cpu backend, on the adapter
 * this machine has. Without a GPU that is Mesa's software renderer through Dawn's OpenGL ES
 * backend (CI installs Mesa; .ci/run): slow, but the same WGSL kernels a GPU runs.
 *
 *  - the UNet forward (the `tiny` layout with GroupNorm, attention, scale-shift, the label
 *    embedding's "no label" row) and one full training step (loss, every gradient, AdamW,
 *    EMA) match cpu to float32 rounding;
 *  - sampling with heun2 and CFG gives cpu's images;
 *  - dopri5 on webgpu is refused before any work (tfjs-runtime's test/webgpu.test.ts: `auto`
 *    never takes a software adapter);
 *  - `mmmi-train train --backend webgpu` trains, checkpoints and draws its evaluation grid
 *    (through ONNX Runtime, the solver on cpu), and `sample --engine tfjs --backend webgpu`
 *    gives the images of `--backend cpu`.
 *
 * Where no adapter can be made at all, the tests are skipped with the reason printed.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readImageRgbSync, writePng } from '@mmmi/formats';
import { openWebGpuAdapter, prepareBackend, WebGpuUnavailableError } from '@mmmi/tfjs-runtime';
import { SeededRandom } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../src/checkpoint.js';
import { main } from '../src/cli.js';
import { Ema } from '../src/ema.js';
import { FlowModel } from '../src/flow-model.js';
import { AdamW, PYTORCH_ADAMW_DEFAULTS } from '../src/optim.js';
import { integrateFlowRows, noiseBatch } from '../src/sample.js';
import { batchGradients, trainStep, type StepSettings } from '../src/train-step.js';
import type { SamplingSettings } from '../src/checkpoint.js';
import { makeDataset, microConfig, randomWeights } from './helpers/training.js';
import { relErr } from './helpers/compare.js';
import { makeBatch, epochOrder } from '../src/data/batches.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { unetConfig, type UNetConfig } from '../src/unet/config.js';

let skipReason: string | undefined;
try {
  await openWebGpuAdapter({ allowSoftware: true });
} catch (e) {
  skipReason = e instanceof WebGpuUnavailableError ? e.message : String(e);
  process.stderr.write(`webgpu tests skipped: ${skipReason}\n`);
}

const CONFIG = microConfig();
/** Float32 sums in another order (GPU reductions, tiled matmuls): observed ≤ 2e-6 relative. */
const TOL = 1e-4;

async function onBackend<T>(name: 'cpu' | 'webgpu', f: () => Promise<T>): Promise<T> {
  await tf.setBackend(name);
  return f();
}

/** A model whose every weight is random and non-zero (fresh zero-initialised output layers would give v = 0). */
const randomModel = (config: UNetConfig, seed: number) => new FlowModel(config, randomWeights(buildArchitecture(config), seed));

async function forward(name: 'cpu' | 'webgpu', config = CONFIG): Promise<Float32Array> {
  return onBackend(name, async () => {
    const model = randomModel(config, 3);
    const n = 3;
    const size = config.imageSize;
    const x = tf.tensor4d(noiseBatch(model, n, 5), [n, size, size, config.inChannels]);
    const t = tf.tensor1d([0.1, 0.5, 0.9]);
    const y = tf.tensor1d([0, 1, config.numClasses], 'int32');
    const v = model.velocity(x, t, y);
    const out = (await v.data()) as Float32Array;
    tf.dispose([x, t, y, v]);
    model.dispose();
    return out;
  });
}

const LR = 1e-3;
const SETTINGS: StepSettings = { seed: 7, classDropProb: 0, skewedTimesteps: true };

/** One AdamW step with EMA on 4 images: the loss, the gradients, then the updated weights and EMA. */
async function step(name: 'cpu' | 'webgpu') {
  return onBackend(name, async () => {
    const data = makeDataset(4, CONFIG.imageSize, 2);
    const batch = makeBatch(data, epochOrder(data.n, 1, 0), 0, 4, 1, 0);
    const model = randomModel(CONFIG, 11);
    const { loss: gradLoss, grads } = await batchGradients(model, [batch], 0, SETTINGS);
    const gradients = new Map<string, Float32Array>();
    for (const [k, g] of grads) gradients.set(k, (await g.data()) as Float32Array);
    tf.dispose([...grads.values()]);
    const optimizer = new AdamW(model.params, { ...PYTORCH_ADAMW_DEFAULTS, betas: [0.9, 0.95] });
    const ema = new Ema(model.params);
    const { loss } = await trainStep(model, optimizer, ema, [batch], 0, LR, SETTINGS);
    const weights = await model.values();
    const shadow = await model.values(ema.shadow);
    optimizer.dispose();
    ema.dispose();
    model.dispose();
    return { gradLoss, loss, gradients, weights, shadow };
  });
}

describe.skipIf(skipReason !== undefined)('webgpu backend', () => {
  beforeAll(async () => {
    expect(await prepareBackend('webgpu', { log: () => {} })).toBe('webgpu');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('the UNet forward matches cpu (micro and tiny layouts, with the "no label" row)', async () => {
    expect(relErr(await forward('webgpu'), await forward('cpu'))).toBeLessThanOrEqual(TOL);
    const tiny = { ...unetConfig('tiny'), numHeads: 2, resblockUpdown: true };
    expect(relErr(await forward('webgpu', tiny), await forward('cpu', tiny))).toBeLessThanOrEqual(TOL);
  });

  it('one training step (loss, gradients, AdamW, EMA) matches cpu', async () => {
    const ref = await step('cpu');
    const got = await step('webgpu');
    expect(Math.abs(got.gradLoss - ref.gradLoss) / ref.gradLoss).toBeLessThanOrEqual(TOL);
    expect(Math.abs(got.loss - ref.loss) / ref.loss).toBeLessThanOrEqual(TOL);
    for (const [k, g] of ref.gradients) expect(relErr(got.gradients.get(k)!, g), `gradient of ${k}`).toBeLessThanOrEqual(1e-3);
    // Adam's first step moves a weight by lr·g/(|g| + ε) ≈ lr·sign(g): where g is at rounding
    // level (e.g. the key bias of attention, whose exact gradient is 0) the sign is noise, so
    // the updates (and the EMA, which takes 0.9 of the first update) are compared where |g| is
    // above 1e-3 of the tensor's largest
    const initial = randomWeights(buildArchitecture(CONFIG), 11);
    for (const [k, w] of ref.weights) {
      const g = ref.gradients.get(k)!;
      const gMax = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      let worstEma = 0;
      let compared = 0;
      for (let i = 0; i < w.length; i++) {
        if (Math.abs(g[i]) <= 1e-3 * gMax) continue;
        const w0 = initial.get(k)![i];
        worst = Math.max(worst, Math.abs(got.weights.get(k)![i] - w0 - (w[i] - w0)));
        worstEma = Math.max(worstEma, Math.abs(got.shadow.get(k)![i] - ref.shadow.get(k)![i]));
        compared++;
      }
      if (k !== 'label_emb.weight') expect(compared, `entries of ${k} with a clear gradient`).toBeGreaterThan(0);
      expect(worst, `update of ${k}`).toBeLessThanOrEqual(1e-3 * LR);
      expect(worstEma, `EMA of ${k}`).toBeLessThanOrEqual(1e-3 * LR);
    }
  });

  it('heun2 sampling with CFG gives the cpu images', async () => {
    const settings: SamplingSettings = { odeMethod: 'heun2', odeOptions: { nfe: 3 }, cfgScale: 0.5, edmSchedule: true };
    const run = (name: 'cpu' | 'webgpu') =>
      onBackend(name, async () => {
        const model = randomModel(CONFIG, 3);
        const labels = Int32Array.from([0, 1, 2]);
        const out = await integrateFlowRows(model, model.params, noiseBatch(model, 3, 9), labels, settings);
        model.dispose();
        return out;
      });
    expect(relErr(await run('webgpu'), await run('cpu'))).toBeLessThanOrEqual(TOL);
  });

  it('dopri5 is refused on webgpu with the reason, before any step', async () => {
    await tf.setBackend('webgpu');
    const model = new FlowModel(CONFIG, { seed: 3 });
    const settings: SamplingSettings = { odeMethod: 'dopri5', odeOptions: {}, cfgScale: 0, edmSchedule: false };
    await expect(integrateFlowRows(model, model.params, noiseBatch(model, 1, 9), Int32Array.from([0]), settings)).rejects.toThrow(/dopri5 .*webgpu.*heun2/);
    model.dispose();
  });
});

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe.skipIf(skipReason !== undefined)('mmmi-train with --backend webgpu', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('train (grid through ONNX Runtime), then sample on webgpu gives the cpu images; --threads 2 is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmmi-webgpu-cli-'));
    const data = join(dir, 'data');
    const rng = new SeededRandom(5);
    for (const cls of ['a', 'b']) {
      mkdirSync(join(data, cls), { recursive: true });
      for (let k = 0; k < 2; k++) await writePng(join(data, cls, `${k}.png`), { width: 8, height: 8, data: rng.bytes(192) });
    }
    const out = join(dir, 'out');
    const train = await cli([
      'train',
      '--dataset',
      'imagefolder',
      '--data_path',
      data,
      '--config',
      'tiny',
      '--batch_size',
      '2',
      '--epochs',
      '1',
      '--eval_frequency',
      '1',
      '--grid_per_class',
      '1',
      '--ode_method',
      'heun2',
      '--ode_options',
      '{"nfe": 2}',
      '--use_ema',
      '--output_dir',
      out,
      '--registry',
      join(dir, 'reg'),
      '--backend',
      'webgpu',
    ]);
    expect(train.code, train.err).toBe(0);
    expect(train.err).toMatch(/flow-train: tfjs backend webgpu \(/);
    expect(train.err).toMatch(/sample grid .*samples-epoch0000.png \(one row per class; ONNX Runtime cpu\)/);
    const ckptPath = join(out, 'checkpoint.safetensors');
    const ckpt = await readCheckpointFile(ckptPath);
    expect(ckpt.meta.progress).toMatchObject({ epoch: 1, imagesSeen: 4, optimizerSteps: 2 });
    expect(ckpt.meta.provenance).toMatchObject({ backend: 'webgpu' });

    const sample = async (backend: string) => {
      const png = join(dir, `grid-${backend}.png`);
      const r = await cli(['sample', '--checkpoint', ckptPath, '--n', '4', '--nfe', '2', '--engine', 'tfjs', '--backend', backend, '--out', png]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(new RegExp(`; tfjs ${backend}\\) in `));
      return readImageRgbSync(png).data;
    };
    const onGpu = await sample('webgpu');
    const onCpu = await sample('cpu');
    expect(onGpu.length).toBe(onCpu.length);
    // 8-bit images of float32 results that agree to ~1e-6: at most one level apart
    expect(Math.max(...onGpu.map((v, i) => Math.abs(v - onCpu[i])))).toBeLessThanOrEqual(1);

    const threads = await cli([
      'sample',
      '--checkpoint',
      ckptPath,
      '--n',
      '2',
      '--engine',
      'tfjs',
      '--backend',
      'webgpu',
      '--threads',
      '2',
      '--out',
      join(dir, 'x.png'),
    ]);
    expect(threads.code).toBe(2);
    expect(threads.err).toMatch(/--threads 2: data-parallel threads are for the one-threaded wasm and cpu backends; webgpu already uses the GPU/);
  });
});
