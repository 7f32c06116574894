/**
 * The ONNX export and the ONNX Runtime engine against the tfjs forward pass (the package's
 * reference, itself checked against PyTorch in parity.test.ts) and against the PyTorch
 * fixtures directly: velocities and integrated images within 1e-4 relative, same bytes for
 * the same seed, graphs that load with the documented inputs and outputs, a cache that
 * refuses corrupt graphs, and clear errors.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readNpzSync } from '@mmmi/formats';
import { SeededRandom, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../src/checkpoint.js';
import { cachedOnnxGraph, EngineError, OrtEngine, openEngine } from '../src/engine/index.js';
import { FlowModel } from '../src/flow-model.js';
import { exportUNetOnnx } from '../src/onnx/export-unet.js';
import { modelProtoType } from '../src/onnx/schema.js';
import { loadModel } from '../src/registry.js';
import { integrateFlowRows, noiseBatch, sampleImages } from '../src/sample.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { unetConfig, type UNetConfig } from '../src/unet/config.js';
import { initialParamValues, type ParamValues } from '../src/unet/params.js';
import { relErr } from './helpers/compare.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/torch-unet/', import.meta.url));
const tmp = tempDir('mmmi-onnx-');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Initial weights with every tensor perturbed (zero-initialised layers would hide errors). */
function perturbedValues(config: UNetConfig, seed: number): ParamValues {
  const arch = buildArchitecture(config);
  const values = initialParamValues(arch, seed);
  const rng = new SeededRandom(seed);
  for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += 0.05 * rng.normal();
  return values;
}

function inputs(config: UNetConfig, n: number, seed: number) {
  const rng = new SeededRandom(seed);
  const s = config.imageSize;
  return {
    x: rng.normals(n * s * s * config.inChannels),
    t: Float32Array.from({ length: n }, () => rng.uniform()),
    y: Int32Array.from({ length: n }, (_, i) => i % (config.numClasses + 1)),
  };
}

function tfjsVelocity(config: UNetConfig, values: ParamValues, x: Float32Array, t: Float32Array, y: Int32Array): Float32Array {
  const model = new FlowModel(config, values);
  try {
    const s = config.imageSize;
    return tf.tidy(
      () => model.velocity(tf.tensor4d(x, [t.length, s, s, config.inChannels]), tf.tensor1d(t), tf.tensor1d(y, 'int32')).dataSync() as Float32Array,
    );
  } finally {
    model.dispose();
  }
}

async function ortVelocity(bytes: Uint8Array, config: UNetConfig, x: Float32Array, t: Float32Array, y: Int32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const s = config.imageSize;
  const out = await session.run({
    x: new ort.Tensor('float32', x, [t.length, s, s, config.inChannels]),
    t: new ort.Tensor('float32', t, [t.length]),
    y: new ort.Tensor(
      'int64',
      BigInt64Array.from(y, (v) => BigInt(v)),
      [t.length],
    ),
  });
  await session.release();
  return out.v.data as Float32Array;
}

const tiny = unetConfig('tiny');
const variants: [string, UNetConfig][] = [
  ['tiny', tiny],
  [
    'tiny, legacy attention order, 2 heads, no scale-shift norm, attention at both levels',
    { ...tiny, name: 'tiny-legacy', numHeads: 2, useNewAttentionOrder: false, useScaleShiftNorm: false, attentionResolutions: [1, 2] },
  ],
  [
    'tiny, 16 channels per head, 8 GroupNorm groups, three levels',
    { ...tiny, name: 'tiny-heads', numHeadChannels: 16, normGroups: 8, channelMult: [1, 2, 1], attentionResolutions: [2, 4] },
  ],
];

describe('ONNX export', () => {
  it.each(variants)('%s: ORT velocity matches tfjs within 1e-4', async (_name, config) => {
    const values = perturbedValues(config, 3);
    const { x, t, y } = inputs(config, 3, 5);
    const bytes = exportUNetOnnx(buildArchitecture(config), values);
    const e = relErr(await ortVelocity(bytes, config, x, t, y), tfjsVelocity(config, values, x, t, y));
    expect(e).toBeLessThan(1e-4);
  });

  it('the graph has inputs x [N, H, W, C], t [N], y [N] int64 and output v [N, H, W, C], opset 17, PyTorch parameter names', async () => {
    const arch = buildArchitecture(tiny);
    const bytes = exportUNetOnnx(arch, perturbedValues(tiny, 1), { checkpoint_sha256: 'abc' });
    const model = modelProtoType().toObject(modelProtoType().decode(bytes), { longs: Number }) as {
      opsetImport: { version: number }[];
      graph: {
        input: { name: string; type: { tensorType: { elemType: number; shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
        output: { name: string }[];
        initializer: { name: string }[];
      };
      metadataProps: { key: string; value: string }[];
    };
    expect(model.opsetImport[0].version).toBe(17);
    const dims = (i: number) => model.graph.input[i].type.tensorType.shape.dim.map((d) => d.dimParam ?? d.dimValue);
    expect(model.graph.input.map((i) => i.name)).toEqual(['x', 't', 'y']);
    expect(dims(0)).toEqual(['N', 8, 8, 3]);
    expect(dims(1)).toEqual(['N']);
    expect(model.graph.input[2].type.tensorType.elemType).toBe(7);
    expect(model.graph.output.map((o) => o.name)).toEqual(['v']);
    const names = new Set(model.graph.initializer.map((i) => i.name));
    for (const p of arch.params) expect(names.has(p.name), p.name).toBe(true);
    expect(Object.fromEntries(model.metadataProps.map((m) => [m.key, m.value])).checkpoint_sha256).toBe('abc');
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['x', 't', 'y']);
    expect(session.outputNames).toEqual(['v']);
    await session.release();
  });

  it('batches of 1 and 5 give the rows of the batch of 5 (dynamic batch)', async () => {
    const values = perturbedValues(tiny, 2);
    const bytes = exportUNetOnnx(buildArchitecture(tiny), values);
    const { x, t, y } = inputs(tiny, 5, 9);
    const all = await ortVelocity(bytes, tiny, x, t, y);
    const px = 8 * 8 * 3;
    const one = await ortVelocity(bytes, tiny, x.subarray(2 * px, 3 * px), t.subarray(2, 3), y.subarray(2, 3));
    expect(relErr(one, all.subarray(2 * px, 3 * px))).toBeLessThan(1e-5);
  });

  describe('the PyTorch fixtures (tiny_checkpoint.pth, tiny_ema_checkpoint.pth)', () => {
    const io = () => readNpzSync(join(FIXTURES, 'tiny_io.npz'));
    /** NCHW fixture inputs as NHWC, and the labels. */
    function fixtureInputs() {
      const arrays = io();
      const xn = arrays.get('x')!.data as Float32Array;
      const [n, c, h, w] = arrays.get('x')!.shape;
      const x = new Float32Array(xn.length);
      for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) x[(b * h * w + p) * c + ch] = xn[(b * c + ch) * h * w + p];
      return { arrays, x, t: arrays.get('t')!.data as Float32Array, y: Int32Array.from(arrays.get('y')!.data as BigInt64Array, Number), shape: [n, c, h, w] };
    }
    const toNchw = (v: Float32Array, [n, c, h, w]: number[]) => {
      const out = new Float32Array(v.length);
      for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[(b * c + ch) * h * w + p] = v[(b * h * w + p) * c + ch];
      return out;
    };

    it.each([
      ['tiny_checkpoint.pth', 'live', 'out_live'],
      ['tiny_ema_checkpoint.pth', 'ema', 'out_ema'],
    ])("%s exported to ONNX (%s weights) gives PyTorch's velocity %s", async (file, weights, key) => {
      const ckpt = await readCheckpointFile(join(FIXTURES, file), undefined, tiny);
      const values = weights === 'ema' ? (ckpt.ema ?? ckpt.weights) : ckpt.weights;
      const { arrays, x, t, y, shape } = fixtureInputs();
      const v = await ortVelocity(exportUNetOnnx(buildArchitecture(tiny), values), tiny, x, t, y);
      expect(relErr(toNchw(v, shape), arrays.get(key)!.data as Float32Array)).toBeLessThan(1e-4);
    });

    it("the engine's CFG velocity matches PyTorch's v_cfg_live", async () => {
      const ckpt = await readCheckpointFile(join(FIXTURES, 'tiny_checkpoint.pth'), undefined, tiny);
      const { arrays, x, t, y, shape } = fixtureInputs();
      const w = (arrays.get('cfg_scale')!.data as Float32Array)[0];
      const engine = await openEngine(
        { arch: buildArchitecture(tiny), values: ckpt.weights, checkpointSha256: ckpt.sha256!, weights: 'live' },
        { engine: 'onnx', threads: 1, cacheDir: join(tmp, 'fixture-cache'), log: () => {} },
      );
      try {
        const px = 8 * 8 * 3;
        const out = new Float32Array(x.length);
        // the field takes one t per batch; the fixture's rows have their own
        for (let i = 0; i < t.length; i++) {
          const field = engine!.guidedVelocity(y.subarray(i, i + 1), w);
          const xi = tf.tensor4d(x.subarray(i * px, (i + 1) * px), [1, 8, 8, 3]);
          const v = field(xi, t[i]);
          out.set(v.dataSync(), i * px);
          tf.dispose([xi, v]);
        }
        expect(relErr(toNchw(out, shape), arrays.get('v_cfg_live')!.data as Float32Array)).toBeLessThan(1e-4);
      } finally {
        await engine?.close();
      }
    });

    it('the images PyTorch integrates from tiny_checkpoint.pth (heun2, CFG; tiny_samples.npz) come out of both engines within 1e-4', async () => {
      const ckpt = await readCheckpointFile(join(FIXTURES, 'tiny_checkpoint.pth'), undefined, tiny);
      const ref = readNpzSync(join(FIXTURES, 'tiny_samples.npz'));
      const shape = ref.get('x0')!.shape;
      const [n, c, h, w] = shape;
      const x0 = ref.get('x0')!.data as Float32Array;
      const nhwc = new Float32Array(x0.length);
      for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) nhwc[(b * h * w + p) * c + ch] = x0[(b * c + ch) * h * w + p];
      const labels = Int32Array.from(ref.get('y')!.data as BigInt64Array, Number);
      const timeGrid = Array.from(ref.get('grid')!.data as Float32Array);
      const settings = { odeMethod: 'heun2', odeOptions: {}, cfgScale: (ref.get('cfg_scale')!.data as Float32Array)[0], edmSchedule: false };
      const x1 = ref.get('x1')!.data as Float32Array;
      const model = new FlowModel(tiny, ckpt.weights);
      const engine = await openEngine(
        { arch: buildArchitecture(tiny), values: ckpt.weights, checkpointSha256: ckpt.sha256!, weights: 'live' },
        { engine: 'onnx', threads: 1, cacheDir: join(tmp, 'fixture-cache'), log: () => {} },
      );
      try {
        const viaOrt = await integrateFlowRows(model, model.params, nhwc, labels, settings, { engine, timeGrid });
        const viaTfjs = await integrateFlowRows(model, model.params, nhwc, labels, settings, { timeGrid });
        expect(relErr(toNchw(viaOrt, shape), x1)).toBeLessThan(1e-4);
        expect(relErr(toNchw(viaTfjs, shape), x1)).toBeLessThan(1e-4);
        // the flow moved the noise far from where it started
        expect(relErr(x0, x1)).toBeGreaterThan(0.1);
      } finally {
        await engine?.close();
        model.dispose();
      }
    });
  });
});

describe('the ONNX Runtime engine in sampling', () => {
  const settings = { odeMethod: 'heun2', odeOptions: { nfe: 3 }, cfgScale: 0.4, edmSchedule: true };

  it('integrated images match the tfjs engine within 1e-4, and one seed gives the same bytes twice', async () => {
    const values = perturbedValues(tiny, 4);
    const arch = buildArchitecture(tiny);
    const model = new FlowModel(tiny, values);
    const labels = Int32Array.of(0, 3, 10, 7);
    const noise = noiseBatch(model, labels.length, 11);
    const engine = await openEngine(
      { arch, values, checkpointSha256: 'a'.repeat(64), weights: 'live' },
      { engine: 'onnx', threads: 1, cacheDir: join(tmp, 'cache'), log: () => {} },
    );
    try {
      expect(engine?.info).toMatchObject({ engine: 'onnx', provider: 'cpu', threads: 1 });
      expect(engine!.info.graph_sha256).toMatch(/^[0-9a-f]{64}$/);
      const viaTfjs = await integrateFlowRows(model, model.params, noise, labels, settings);
      const viaOrt = await integrateFlowRows(model, model.params, noise, labels, settings, { engine });
      expect(relErr(viaOrt, viaTfjs)).toBeLessThan(1e-4);
      const a = await sampleImages(model, model.params, labels, settings, { seed: 5, engine });
      const b = await sampleImages(model, model.params, labels, settings, { seed: 5, engine });
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    } finally {
      await engine?.close();
      model.dispose();
    }
  });

  it('the built-in model: ORT velocity and images match tfjs within 1e-4', async () => {
    const ckpt = await loadModel('default');
    const config = ckpt.meta.config;
    const values = ckpt.weights;
    const { x, t, y } = inputs(config, 2, 21);
    const bytes = exportUNetOnnx(buildArchitecture(config), values);
    expect(relErr(await ortVelocity(bytes, config, x, t, y), tfjsVelocity(config, values, x, t, y))).toBeLessThan(1e-4);
    const model = new FlowModel(config, values);
    const engine = await openEngine(
      { arch: model.arch, values, checkpointSha256: ckpt.sha256!, weights: ckpt.meta.weights },
      { engine: 'onnx', threads: 2, cacheDir: join(tmp, 'cache'), log: () => {} },
    );
    try {
      const labels = Int32Array.of(1, 8);
      const noise = noiseBatch(model, 2, 3);
      const quick = { ...ckpt.meta.sampling, odeOptions: { nfe: 2 } };
      const viaTfjs = await integrateFlowRows(model, model.params, noise, labels, quick);
      const viaOrt = await integrateFlowRows(model, model.params, noise, labels, quick, { engine });
      expect(relErr(viaOrt, viaTfjs)).toBeLessThan(1e-4);
    } finally {
      await engine?.close();
      model.dispose();
    }
  });
});

describe('the graph cache', () => {
  const arch = buildArchitecture(tiny);
  const source = (dir: string) => ({ arch, values: perturbedValues(tiny, 6), checkpointSha256: 'b'.repeat(64), weights: 'live' as const, dir });

  it('exports once, reuses a sound graph, rebuilds a corrupt one or one without its checksum', () => {
    const dir = join(tmp, 'cache-rules');
    const s = source(dir);
    const first = cachedOnnxGraph(s, dir);
    expect(first.built).toBe(true);
    const again = cachedOnnxGraph(s, dir);
    expect(again).toMatchObject({ built: false, path: first.path, graphSha256: first.graphSha256 });
    const bytes = readFileSync(first.path);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(first.path, bytes);
    const repaired = cachedOnnxGraph(s, dir);
    expect(repaired.built).toBe(true);
    expect(repaired.reason).toMatch(/sha256 .* is not the recorded/);
    expect(repaired.graphSha256).toBe(first.graphSha256);
    rmSync(`${first.path}.sha256`);
    expect(cachedOnnxGraph(s, dir)).toMatchObject({ built: true, reason: 'its checksum file is missing' });
  });

  it('the key holds the checkpoint sha256, the weights and the exporter version', () => {
    const dir = join(tmp, 'cache-keys');
    const live = cachedOnnxGraph(source(dir), dir);
    const ema = cachedOnnxGraph({ ...source(dir), weights: 'ema' }, dir);
    expect(live.path).toMatch(/b{64}-live-v\d+\.onnx$/);
    expect(ema.path).not.toBe(live.path);
    expect(() => cachedOnnxGraph({ ...source(dir), checkpointSha256: 'not-a-hash' }, dir)).toThrow(/not a sha256/);
  });
});

describe('engine errors', () => {
  it('an execution provider that is not installed names the install step', async () => {
    const values = perturbedValues(tiny, 7);
    const request = { arch: buildArchitecture(tiny), values, checkpointSha256: 'c'.repeat(64), weights: 'live' as const };
    const opening = openEngine(request, { engine: 'onnx', ep: 'cuda', cacheDir: join(tmp, 'cache'), log: () => {} });
    await expect(opening).rejects.toThrow(EngineError);
    await expect(openEngine(request, { engine: 'onnx', ep: 'cuda', cacheDir: join(tmp, 'cache'), log: () => {} })).rejects.toThrow(
      /ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node.*CUDA 12 and cuDNN 9/,
    );
  });

  it('auto falls back to tfjs with the reason when the engine cannot open; tfjs opens nothing', async () => {
    const messages: string[] = [];
    const request = { arch: buildArchitecture(tiny), values: perturbedValues(tiny, 8), checkpointSha256: 'd'.repeat(64), weights: 'live' as const };
    expect(await openEngine(request, { engine: 'auto', ep: 'tensorrt', cacheDir: join(tmp, 'cache'), log: (m) => messages.push(m) })).toBeUndefined();
    expect(messages.join('\n')).toMatch(/engine: tfjs, because execution provider tensorrt is not installed/);
    expect(await openEngine(request, { engine: 'tfjs' })).toBeUndefined();
  });

  it('a graph ONNX Runtime cannot load is an EngineError naming the file', async () => {
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await expect(OrtEngine.open(bad, tiny, { threads: 1 })).rejects.toThrow(new RegExp(`could not open ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on cpu`));
  });
});
