/**
 * The Inception-v3 FID feature network against a PyTorch reimplementation of pytorch-fid's
 * FID Inception (scripts/make_inception_fixtures.py), both with the same formula weights
 * and inputs; and the state-dict names and shapes against the PyTorch module tree.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { readNpySync, requireDtype, TorchTensor } from '@mmmi/formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@mmmi/tfjs-runtime';
import {
  checkInceptionWeights,
  createInceptionFeatureExtractor,
  INCEPTION_FEATURE_PARAMETER_COUNT,
  INCEPTION_STATE_DICT_SHAPES,
  inceptionFeatureKeys,
  inceptionFeatureParameterCount,
  type InceptionFeatures,
} from '../src/inception/index.js';

const fixture = (name: string) => new URL(`./fixtures/inception/${name}`, import.meta.url);
const pyShapes: Array<[string, number[]]> = JSON.parse(readFileSync(fixture('state_dict_shapes.json'), 'utf8'));
const meta = JSON.parse(readFileSync(fixture('meta.json'), 'utf8')) as { feature_parameters: number };

// ---- the formula of scripts/make_inception_fixtures.py (formula_tensor, formula_input)

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

function formulaTensor(name: string, shape: readonly number[]): TorchTensor<'float32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const h = (fnv1a(name) % 10007) / 1000;
  const out = new Float32Array(n);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const convScale = Math.sqrt(2.0 / fanIn);
  for (let j = 0; j < n; j++) {
    const s = Math.sin(0.7 * j + h);
    let v: number;
    if (name.endsWith('.conv.weight')) v = s * convScale;
    else if (name.endsWith('.bn.weight')) v = 1 + 0.2 * s;
    else if (name.endsWith('.bn.bias')) v = 0.1 * s + 0.05;
    else if (name.endsWith('.bn.running_mean')) v = 0.1 * s;
    else if (name.endsWith('.bn.running_var')) v = 1 + 0.5 * s * s;
    else v = 0.01 * s;
    out[j] = v;
  }
  return new TorchTensor('float32', [...shape], out, false);
}

function formulaWeights(): Map<string, TorchTensor> {
  const m = new Map<string, TorchTensor>();
  for (const [name, shape] of INCEPTION_STATE_DICT_SHAPES) m.set(name, formulaTensor(name, shape));
  return m;
}

/** NHWC [n, size, size, 3]: x[b,c,y,x] = 0.95 sin(0.031(x+1)(c+1) + 0.047y + 1.3b + 0.5c) cos(0.013(x−y) + 0.7b). */
function formulaInput(n: number, size = 299): Float32Array {
  const out = new Float32Array(n * size * size * 3);
  let k = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) {
          out[k++] = 0.95 * Math.sin(0.031 * (x + 1) * (c + 1) + 0.047 * y + 1.3 * b + 0.5 * c) * Math.cos(0.013 * (x - y) + 0.7 * b);
        }
  return out;
}

function relMaxErr(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; maxAbs: number; maxRef: number } {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return { rel: maxAbs / maxRef, maxAbs, maxRef };
}

describe('Inception-v3 state dict', () => {
  it("matches the PyTorch module tree's state_dict (names, order, shapes)", () => {
    expect(INCEPTION_STATE_DICT_SHAPES.map(([n, s]) => [n, [...s]])).toEqual(pyShapes);
    expect(pyShapes.find(([n]) => n === 'Conv2d_1a_3x3.conv.weight')?.[1]).toEqual([32, 3, 3, 3]);
    expect(pyShapes.find(([n]) => n === 'fc.weight')?.[1]).toEqual([1008, 2048]);
    expect(pyShapes.at(-3)?.[0]).toBe('Mixed_7c.branch_pool.bn.running_var');
  });

  it('is what the architecture needs, plus fc.weight and fc.bias', () => {
    const needed = inceptionFeatureKeys();
    const published = pyShapes.filter(([n]) => !n.startsWith('fc.'));
    expect(needed).toEqual(published);
    expect(pyShapes.filter(([n]) => n.startsWith('fc.'))).toEqual([
      ['fc.weight', [1008, 2048]],
      ['fc.bias', [1008]],
    ]);
  });

  it('has 21 785 568 feature parameters (conv weights + BN affine), as torch counts them', () => {
    expect(inceptionFeatureParameterCount()).toBe(21_785_568);
    expect(INCEPTION_FEATURE_PARAMETER_COUNT).toBe(21_785_568);
    expect(meta.feature_parameters).toBe(21_785_568);
  });

  it('names missing and mis-shaped tensors, and ignores extra keys', () => {
    const w = formulaWeights();
    w.set('Conv2d_1a_3x3.bn.num_batches_tracked', new TorchTensor('int64', [], new BigInt64Array(1), false));
    w.set('AuxLogits.fc.weight', formulaTensor('AuxLogits.fc.weight', [3, 3]));
    expect(() => checkInceptionWeights(w)).not.toThrow();

    w.delete('Mixed_7c.branch_pool.conv.weight');
    w.set('Mixed_6b.branch7x7_2.conv.weight', formulaTensor('x', [128, 128, 7, 1]));
    w.set('Conv2d_1a_3x3.bn.running_var', formulaTensor('x', [33]));
    let message = '';
    try {
      createInceptionFeatureExtractor(w);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('3 problems');
    expect(message).toContain('missing Mixed_7c.branch_pool.conv.weight [192, 2048, 1, 1]');
    expect(message).toContain('Mixed_6b.branch7x7_2.conv.weight has shape [128, 128, 7, 1], expected [128, 128, 1, 7]');
    expect(message).toContain('Conv2d_1a_3x3.bn.running_var has shape [33], expected [32]');
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('Inception-v3 features against PyTorch', () => {
  let net: InceptionFeatures;
  let backend = '';

  beforeAll(async () => {
    // wasm (XNNPACK) is ~10× faster than cpu; fall back to cpu where wasm does not start
    try {
      backend = await selectBackend('wasm', { log: () => {} });
    } catch {
      backend = await selectBackend('cpu', { log: () => {} });
    }
    net = createInceptionFeatureExtractor(formulaWeights());
  });
  afterAll(() => net?.dispose());

  it('gives pytorch-fid pool3 features to 1e-4 (max abs error / max abs value)', async () => {
    const ref = requireDtype(readNpySync(fixture('features.npy').pathname), '<f4');
    expect(ref.shape).toEqual([2, 2048]);
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(formulaInput(2), [2, 299, 299, 3]);
    const t0 = performance.now();
    const f = await net.features(x);
    const ms = performance.now() - t0;
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(f.length).toBe(2 * 2048);
    const all = relMaxErr(f, ref.data);
    // the input-dependent part: image 0 minus image 1
    const d = new Float32Array(2048);
    const dRef = new Float32Array(2048);
    for (let j = 0; j < 2048; j++) {
      d[j] = f[j] - f[2048 + j];
      dRef[j] = ref.data[j] - ref.data[2048 + j];
    }
    const diff = relMaxErr(d, dRef);
    console.log(
      `inception parity on ${backend}: ${ms.toFixed(0)} ms for 2 images; rel err ${all.rel.toExponential(2)} ` +
        `(max abs ${all.maxAbs.toExponential(2)} of ${all.maxRef.toFixed(3)}); ` +
        `image difference rel err ${diff.rel.toExponential(2)} (of ${diff.maxRef.toFixed(4)})`,
    );
    expect(all.rel).toBeLessThan(1e-4);
    expect(diff.rel).toBeLessThan(1e-2);
  });

  it('accepts NCHW as well as NHWC, and any float dtype/size ≥ 75', async () => {
    const size = 80;
    const nhwc = tf.tensor4d(formulaInput(2, size), [2, size, size, 3]);
    const nchw = tf.transpose(nhwc, [0, 3, 1, 2]) as tf.Tensor4D;
    const a = await net.features(nhwc);
    const b = await net.features(nchw);
    expect(b).toEqual(a);
    const tooSmall = tf.zeros([1, 74, 74, 3]) as tf.Tensor4D;
    await expect(net.features(tooSmall)).rejects.toThrow(/at least 75×75/);
    const gray = tf.zeros([1, 99, 99, 1]) as tf.Tensor4D;
    await expect(net.features(gray)).rejects.toThrow(/3-channel/);
    tf.dispose([nhwc, nchw, tooSmall, gray]);
  });
});

// The plain-JavaScript fallback (its own pooling and convolution kernels): one image, ~20 s.
describe.skipIf(process.env.FID_SKIP_CPU_PARITY === '1')('Inception-v3 features on the cpu backend', () => {
  it('gives the PyTorch features of image 0 to 1e-4', async () => {
    await selectBackend('cpu', { log: () => {} });
    const net = createInceptionFeatureExtractor(formulaWeights());
    try {
      const ref = requireDtype(readNpySync(fixture('features.npy').pathname), '<f4').data.subarray(0, 2048);
      const x = tf.tensor4d(formulaInput(1), [1, 299, 299, 3]);
      const t0 = performance.now();
      const f = await net.features(x);
      const ms = performance.now() - t0;
      x.dispose();
      const e = relMaxErr(f, ref);
      console.log(`inception parity on cpu: ${ms.toFixed(0)} ms for 1 image; rel err ${e.rel.toExponential(2)}`);
      expect(e.rel).toBeLessThan(1e-4);
    } finally {
      net.dispose();
    }
  });
});
