/**
 * The wasm training kernels against the cpu backend (the reference): each kernel on
 * tiny random tensors, then the whole gradient of a small conv + GroupNorm + embedding loss,
 * and no leaked tensors or wasm buffers.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeededRandom } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { getConv2DBackpropFilterVariant, setConv2DBackpropFilterVariant, type Conv2DBackpropFilterVariant } from '../bench/conv-grad-variants.js';
import { registerTfjsGradients } from '../src/gradients.js';
import { prepareBackend } from '../src/prepare.js';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../src/wasm/kernels.js';

/** Deterministic N(0, 1) values. */
const randn = (n: number, seed: number): Float32Array => new SeededRandom(seed).normals(n);

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** max |a − b| / max(floor, max |b|) */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

interface WasmBackendLike {
  numDataIds(): number;
}
const wasmDataIds = () => (tf.engine().backend as unknown as WasmBackendLike).numDataIds();

/** Runs `kernel` on `backend` with inputs made there from plain arrays; returns the output's values and shape. */
async function runOn(
  backend: 'cpu' | 'wasm',
  kernel: string,
  inputs: Record<string, { data: Float32Array | Int32Array; shape: number[] }>,
  attrs: object,
): Promise<{ values: Float32Array | Int32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape, v.data instanceof Int32Array ? 'int32' : 'float32');
  const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
  const values = out.dataSync() as Float32Array | Int32Array;
  const shape = out.shape;
  tf.dispose([out, ...Object.values(ts)]);
  return { values, shape };
}

const VARIANTS: Conv2DBackpropFilterVariant[] = ['conv', 'per-tap', 'im2col', 'conv3d'];

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { x: [3, 7, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { x: [2, 7, 9, 5], filter: [1, 1, 5, 4], strides: 1, pad: 'valid' },
  { x: [2, 7, 9, 5], filter: [1, 1, 5, 4], strides: 1, pad: 'same' },
  { x: [2, 7, 9, 5], filter: [1, 1, 5, 4], strides: 2, pad: 'same' },
  {
    x: [2, 7, 9, 3],
    filter: [3, 3, 3, 4],
    strides: [2, 1],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    x: [2, 6, 6, 3],
    filter: [1, 1, 3, 2],
    strides: 1,
    pad: [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ],
  },
  { x: [1, 5, 5, 2], filter: [3, 3, 2, 2], strides: 1, pad: 1 },
  { x: [3, 8, 6, 5], filter: [2, 3, 5, 3], strides: 2, pad: 'same' },
  { x: [2, 9, 7, 3], filter: [3, 2, 3, 2], strides: [3, 2], pad: 'valid' },
  { x: [2, 3, 7, 9], filter: [3, 3, 3, 4], strides: 1, pad: 'same', dataFormat: 'NCHW' },
  { x: [4, 16, 16, 8], filter: [3, 3, 8, 16], strides: 1, pad: 'same' },
];

function convOutShape(c: ConvCase): number[] {
  const nchw = c.dataFormat === 'NCHW';
  const xNhwc = nchw ? [c.x[0], c.x[2], c.x[3], c.x[1]] : c.x;
  const info = tf.backend_util.computeConv2DInfo(xNhwc as [number, number, number, number], c.filter, c.strides, 1, c.pad);
  const [b, h, w, ch] = info.outShape;
  return nchw ? [b, ch, h, w] : [b, h, w, ch];
}

const caseName = (c: ConvCase) =>
  `x ${c.x.join('×')}, filter ${c.filter.join('×')}, strides ${JSON.stringify(c.strides)}, pad ${JSON.stringify(c.pad)}${c.dataFormat ? `, ${c.dataFormat}` : ''}`;

let logLines: string[] = [];

beforeAll(async () => {
  logLines = [];
  expect(await prepareBackend('wasm', { log: (m) => logLines.push(m), label: 'flow-train' })).toBe('wasm');
});

describe('prepareBackend', () => {
  it('activates wasm, logs with the flow-train prefix and registers the missing kernels once', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(logLines[0]).toMatch(/^flow-train: tfjs backend wasm\b/);
    expect(logLines[1]).toBe(`flow-train: wasm training kernels registered: ${WASM_TRAINING_KERNELS.join(', ')}`);
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k, 'wasm')).toBeDefined();
    expect(registerWasmTrainingKernels()).toEqual([]);
  });

  it("registers tfjs-core's gradients (idempotently)", async () => {
    for (const k of ['Conv2D', 'Mean', 'Sum', 'BatchMatMul', 'GatherV2', 'Sigmoid', 'Softmax', 'Tile']) expect(tf.getGradient(k)).toBeDefined();
    expect(await registerTfjsGradients()).toBe(false);
  });

  it('a second call logs that the kernels are already there', async () => {
    const lines: string[] = [];
    await prepareBackend('wasm', { log: (m) => lines.push(m), label: 'flow-train' });
    expect(lines[1]).toBe('flow-train: wasm training kernels already registered');
  });
});

describe('Conv2DBackpropFilter on wasm matches cpu', () => {
  for (const variant of VARIANTS) {
    it(`variant ${variant}`, async () => {
      const before = getConv2DBackpropFilterVariant();
      setConv2DBackpropFilterVariant(variant);
      try {
        for (const [i, c] of CONV_CASES.entries()) {
          const dyShape = convOutShape(c);
          const inputs = {
            x: { data: randn(size(c.x), 1 + i), shape: c.x },
            dy: { data: randn(size(dyShape), 100 + i), shape: dyShape },
          };
          const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat ?? 'NHWC', filterShape: c.filter };
          const ref = await runOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
          const out = await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
          expect(out.shape, caseName(c)).toEqual(c.filter);
          expect(relDiff(out.values, ref.values), caseName(c)).toBeLessThanOrEqual(2e-5);
        }
      } finally {
        setConv2DBackpropFilterVariant(before);
      }
    });
  }

  it('the gradient of conv2d (tf.grads) matches cpu for both inputs', async () => {
    const grads = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(randn(2 * 9 * 7 * 3, 5), [2, 9, 7, 3]);
      const w = tf.tensor4d(randn(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, w]);
      const values = [dx.dataSync(), dw.dataSync()];
      tf.dispose([x, w, dx, dw]);
      return values;
    };
    const ref = await grads('cpu');
    const out = await grads('wasm');
    expect(relDiff(out[0], ref[0])).toBeLessThanOrEqual(2e-5);
    expect(relDiff(out[1], ref[1])).toBeLessThanOrEqual(2e-5);
  });

  it('rejects dilations other than 1 and mismatched dy with clear errors', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 5, 5, 2]);
    const dy = tf.zeros([1, 5, 5, 3]);
    const run = (attrs: object) => () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as tf.NamedAttrMap);
    expect(run({ strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3], dilations: 2 })).toThrow(/dilation 1 only/);
    expect(run({ strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] })).toThrow(/does not match/);
    tf.dispose([x, dy]);
  });
});

describe('UnsortedSegmentSum on wasm matches cpu', () => {
  const cases: { name: string; x: Float32Array | Int32Array; shape: number[]; ids: number[]; n: number }[] = [
    { name: 'embedding-gradient shape', x: randn(6 * 4, 7), shape: [6, 4], ids: [1, 3, 3, 0, 4, 1], n: 5 },
    { name: 'rank-3 x, unused segments', x: randn(5 * 2 * 3, 8), shape: [5, 2, 3], ids: [0, 6, 6, 2, 6], n: 8 },
    { name: 'ids out of range contribute nothing', x: randn(4 * 3, 9), shape: [4, 3], ids: [-1, 2, 5, 0], n: 3 },
    { name: 'int32', x: Int32Array.from({ length: 12 }, (_, i) => i * 7 - 30), shape: [4, 3], ids: [2, 0, 2, 1], n: 3 },
    { name: 'one row', x: randn(3, 10), shape: [1, 3], ids: [2], n: 4 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const inputs = { x: { data: c.x, shape: c.shape }, segmentIds: { data: Int32Array.from(c.ids), shape: [c.ids.length] } };
      const ref = await runOn('cpu', 'UnsortedSegmentSum', inputs, { numSegments: c.n });
      const out = await runOn('wasm', 'UnsortedSegmentSum', inputs, { numSegments: c.n });
      expect(out.shape).toEqual(ref.shape);
      expect(relDiff(out.values, ref.values)).toBeLessThanOrEqual(2e-6);
    });
  }

  it("gather's gradient (an embedding lookup) matches cpu", async () => {
    const grad = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const table = tf.tensor2d(randn(11 * 6, 11), [11, 6]);
      const ids = tf.tensor1d([1, 3, 3, 10, 0, 3], 'int32');
      const w = tf.tensor2d(randn(6 * 6, 12), [6, 6]);
      const g = tf.grad((t: tf.Tensor) => tf.mul(tf.gather(t, ids), w))(table);
      const values = g.dataSync();
      tf.dispose([table, ids, w, g]);
      return values;
    };
    expect(relDiff(await grad('wasm'), await grad('cpu'))).toBeLessThanOrEqual(2e-6);
  });
});

describe('OneHot (wrapped: wasm ignores its dtype)', () => {
  it('OneHot honours dtype float32', async () => {
    const inputs = { indices: { data: Int32Array.from([1, 0, -1, 4, 2]), shape: [5] } };
    for (const attrs of [
      { depth: 3, onValue: 1, offValue: 0, dtype: 'float32' },
      { depth: 4, onValue: 2.5, offValue: -1, dtype: 'float32' },
      { depth: 3, onValue: 1, offValue: 0, dtype: 'int32' },
      { depth: 3, onValue: 5, offValue: -2, dtype: 'int32' },
    ]) {
      const ref = await runOn('cpu', 'OneHot', inputs, attrs);
      const out = await runOn('wasm', 'OneHot', inputs, attrs);
      expect(out.shape).toEqual(ref.shape);
      expect(Array.from(out.values)).toEqual(Array.from(ref.values));
    }
  });
});

// ---------------------------------------------------------------------------------------
// A small model with the UNet's ops: conv 3×3 'same' + bias, GroupNorm (reshape to
// [B,H,W,G,C/G], moments over [1,2,4]), SiLU, an embedding row (gather) and a linear layer
// (matMul with transposeB) as scale/shift, 1×1 conv, 2×2 average pool (reshape + mean),
// nearest ×2 upsampling, a channel concat (skip), attention-style softmax(q·kᵀ)·v,
// sin/cos timestep features, MSE.

const B = 3;
const H = 8;
const C = 8;
const G = 2;
const K = 5; // classes

const PARAM_SHAPES: Record<string, number[]> = {
  'conv1.w': [3, 3, 3, C],
  'conv1.b': [C],
  'gn.w': [C],
  'gn.b': [C],
  emb: [K, 2 * C],
  'lin.w': [2 * C, 4],
  'lin.b': [2 * C],
  'skip.w': [1, 1, C, C],
  'skip.b': [C],
  'down.w': [3, 3, C, C],
  'qkv.w': [3 * C, C],
  'out.w': [3, 3, 2 * C, 3],
  'out.b': [3],
};

/** Nearest ×2 as a broadcasting Add of zeros: its gradient is a Sum over the broadcast axes. */
function upsampleNearest2x(a: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = a.shape;
  return tf.reshape(tf.add(tf.reshape(a, [b, h, 1, w, 1, c]), tf.zeros([1, 1, 2, 1, 2, 1])), [b, 2 * h, 2 * w, c]);
}

function smallLoss(p: Record<string, tf.Variable>, x: tf.Tensor4D, y: tf.Tensor1D, t: tf.Tensor1D, target: tf.Tensor4D): tf.Scalar {
  const silu = <T extends tf.Tensor>(a: T): T => tf.mul(a, tf.sigmoid(a));
  const groupNorm = (a: tf.Tensor4D): tf.Tensor4D => {
    const [b, h, w, c] = a.shape;
    const g = tf.reshape(a, [b, h, w, G, c / G]);
    const { mean, variance } = tf.moments(g, [1, 2, 4], true);
    const n = tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))), [b, h, w, c]);
    return tf.add(tf.mul(n, p['gn.w']), p['gn.b']);
  };
  let h = tf.add(tf.conv2d(x, p['conv1.w'] as tf.Tensor4D, 1, 'same'), p['conv1.b']) as tf.Tensor4D;
  // conditioning: embedding row + linear(sin/cos features)
  const feats = tf.concat(
    [tf.sin(tf.reshape(t, [B, 1])), tf.cos(tf.reshape(t, [B, 1])), tf.exp(tf.mul(tf.reshape(t, [B, 1]), -1)), tf.square(tf.reshape(t, [B, 1]))],
    1,
  );
  const cond = tf.add(tf.add(tf.gather(p.emb, y), tf.matMul(feats, p['lin.w'] as tf.Tensor2D, false, true)), p['lin.b']);
  const [scale, shift] = tf.split(tf.reshape(silu(cond), [B, 1, 1, 2 * C]), 2, 3);
  h = silu(tf.add(tf.mul(groupNorm(h), tf.add(scale, 1)), shift)) as tf.Tensor4D;
  const skip = tf.add(tf.conv2d(h, p['skip.w'] as tf.Tensor4D, 1, 'valid'), p['skip.b']) as tf.Tensor4D;
  // down: 2×2 average pool (reshape + mean), conv; attention at 4×4
  let d = tf.mean(tf.reshape(h, [B, H / 2, 2, H / 2, 2, C]), [2, 4]) as tf.Tensor4D;
  d = tf.conv2d(d, p['down.w'] as tf.Tensor4D, 1, 'same');
  const tokens = tf.reshape(d, [B * (H / 2) * (H / 2), C]) as tf.Tensor2D;
  const qkv = tf.reshape(tf.matMul(tokens, p['qkv.w'] as tf.Tensor2D, false, true), [B, (H / 2) * (H / 2), 3 * C]);
  const [q, k, v] = tf.split(qkv, 3, 2);
  const att = tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(C))), v);
  d = tf.add(d, tf.reshape(att, [B, H / 2, H / 2, C]));
  // up: nearest ×2 (not broadcastTo: its gradient is Tile's, which stops at rank 4; not
  // resizeNearestNeighbor: tfjs-backend-cpu's ResizeNearestNeighborGrad is wrong for batch > 1), concat the skip
  const up = upsampleNearest2x(d);
  const out = tf.add(tf.conv2d(tf.concat([up, skip], 3), p['out.w'] as tf.Tensor4D, 1, 'same'), p['out.b']);
  return tf.mean(tf.square(tf.sub(out, target)));
}

async function smallModelGrads(backend: 'cpu' | 'wasm'): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  await tf.setBackend(backend);
  const params: Record<string, tf.Variable> = {};
  let seed = 1000;
  for (const [name, shape] of Object.entries(PARAM_SHAPES)) {
    const scale = name.endsWith('.b') ? 0.1 : 1 / Math.sqrt(size(shape.slice(0, -1)) || 1);
    const init = tf.tidy(() => tf.mul(tf.tensor(randn(size(shape), seed++), shape), scale));
    params[name] = tf.variable(init, true, `small.${name}.${backend}`);
    init.dispose();
  }
  const x = tf.tensor4d(randn(B * H * H * 3, 1), [B, H, H, 3]);
  const target = tf.tensor4d(randn(B * H * H * 3, 2), [B, H, H, 3]);
  const y = tf.tensor1d([0, 3, 3], 'int32');
  const t = tf.tensor1d([0.1, 0.5, 0.9]);
  const { value, grads } = tf.variableGrads(() => smallLoss(params, x, y, t, target), Object.values(params));
  const loss = value.dataSync()[0];
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(params)) out[name] = grads[v.name].dataSync() as Float32Array;
  tf.dispose([value, ...Object.values(grads), ...Object.values(params), x, target, y, t]);
  return { loss, grads: out };
}

describe('a small conv + GroupNorm + embedding + attention model', () => {
  it('has the same loss and gradient for every parameter on wasm as on cpu', async () => {
    const ref = await smallModelGrads('cpu');
    const out = await smallModelGrads('wasm');
    expect(Math.abs(out.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    for (const name of Object.keys(PARAM_SHAPES)) {
      // relative to the largest entry of each gradient
      expect(relDiff(out.grads[name], ref.grads[name], 0), name).toBeLessThanOrEqual(2e-5);
      expect(
        out.grads[name].some((g) => g !== 0),
        `${name} has a gradient`,
      ).toBe(true);
    }
  });
});

describe('memory', () => {
  it('the kernels leave no tensors and no wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randn(2 * 9 * 7 * 4, 3), [2, 9, 7, 4]);
    const dy1 = tf.tensor4d(randn(2 * 9 * 7 * 5, 4), [2, 9, 7, 5]);
    const dy2 = tf.tensor4d(randn(2 * 5 * 4 * 5, 5), [2, 5, 4, 5]);
    const seg = tf.tensor2d(randn(6 * 4, 6), [6, 4]);
    const ids = tf.tensor1d([1, 0, 1, 2, -1, 2], 'int32');
    const segInt = tf.tensor2d(
      Int32Array.from({ length: 24 }, (_, i) => i),
      [6, 4],
      'int32',
    );
    const tensors = tf.memory().numTensors;
    const buffers = wasmDataIds();
    const before = getConv2DBackpropFilterVariant();
    for (let round = 0; round < 3; round++) {
      for (const variant of VARIANTS) {
        setConv2DBackpropFilterVariant(variant);
        const outs = [
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy1 }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 4, 5] }),
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy1 }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, 4, 5] }),
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy2 }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 4, 5] }),
          tf.engine().runKernel('UnsortedSegmentSum', { x: seg, segmentIds: ids }, { numSegments: 4 }),
          tf.engine().runKernel('UnsortedSegmentSum', { x: segInt, segmentIds: ids }, { numSegments: 3 }),
          tf.engine().runKernel('OneHot', { indices: ids }, { depth: 3, onValue: 1, offValue: 0, dtype: 'float32' }),
          tf.engine().runKernel('OneHot', { indices: ids }, { depth: 4, onValue: 0.5, offValue: -1, dtype: 'float32' }),
        ] as tf.Tensor[];
        for (const o of outs) o.dataSync();
        tf.dispose(outs);
      }
    }
    setConv2DBackpropFilterVariant(before);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(wasmDataIds()).toBe(buffers);
    tf.dispose([x, dy1, dy2, seg, ids, segInt]);
  });

  it('repeated training-style gradient steps on wasm do not grow memory', async () => {
    await tf.setBackend('wasm');
    const counts: number[][] = [];
    for (let i = 0; i < 3; i++) {
      await smallModelGrads('wasm');
      counts.push([tf.memory().numTensors, wasmDataIds()]);
    }
    expect(counts[2]).toEqual(counts[0]);
    expect(counts[1]).toEqual(counts[0]);
  });
});
