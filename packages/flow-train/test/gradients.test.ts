/**
 * Gradient checks of the UNet as unetForward computes it (GroupNorm, ResBlock with scale-shift
 * norm, multi-head attention, label embedding), against central finite differences of the
 * float32 forward pass (test/helpers/gradcheck.ts); and the "no label" row of the label
 * embedding, which trainStep keeps at zero like PyTorch's padding_idx.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { SeededRandom } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTfjsGradients } from '@mmmi/tfjs-runtime';
import { Ema } from '../src/ema.js';
import { FlowModel } from '../src/flow-model.js';
import { AdamW, PYTORCH_ADAMW_DEFAULTS } from '../src/optim.js';
import { flowMatchingLoss, microBatchDraws, trainStep, type StepSettings } from '../src/train-step.js';
import { buildArchitecture, type Layer, type UNetArchitecture } from '../src/unet/architecture.js';
import { unetConfig, type UNetConfig } from '../src/unet/config.js';
import { unetForward } from '../src/unet/model.js';
import type { Batch } from '../src/data/batches.js';
import { directionalChecks, weightedSum, type DirectionalCheck } from './helpers/gradcheck.js';
import { randomWeights } from './helpers/training.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  // tfjs-core's Node bundle registers no gradient functions
  await registerTfjsGradients();
});

/**
 * `tiny` at 4×4 with 16 channels in 4 GroupNorm groups (4 channels per group, so the
 * group → channel expansion is exercised) and 2 attention heads of 8 channels.
 */
const CONFIG: UNetConfig = { ...unetConfig('tiny'), name: 'grad-check', imageSize: 4, modelChannels: 16, normGroups: 4, numHeads: 2 };
const ARCH = buildArchitecture(CONFIG);
const B = 2;
/** Observed errors are 2e-5–4e-3 (see helpers/gradcheck.ts); a gradient scaled by 1.02 fails every check. */
const REL_TOL = 1e-2;

function randomParams(arch: UNetArchitecture, seed: number): Map<string, tf.Tensor> {
  return new Map([...randomWeights(arch, seed)].map(([name, v]) => [name, tf.tensor(v, arch.params.find((p) => p.name === name)!.shape, 'float32')]));
}

/** The architecture with its blocks replaced: x → layers → GroupNorm out.0 → SiLU → conv out.2. */
const only = (layers: Layer[]): UNetArchitecture => ({ ...ARCH, inputBlocks: [], middleBlock: layers, outputBlocks: [] });

function findLayer(prefix: string): Layer {
  for (const l of [...ARCH.inputBlocks.flat(), ...ARCH.middleBlock, ...ARCH.outputBlocks.flat()]) if ('prefix' in l && l.prefix === prefix) return l;
  throw new Error(`no layer ${prefix}`);
}

interface Case {
  arch: UNetArchitecture;
  /** Input channels of x. */
  channels: number;
  /** Parameters to differentiate with respect to (x is always included). */
  names: string[];
  labels: number[];
}

/**
 * L = Σ w·unetForward(θ, x): autodiff gradients w.r.t. x and the named parameters, checked
 * along random directions, all inputs at once and each on its own.
 */
function check(c: Case, seed: number): { name: string; checks: DirectionalCheck[] }[] {
  const rng = new SeededRandom(seed);
  const params = randomParams(ARCH, seed + 1);
  const size = CONFIG.imageSize;
  const x = tf.tensor4d(rng.normals(B * size * size * c.channels), [B, size, size, c.channels]);
  const t = tf.tensor1d([0.3, 0.85]);
  const y = tf.tensor1d(c.labels, 'int32');
  const outSize = B * size * size * CONFIG.outChannels;
  const w = rng.normals(outSize);
  const wT = tf.tensor4d(w, [B, size, size, CONFIG.outChannels]);
  const forward = (inputs: readonly tf.Tensor[]) => {
    const p = new Map(params);
    c.names.forEach((n, i) => p.set(n, inputs[i + 1]));
    return unetForward(c.arch, p, inputs[0] as tf.Tensor4D, t, y);
  };
  const inputs = [x, ...c.names.map((n) => params.get(n)!)];
  const grads = tf.tidy(() => tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(forward(ins), wT)))(inputs));
  const gradValues = grads.map((g) => g.dataSync() as Float32Array);
  const loss = (ins: readonly tf.Tensor[]) => tf.tidy(() => weightedSum(forward(ins), w));
  const results = [{ name: 'all at once', checks: directionalChecks(inputs, loss, gradValues, { seed: seed + 2 }) }];
  ['x', ...c.names].forEach((name, i) => {
    const lossOne = (one: readonly tf.Tensor[]) => loss(inputs.map((v, j) => (j === i ? one[0] : v)));
    results.push({ name, checks: directionalChecks([inputs[i]], lossOne, [gradValues[i]], { seed: seed + 3 + i, directions: 2 }) });
  });
  tf.dispose([...grads, x, t, y, wT, ...params.values()]);
  return results;
}

function expectAgreement(results: { name: string; checks: DirectionalCheck[] }[]) {
  for (const { name, checks } of results) {
    for (const c of checks) {
      expect(Math.abs(c.predicted), `${name}: the gradient is zero along the direction`).toBeGreaterThan(1e-6);
      expect(c.relativeError, `${name}: finite difference ${c.measured}, autodiff ${c.predicted}`).toBeLessThan(REL_TOL);
    }
  }
}

const FULL_UNET_PARAMS = [
  'input_blocks.1.0.in_layers.0.weight', // GroupNorm in a ResBlock
  'input_blocks.1.0.in_layers.2.weight', // its 3×3 conv
  'input_blocks.3.1.norm.weight', // attention at the half resolution
  'input_blocks.3.1.qkv.weight',
  'middle_block.1.qkv.weight',
  'output_blocks.1.0.skip_connection.weight', // 1×1 conv of the concatenated skip
  'time_embed.0.weight',
  'label_emb.weight',
  'out.0.weight',
];

describe('gradients of unetForward agree with finite differences (relative error < 1e-2)', () => {
  it('the whole UNet: input, GroupNorm, conv, attention, skip, time and label embeddings', () => {
    expectAgreement(check({ arch: ARCH, channels: 3, names: FULL_UNET_PARAMS, labels: [3, CONFIG.numClasses] }, 11));
  });

  it('GroupNorm (4 groups of 4 channels) on its own: x → GN → SiLU → conv', () => {
    expectAgreement(check({ arch: only([]), channels: 16, names: ['out.0.weight', 'out.0.bias'], labels: [0, 1] }, 21));
  });

  it('a ResBlock with scale-shift norm on its own', () => {
    const names = ['in_layers.0.weight', 'in_layers.0.bias', 'in_layers.2.weight', 'emb_layers.1.weight', 'out_layers.0.weight', 'out_layers.3.weight'].map(
      (n) => `middle_block.0.${n}`,
    );
    expectAgreement(
      check({ arch: only([findLayer('middle_block.0')]), channels: 16, names: [...names, 'label_emb.weight', 'time_embed.2.weight'], labels: [7, 2] }, 31),
    );
  });

  it('a 2-head attention block on its own (4×4: 16 positions), new and legacy qkv order', () => {
    const names = ['norm.weight', 'norm.bias', 'qkv.weight', 'qkv.bias', 'proj_out.weight'].map((n) => `middle_block.1.${n}`);
    const layer = findLayer('middle_block.1');
    expectAgreement(check({ arch: only([layer]), channels: 16, names, labels: [0, 1] }, 41));
    const legacy = { ...only([layer]), config: { ...CONFIG, useNewAttentionOrder: false } };
    expectAgreement(check({ arch: legacy, channels: 16, names, labels: [0, 1] }, 51));
  });

  it('the label embedding gets gradient only in the rows of the batch\'s labels (the "no label" row included)', () => {
    const params = randomParams(ARCH, 61);
    const rng = new SeededRandom(62);
    const x = tf.tensor4d(rng.normals(B * 4 * 4 * 3), [B, 4, 4, 3]);
    const t = tf.tensor1d([0.5, 0.5]);
    const y = tf.tensor1d([4, CONFIG.numClasses], 'int32');
    const [g] = tf.grads((e: tf.Tensor) => tf.sum(unetForward(ARCH, new Map(params).set('label_emb.weight', e), x, t, y)))([params.get('label_emb.weight')!]);
    const rows = g.arraySync() as number[][];
    rows.forEach((row, r) => {
      const norm = Math.hypot(...row);
      if (r === 4 || r === CONFIG.numClasses) expect(norm, `row ${r}`).toBeGreaterThan(1e-3);
      else expect(norm, `row ${r}`).toBe(0);
    });
    tf.dispose([g, x, t, y, ...params.values()]);
  });
});

describe('trainStep: the "no label" row of label_emb.weight (PyTorch padding_idx)', () => {
  it('stays exactly zero through steps whose labels are all dropped, though its raw gradient is not zero', async () => {
    const model = new FlowModel(CONFIG, { seed: 5 });
    const optimizer = new AdamW(model.params, PYTORCH_ADAMW_DEFAULTS);
    const ema = new Ema(model.params);
    // class_drop_prob 1: every micro-batch is trained with the "no label" class
    const settings: StepSettings = { seed: 3, classDropProb: 1, skewedTimesteps: false };
    const rng = new SeededRandom(71);
    const size = CONFIG.imageSize;
    const batch = (): Batch => ({ images: rng.uniforms(B * size * size * 3, 1), labels: Int32Array.from([1, 2]), n: B });
    const noLabelRow = async (t: tf.Tensor) => Array.from(((await t.data()) as Float32Array).subarray(CONFIG.numClasses * 4 * CONFIG.modelChannels));
    expect(await noLabelRow(model.params.get('label_emb.weight')!)).toEqual(new Array(4 * CONFIG.modelChannels).fill(0));
    const out2 = await model.params.get('out.2.weight')!.data();
    expect(out2.every((v) => v === 0)).toBe(true); // zero_module: the first step's gradients stop here

    let iteration = 0;
    for (let step = 0; step < 4; step++) {
      await trainStep(model, optimizer, ema, [batch(), batch()], iteration, 1e-2, settings);
      iteration += 2;
    }
    // the steps did train (from the second step on, gradients reach the embedding)
    expect((await model.params.get('out.2.weight')!.data()).some((v) => v !== 0)).toBe(true);
    const rowOf = (values: Float32Array, row: number) => Array.from(values.subarray(row * 4 * CONFIG.modelChannels, (row + 1) * 4 * CONFIG.modelChannels));
    const emb = (await model.params.get('label_emb.weight')!.data()) as Float32Array;
    expect(rowOf(emb, CONFIG.numClasses).every((v) => v === 0)).toBe(true);
    for (const state of [ema.shadow, optimizer.m, optimizer.v]) {
      expect((await noLabelRow(state.get('label_emb.weight')!)).every((v) => v === 0)).toBe(true);
    }

    // without the mask the row would move: the raw gradient of the same loss is not zero
    const b = batch();
    const draws = microBatchDraws(settings, iteration, b.n, size * size * 3);
    expect(draws.dropLabels).toBe(true);
    const embedding = model.params.get('label_emb.weight')!;
    const { value, grads } = tf.variableGrads(() => flowMatchingLoss(model, b, draws, iteration), [embedding]);
    const raw = (await grads[embedding.name].data()) as Float32Array;
    expect(Math.hypot(...rowOf(raw, CONFIG.numClasses))).toBeGreaterThan(1e-6);
    tf.dispose([value, ...Object.values(grads)]);
    optimizer.dispose();
    ema.dispose();
    model.dispose();
  });
});
