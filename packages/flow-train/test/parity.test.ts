/**
 * Parity with PyTorch: the UNet's state_dict names, order and shapes against guided-diffusion's
 * (scripts/torch_unet.py), and the forward pass on the committed fixtures of
 * scripts/make_parity_fixtures.py (test/fixtures/torch-unet/, no torch needed): the paper's
 * checkpoint layout read with readCheckpointFile, live and EMA weights, the CFG velocity, and
 * the export to our safetensors checkpoint (float32 and float16) and back.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpzSync, readSafetensors, readTorchCheckpointSync, stateDictTensors, type NpyAnyArray, type TorchTensor } from '@mmmi/formats';
import { hasNumpy, pythonCommand, runPython, spawnPython, tempDir } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointFile, writeCheckpoint, type FlowCheckpoint } from '../src/checkpoint.js';
import { FlowModel } from '../src/flow-model.js';
import { guidedVelocity } from '../src/sample.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { UNET_CONFIGS, unetConfig, type UNetConfig } from '../src/unet/config.js';
import { timestepEmbedding } from '../src/unet/model.js';
import type { ParamValues } from '../src/unet/params.js';
import { relErr } from './helpers/compare.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/torch-unet/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);
const PAPER_PARAMETERS = 55_682_051;
const TOLERANCE = 1e-4;

// ---- helpers -----------------------------------------------------------------------------

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function f32(arrays: Map<string, NpyAnyArray>, name: string): { shape: number[]; data: Float32Array } {
  const a = arrays.get(name);
  if (!a) throw new Error(`tiny_io.npz has no array ${name}`);
  if (a.dtype !== '<f4') throw new Error(`tiny_io.npz: ${name} is ${a.dtype}, expected <f4`);
  return { shape: a.shape, data: a.data };
}

const errors: Record<string, number> = {};
function expectClose(name: string, actual: ArrayLike<number>, ref: ArrayLike<number>, tolerance = TOLERANCE): void {
  const e = relErr(actual, ref);
  errors[name] = e;
  expect(e, `${name}: max relative error ${e.toExponential(2)}`).toBeLessThan(tolerance);
}

interface ShapeDoc {
  config: string;
  model_config: Record<string, unknown>;
  image_size?: number;
  parameters: number;
  tensors: [string, number[]][];
}

// ---- fixtures ----------------------------------------------------------------------------

let io: Map<string, NpyAnyArray>;
let tiny: UNetConfig;
/** NCHW inputs as in the fixture, and the NHWC tensors fed to the model. */
let xNchw: { shape: number[]; data: Float32Array };
let xs: tf.Tensor4D;
let ts: tf.Tensor1D;
let ys: tf.Tensor1D;
let tValues: Float32Array;
let yValues: Int32Array;
const tmp = tempDir('mmmi-flow-parity-');

beforeAll(async () => {
  await tf.setBackend('cpu');
  io = readNpzSync(fixture('tiny_io.npz'));
  tiny = unetConfig('tiny');
  xNchw = f32(io, 'x');
  expect(xNchw.shape).toEqual([4, tiny.inChannels, tiny.imageSize, tiny.imageSize]);
  tValues = f32(io, 't').data;
  const y = io.get('y')!;
  if (y.dtype !== '<i8') throw new Error(`tiny_io.npz: y is ${y.dtype}, expected <i8`);
  yValues = Int32Array.from(y.data, Number);
  xs = tf.tidy(() => tf.transpose(tf.tensor4d(xNchw.data, xNchw.shape as [number, number, number, number]), [0, 2, 3, 1]));
  ts = tf.tensor1d(tValues, 'float32');
  ys = tf.tensor1d(yValues, 'int32');
});

afterAll(() => {
  tf.dispose([xs, ts, ys]);
  // measured errors, for the record
  console.log(`parity: max relative errors ${JSON.stringify(Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, Number(v.toExponential(2))])))}`);
});

/**
 * Runs `fn` with a model of these weights. One at a time: FlowModel names its tf variables
 * after the parameters, and tfjs refuses a second variable of the same name.
 */
async function withModel<T>(ckpt: FlowCheckpoint, fn: (model: FlowModel) => Promise<T>, weights: ParamValues = ckpt.weights): Promise<T> {
  const model = new FlowModel(ckpt.meta.config, weights, ckpt.file);
  try {
    return await fn(model);
  } finally {
    model.dispose();
  }
}

/** The model's velocity on the fixture inputs, NCHW like the fixture. */
async function velocityNchw(model: FlowModel): Promise<Float32Array> {
  const v = tf.tidy(() => tf.transpose(model.velocity(xs, ts, ys), [0, 3, 1, 2]));
  const data = (await v.data()) as Float32Array;
  v.dispose();
  return data;
}

// ---- (a) architecture ----------------------------------------------------------------------

describe('state_dict names, order and shapes (paper_state_dict_shapes.json)', () => {
  const doc = JSON.parse(readFileSync(fixture('paper_state_dict_shapes.json'), 'utf8')) as ShapeDoc & { tiny: ShapeDoc; small: ShapeDoc };
  const sections: [string, ShapeDoc][] = [
    ['cifar10', doc],
    ['tiny', doc.tiny],
    ['small', doc.small],
  ];

  it('the paper configuration has 55 682 051 parameters', () => {
    expect(doc.config).toBe('cifar10');
    expect(doc.parameters).toBe(PAPER_PARAMETERS);
    expect(buildArchitecture(unetConfig('cifar10')).parameterCount).toBe(PAPER_PARAMETERS);
  });

  it.each(sections)('%s: same tensors as PyTorch, in state_dict order', (name, section) => {
    expect(section.config).toBe(name);
    const arch = buildArchitecture(unetConfig(name));
    expect(arch.parameterCount).toBe(section.parameters);
    expect(arch.params.map((p) => [p.name, p.torchShape])).toEqual(section.tensors);
    // our layout holds the same number of values
    for (const p of arch.params) expect(p.shape.reduce((a, b) => a * b, 1)).toBe(p.torchShape.reduce((a, b) => a * b, 1));
  });

  it.each(sections)('%s: the PyTorch constructor keywords are those of src/unet/config.ts', (name, section) => {
    const c = UNET_CONFIGS[name];
    const m = section.model_config;
    expect({
      in_channels: m.in_channels,
      model_channels: m.model_channels,
      out_channels: m.out_channels,
      num_res_blocks: m.num_res_blocks,
      attention_resolutions: m.attention_resolutions,
      dropout: m.dropout,
      channel_mult: m.channel_mult,
      num_classes: m.num_classes,
      num_heads: m.num_heads,
      num_head_channels: m.num_head_channels,
      num_heads_upsample: m.num_heads_upsample,
      use_scale_shift_norm: m.use_scale_shift_norm,
      use_new_attention_order: m.use_new_attention_order,
      conv_resample: m.conv_resample,
      resblock_updown: m.resblock_updown,
    }).toEqual({
      in_channels: c.inChannels,
      model_channels: c.modelChannels,
      out_channels: c.outChannels,
      num_res_blocks: c.numResBlocks,
      attention_resolutions: c.attentionResolutions,
      dropout: c.dropout,
      channel_mult: c.channelMult,
      num_classes: c.numClasses,
      num_heads: c.numHeads,
      num_head_channels: c.numHeadChannels,
      num_heads_upsample: c.numHeadsUpsample,
      use_scale_shift_norm: c.useScaleShiftNorm,
      use_new_attention_order: c.useNewAttentionOrder,
      conv_resample: false,
      resblock_updown: false,
    });
    if (section.image_size !== undefined) expect(section.image_size).toBe(c.imageSize);
  });
});

// ---- (b)–(d) forward pass ------------------------------------------------------------------

describe('forward pass against PyTorch (tiny fixtures)', () => {
  let live: FlowCheckpoint;
  let outLive: Float32Array;

  beforeAll(async () => {
    live = await readCheckpointFile(fixture('tiny_checkpoint.pth'), undefined, tiny);
    outLive = await withModel(live, velocityNchw);
  });

  it('reads the paper checkpoint layout (model, optimizer, epoch, scaler, args)', () => {
    expect(live.kind).toBe('pytorch');
    expect(live.meta.config.name).toBe('tiny');
    expect(live.meta.parameters).toBe(buildArchitecture(tiny).parameterCount);
    expect(live.meta.weights).toBe('live');
    expect(live.ema).toBeUndefined();
    expect(live.meta.sampling).toEqual({ odeMethod: 'heun2', odeOptions: { nfe: 50 }, cfgScale: 0.2, edmSchedule: true });
    expect(live.meta.progress?.epoch).toBe(7);
    expect(live.meta.trainArgs.dataset).toBe('cifar10');
    expect(live.meta.trainArgs.use_ema).toBe(false);
    expect(live.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('without a configuration, args.dataset picks the paper configuration, which the tiny weights do not fit', async () => {
    await expect(readCheckpointFile(fixture('tiny_checkpoint.pth'))).rejects.toThrow(/configuration 'cifar10' expects/);
  });

  it('time embedding and first convolution (localising a mismatch)', async () => {
    const weights = new Map([...live.weights].map(([name, v]) => [name, tf.tensor(v, buildArchitecture(tiny).params.find((q) => q.name === name)!.shape)]));
    const p = (name: string) => weights.get(name)!;
    const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));
    const linear = (x: tf.Tensor, prefix: string) =>
      tf.add(tf.matMul(x as tf.Tensor2D, p(`${prefix}.weight`) as tf.Tensor2D, false, true), p(`${prefix}.bias`));
    const [sinusoid, temb, first] = tf.tidy(() => {
      const s = timestepEmbedding(ts, tiny.modelChannels);
      const e = tf.add(linear(silu(linear(s, 'time_embed.0')), 'time_embed.2'), tf.gather(p('label_emb.weight'), ys));
      const c = tf.add(tf.conv2d(xs, p('input_blocks.0.0.weight') as tf.Tensor4D, 1, 'same'), p('input_blocks.0.0.bias'));
      return [s, e, tf.transpose(c, [0, 3, 1, 2])];
    });
    const data = await Promise.all([sinusoid, temb, first].map((t) => t.data() as Promise<Float32Array>));
    tf.dispose([sinusoid, temb, first, ...weights.values()]);
    if (io.has('sinusoid')) expectClose('sinusoid', data[0], f32(io, 'sinusoid').data);
    if (io.has('temb')) expectClose('temb', data[1], f32(io, 'temb').data);
    if (io.has('after_input0')) expectClose('after_input0', data[2], f32(io, 'after_input0').data);
  });

  it('velocity with the live weights matches out_live', async () => {
    const out = outLive;
    expectClose('out_live', out, f32(io, 'out_live').data);
    if (io.has('out_live_f64')) {
      const ref = io.get('out_live_f64')!;
      if (ref.dtype === '<f8') errors.out_live_vs_f64 = relErr(out, ref.data);
    }
  });

  it('an EMA checkpoint with args.use_ema samples with the shadow weights, not the live ones', async () => {
    const ema = await readCheckpointFile(fixture('tiny_ema_checkpoint.pth'), undefined, tiny);
    expect(ema.meta.weights).toBe('ema');
    expect(ema.meta.trainArgs.use_ema).toBe(true);
    expect(ema.ema).toBeUndefined(); // the weights are the EMA's; nothing else is carried
    // the file holds both: `model.<name>` (live, = tiny_checkpoint's) and `shadow_params.<i>`
    const sd = stateDictTensors((readTorchCheckpointSync(fixture('tiny_ema_checkpoint.pth')) as Map<string, unknown>).get('model'));
    const arch = buildArchitecture(tiny);
    const index = arch.params.findIndex((p) => p.name === 'time_embed.0.weight');
    const shadow = sd.get(`shadow_params.${index}`)!.data as Float32Array;
    const liveInFile = sd.get('model.time_embed.0.weight')!.data as Float32Array;
    expect(sameBits(ema.weights.get('time_embed.0.weight')!, shadow)).toBe(true);
    expect(sameBits(ema.weights.get('time_embed.0.weight')!, liveInFile)).toBe(false);
    expect(sameBits(liveInFile, live.weights.get('time_embed.0.weight')!)).toBe(true);
    for (const p of arch.params) {
      if (p.name !== 'label_emb.weight') expect(sameBits(ema.weights.get(p.name)!, live.weights.get(p.name)!), p.name).toBe(false);
    }

    const out = await withModel(ema, velocityNchw);
    expectClose('out_ema', out, f32(io, 'out_ema').data);
    expect(relErr(out, f32(io, 'out_live').data)).toBeGreaterThan(0.1);
  });

  it('the CFG velocity (1 + w)·v(x, t, y) − w·v(x, t, ∅) matches v_cfg_live', async (ctx) => {
    if (!io.has('v_cfg_live')) ctx.skip();
    const w = live.meta.sampling.cfgScale;
    if (io.has('cfg_scale')) expect(Math.fround(w)).toBe(f32(io, 'cfg_scale').data[0]);
    // guidedVelocity takes one t for the batch; the fixture's items have their own t
    const parts: Float32Array[] = [];
    await withModel(live, async (model) => {
      for (let i = 0; i < yValues.length; i++) {
        const field = guidedVelocity(model, model.params, Int32Array.of(yValues[i]), w);
        const v = tf.tidy(() => tf.transpose(field(tf.slice(xs, [i, 0, 0, 0], [1, -1, -1, -1]), tValues[i]), [0, 3, 1, 2]));
        parts.push((await v.data()) as Float32Array);
        v.dispose();
      }
    });
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
    expectClose('v_cfg_live', out, f32(io, 'v_cfg_live').data);
  });

  // ---- (e) export round trip ---------------------------------------------------------------

  describe('export to our checkpoint and back', () => {
    const CONV = 'input_blocks.1.0.in_layers.2.weight';
    let file32: string;

    beforeAll(async () => {
      file32 = join(tmp, 'tiny-from-torch.safetensors');
      await writeCheckpoint(file32, { meta: live.meta, weights: live.weights });
    });

    it('reads back the same weights and the same velocity', async () => {
      const back = await readCheckpointFile(file32);
      expect(back.kind).toBe('mmmi');
      expect(back.meta.config).toEqual(live.meta.config);
      expect(back.meta.weights).toBe('live');
      expect(back.meta.sampling).toEqual(live.meta.sampling);
      for (const [name, v] of live.weights) expect(sameBits(back.weights.get(name)!, v), name).toBe(true);
      expect(sameBits(await withModel(back, velocityNchw), outLive)).toBe(true);
    });

    it('the safetensors tensors carry PyTorch names and shapes (OIHW), byte-for-byte the .pth data', async () => {
      const st = await readSafetensors(file32);
      const arch = buildArchitecture(tiny);
      expect([...st.tensors.keys()].sort()).toEqual(arch.params.map((p) => p.name).sort());
      for (const p of arch.params) {
        const t = st.tensors.get(p.name)!;
        expect(t.dtype).toBe('F32');
        expect(t.shape, p.name).toEqual(p.torchShape);
      }
      expect(JSON.parse(st.metadata.mmmi).config.name).toBe('tiny');
      // byte-for-byte the .pth's tensor, in PyTorch's layout
      const sd = stateDictTensors((readTorchCheckpointSync(fixture('tiny_checkpoint.pth')) as Map<string, unknown>).get('model'));
      const ref: TorchTensor = sd.get(CONV)!;
      const t = st.tensors.get(CONV)!;
      expect(t.shape).toEqual(ref.shape);
      expect(t.dtype === 'F32' && sameBits(t.data, ref.data as Float32Array)).toBe(true);
    });

    it.skipIf(!hasNumpy())('Python parses our file by hand (struct, json, numpy) and finds the .pth tensor (torch when importable)', () => {
      const code = String.raw`
import json, struct, sys
import numpy as np
st, pth, name = sys.argv[1:4]
with open(st, "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n].decode("utf-8"))
meta = header.pop("__metadata__", {})
info = header[name]
begin, end = info["data_offsets"]
assert info["dtype"] == "F32", info
a = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype="<f4").reshape(info["shape"])
out = {"names": list(header), "shape": list(a.shape), "format": json.loads(meta["mmmi"])["format"],
       "first": [float(v) for v in a.reshape(-1)[:16]], "end": 8 + n + max(e["data_offsets"][1] for e in header.values()),
       "size": len(raw), "torch": None}
try:
    import torch
except ImportError:
    torch = None
if torch is not None:
    ref = torch.load(pth, map_location="cpu")["model"][name].numpy()
    out["torch"] = {"shape": list(ref.shape), "equal": bool(np.array_equal(ref, a))}
print(json.dumps(out))
`;
      // the check against torch runs where some interpreter has it (MMMI_PYTHON, python3, /usr/bin/python3)
      const candidates = process.env.MMMI_PYTHON ? [pythonCommand()] : [pythonCommand(), '/usr/bin/python3'];
      const findTorch = "import importlib.util, sys, numpy; sys.exit(importlib.util.find_spec('torch') is None)"; // without importing it (slow)
      const python = candidates.find((p) => spawnPython(findTorch, [], { python: p }).status === 0) ?? pythonCommand();
      const r = JSON.parse(runPython(code, [file32, fixture('tiny_checkpoint.pth'), CONV], { python })) as {
        names: string[];
        shape: number[];
        format: string;
        first: number[];
        end: number;
        size: number;
        torch: { shape: number[]; equal: boolean } | null;
      };
      const arch = buildArchitecture(tiny);
      const p = arch.params.find((q) => q.name === CONV)!;
      expect(r.format).toBe('mmmi-flow-checkpoint');
      expect(r.names.sort()).toEqual(arch.params.map((q) => q.name).sort());
      expect(r.shape).toEqual(p.torchShape);
      expect(r.end).toBe(r.size);
      const sd = stateDictTensors((readTorchCheckpointSync(fixture('tiny_checkpoint.pth')) as Map<string, unknown>).get('model'));
      expect(r.first).toEqual(Array.from((sd.get(CONV)!.data as Float32Array).subarray(0, 16)));
      if (r.torch) {
        expect(r.torch).toEqual({ shape: p.torchShape, equal: true });
        console.log(`parity: ${python} (with torch) parsed our safetensors and found the .pth's ${CONV}`);
      } else {
        console.log('parity: torch is not importable; the Python check compared shapes and values parsed in JS only');
      }
    });

    it('a float16 export reads back within float16 rounding', async () => {
      const file16 = join(tmp, 'tiny-from-torch-f16.safetensors');
      await writeCheckpoint(file16, { meta: live.meta, weights: live.weights }, { float16: true });
      const st = await readSafetensors(file16);
      for (const t of st.tensors.values()) expect(t.dtype).toBe('F16');
      expect(statSync(file16).size).toBeLessThan(0.55 * statSync(file32).size);
      const back = await readCheckpointFile(file16);
      let worst = 0;
      for (const [name, v] of live.weights) {
        const h = back.weights.get(name)!;
        expect(h.length).toBe(v.length);
        for (let i = 0; i < v.length; i++) {
          // round to nearest: half an ulp, 2^-11 relative for normal halves, 2^-25 absolute below 2^-14
          const bound = Math.max(Math.abs(v[i]) * 2 ** -11, 2 ** -25);
          const err = Math.abs(h[i] - v[i]);
          if (err > bound) throw new Error(`${name}[${i}]: ${v[i]} came back as ${h[i]}`);
          worst = Math.max(worst, err / Math.max(Math.abs(v[i]), 2 ** -14));
        }
      }
      errors.float16_weights = worst;
      const out = await withModel(back, velocityNchw);
      expectClose('out_live_float16', out, f32(io, 'out_live').data, 1e-2);
    });
  });
});
