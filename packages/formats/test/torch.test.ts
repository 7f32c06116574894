/**
 * torch checkpoints. The truth is PyTorch: test/fixtures/torch/ holds files torch.save
 * wrote (test/py/make_torch_fixtures.py) with expected.json, torch.load's view of every
 * tensor; they are committed so no PyTorch is needed here. When the test Python has torch
 * (MMMI_PYTHON=/usr/bin/python3 with Debian's python3-torch), the script is also rerun.
 * Hostile files are assembled by hand (test/pickle-builder.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasNumpy, hasTorch, mulberry32, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.js';
import { isPyTuple, pyAttributes, PyGlobal } from '../src/pickle.js';
import { readZip } from '../src/zip.js';
import { loadTorchCheckpoint, readTorchCheckpoint, readTorchCheckpointSync, requireTorchDtype, stateDictTensors, TorchTensor } from '../src/torch.js';
import { hex, runPythonScript } from './helpers.js';
import { f32, makeZip, ops, pickle2, rebuild, storagePid, torchZip, u64le, type Py } from './pickle-builder.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/torch/', import.meta.url));

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  requires_grad: boolean;
  hex: string;
}
type Expected = Record<string, { tensors: Record<string, ExpectedTensor> }>;

function load(name: string, dir = FIXTURES): Map<string, unknown> {
  return readTorchCheckpointSync(join(dir, name)) as Map<string, unknown>;
}

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof FormatError) return e.reason;
    throw e;
  }
  throw new Error('expected a FormatError');
}

/** Every tensor of every fixture: key order, dtype, shape, requires_grad and exact element bits. */
function checkAgainstExpected(dir: string): void {
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  expect(Object.keys(expected).length).toBeGreaterThanOrEqual(8);
  for (const [name, { tensors }] of Object.entries(expected)) {
    const got = stateDictTensors(load(name, dir));
    expect([...got.keys()], name).toEqual(Object.keys(tensors));
    for (const [key, want] of Object.entries(tensors)) {
      const t = got.get(key)!;
      const label = `${name}: ${key}`;
      expect(t, label).toBeInstanceOf(TorchTensor);
      expect(t.dtype, label).toBe(want.dtype);
      expect(t.shape, label).toEqual(want.shape);
      expect(t.requiresGrad, label).toBe(want.requires_grad);
      expect(hex(t.data), label).toBe(want.hex);
    }
  }
}

describe('checkpoints written by torch.save (committed fixtures)', () => {
  it('every tensor matches torch.load bit for bit (zip, legacy, protocol 4, storage views, big-endian)', () => {
    checkAgainstExpected(FIXTURES);
  });

  it('returns the right typed arrays: float16/bfloat16 widened to float32, int64 as BigInt64Array, bool as 0/1', () => {
    const d = load('dtypes.pth');
    const t = (k: string) => d.get(k) as TorchTensor;
    expect(t('f16').data).toBeInstanceOf(Float32Array);
    expect(Array.from(t('f16').data as Float32Array).slice(0, 9)).toEqual([0, -0, 1, -2.5, 65504, 2 ** -24, 6.097555160522461e-5, Infinity, -Infinity]);
    expect(Object.is(t('f16').data[1], -0)).toBe(true);
    expect(t('f16').data[9]).toBeNaN();
    expect(t('bf16').data).toBeInstanceOf(Float32Array);
    expect(t('bf16').data[3]).toBe(-2.5);
    expect(t('i64').data).toEqual(new BigInt64Array([-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]));
    expect(t('bool').data).toEqual(new Uint8Array([1, 0, 0, 1]));
    expect(t('u8').data).toBeInstanceOf(Uint8Array);
    expect(t('i8').data).toBeInstanceOf(Int8Array);
    expect(t('scalar_f32').shape).toEqual([]);
    expect(Array.from(t('scalar_f32').data as Float32Array)).toEqual([3.25]);
    expect(t('scalar_i64').data).toEqual(new BigInt64Array([-42n]));
    expect(t('empty_2d').shape).toEqual([0, 3]);
    expect(t('empty_2d').data).toEqual(new Float64Array(0));
    expect(requireTorchDtype(t('f32'), 'float32').data).toBeInstanceOf(Float32Array);
    expect(() => requireTorchDtype(t('f32'), 'float64', 'f32')).toThrow("tensor 'f32': expected dtype float64, found float32");
  });

  it('materialises views and shared storages independently and correctly', () => {
    const v = load('views.pth');
    const t = (k: string) => Array.from((v.get(k) as TorchTensor).data as ArrayLike<number>);
    expect(t('t')).toEqual([0, 6, 12, 18, 1, 7, 13, 19, 2, 8, 14, 20, 3, 9, 15, 21, 4, 10, 16, 22, 5, 11, 17, 23]);
    expect(t('slice')).toEqual([8, 9, 10, 14, 15, 16]);
    expect(t('row')).toEqual([12, 13, 14, 15, 16, 17]);
    expect(t('step')).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
    expect(t('col')).toEqual([4, 10, 16, 22]);
    expect(t('elem')).toEqual([23]);
    expect(t('expand')).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(t('shared_a')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(t('shared_b')).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    // the base tensor and its views do not alias: each got its own copy
    expect((v.get('base') as TorchTensor).data).not.toBe((v.get('t') as TorchTensor).data);
    // one Python object pickled twice stays one object (weight tying)
    expect(v.get('tied_a')).toBe(v.get('tied_b'));
  });

  it('reads a module state_dict: OrderedDict order, BatchNorm int64 counter, _metadata kept aside', () => {
    const sd = load('state_dict.pth');
    expect([...sd.keys()]).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
      '4.weight',
      '4.bias',
    ]);
    expect((sd.get('0.weight') as TorchTensor).shape).toEqual([4, 3, 3, 3]);
    expect((sd.get('1.num_batches_tracked') as TorchTensor).data).toEqual(new BigInt64Array([1n]));
    const meta = pyAttributes(sd)?.get('_metadata') as Map<string, Map<string, unknown>>;
    expect(meta.get('1')?.get('version')).toBe(2);
  });

  it('reads a trainer checkpoint: epoch, Namespace args, AdamW state, EMA, NumPy values, RNG states', () => {
    const ck = load('trainer.pth');
    expect(ck.get('epoch')).toBe(7);
    expect(ck.get('global_step')).toBe(2 ** 40 + 3);
    const args = ck.get('args') as Record<string, unknown>;
    expect(Object.keys(args)).toEqual([
      'dataset',
      'lr',
      'batch_size',
      'use_ema',
      'ode_method',
      'ode_options',
      'cfg_scale',
      'class_drop_prob',
      'labels',
      'betas',
      'resume',
    ]);
    expect(args.dataset).toBe('cifar10');
    expect(args.use_ema).toBe(true);
    expect(args.ode_options).toEqual(new Map([['step_size', null]]));
    expect(args.labels).toEqual([1, 6]);
    expect(isPyTuple(args.betas)).toBe(true);
    expect(args.resume).toBe(null);

    const model = stateDictTensors(ck.get('model'));
    expect([...model.keys()]).toEqual(['shadow_0', 'shadow_1', 'shadow_2', 'shadow_3', 'model.0.weight', 'model.0.bias', 'model.2.weight', 'model.2.bias']);
    const ema = ck.get('ema') as Map<string, unknown>;
    expect(ema.get('decay')).toBe(0.9999);
    expect((ema.get('shadow_params') as TorchTensor[]).map((t) => t.shape)).toEqual([[4, 3], [4], [2, 4], [2]]);

    const opt = ck.get('optimizer') as Map<string, unknown>;
    const state = opt.get('state') as Map<number, Map<string, TorchTensor>>;
    expect([...state.keys()]).toEqual([0, 1, 2, 3]);
    expect([...state.get(0)!.keys()]).toEqual(['step', 'exp_avg', 'exp_avg_sq']);
    expect(Array.from(state.get(0)!.get('step')!.data as Float32Array)).toEqual([2]);
    const group = (opt.get('param_groups') as Map<string, unknown>[])[0];
    expect(group.get('lr')).toBe(2e-4);
    expect(group.get('params')).toEqual([0, 1, 2, 3]);

    const metrics = ck.get('metrics') as Map<string, unknown>;
    expect([metrics.get('loss'), metrics.get('step'), metrics.get('fid'), metrics.get('best')]).toEqual([0.25, 1000, 3.5, true]);
    const curve = metrics.get('curve') as { dtype: string; shape: number[]; data: Float64Array };
    expect([curve.dtype, curve.shape, Array.from(curve.data)]).toEqual(['<f8', [2, 2], [1.5, 2.5, 3.5, 4.5]]);
    const npRng = ck.get('np_rng') as unknown[];
    expect(npRng[0]).toBe('MT19937');
    expect((npRng[1] as { dtype: string; data: Uint32Array }).dtype).toBe('<u4');
    const key = (npRng[1] as { data: Uint32Array }).data;
    expect([key.length, key[0], key[1], key[2]]).toEqual([624, 0, 1, 1812433255]); // MT19937 seeded with 0
    expect(npRng.slice(2)).toEqual([624, 0, 0]);
    expect((ck.get('torch_rng') as TorchTensor).dtype).toBe('uint8');

    expect((ck.get('param') as TorchTensor).requiresGrad).toBe(true); // nn.Parameter → _rebuild_parameter
    expect((ck.get('grad_tensor') as TorchTensor).requiresGrad).toBe(true);
    expect(ck.get('device')).toBe('cuda:0');
    expect(ck.get('dtype')).toEqual(new PyGlobal('torch', 'float16'));
    expect(ck.get('size')).toEqual([2, 3]);
    expect(ck.get('set')).toEqual(new Set([1, 2, 3]));
    expect(Array.from(ck.get('bytes') as Uint8Array)).toEqual([0, 255, 97, 98, 99]);
  });

  it('reads pickle protocol 4 checkpoints and the legacy (pre-1.6) layout', () => {
    const p4 = load('protocol4.pth');
    expect([p4.get('fs'), p4.get('set'), p4.get('big'), p4.get('neg')]).toEqual([new Set([1]), new Set(['a']), 2n ** 70n, -(2n ** 70n)]);
    const legacy = load('legacy.pth');
    expect(legacy.get('epoch')).toBe(3);
    expect({ ...(legacy.get('args') as object) }).toEqual({ lr: 0.1, name: 'legacy' });
    expect(Array.from((legacy.get('t') as TorchTensor).data as Float32Array)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    const views = load('legacy_storage_views.pth');
    expect(Array.from((views.get('a') as TorchTensor).data as Float32Array)).toEqual([4.5, 7.5, 6, 9]);
  });

  it('reads asynchronously and labels errors with the path', async () => {
    const sd = (await readTorchCheckpoint(join(FIXTURES, 'state_dict.pth'))) as Map<string, unknown>;
    expect(sd.size).toBe(9);
    await expect(readTorchCheckpoint(join(FIXTURES, 'nope.pth'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => readTorchCheckpointSync(join(FIXTURES, 'expected.json'))).toThrow(
      `torch checkpoint file ${join(FIXTURES, 'expected.json')}: not a torch checkpoint`,
    );
  });
});

describe.skipIf(!(hasTorch() && hasNumpy()))('fixtures regenerated by the installed PyTorch', () => {
  const tmp = tempDir('mmmi-formats-torch-');
  it('make_torch_fixtures.py output reads back exactly', () => {
    runPythonScript('make_torch_fixtures.py', [tmp]);
    checkAgainstExpected(tmp);
  });
});

// ---- hostile and malformed files ----

const F32_4 = f32([1, 2, 3, 4]);

function tensorPkl(size: number[], stride: number[], offset = 0, numel: number | bigint = 4, type = 'FloatStorage'): Uint8Array {
  return pickle2({ dict: [['x', rebuild(storagePid(type, '0', numel), offset, size, stride)]] });
}

describe('hostile torch checkpoints', () => {
  it('refuses code-executing globals in data.pkl, naming them', () => {
    const evil: [string, Py][] = [
      ['os.system', { call: 'os.system', args: ['touch /tmp/pwned'] }],
      ['builtins.eval', { call: 'builtins.eval', args: ['1+1'] }],
      ['subprocess.Popen', { call: 'subprocess.Popen', args: [['ls']] }],
      ['torch.load', { call: 'torch.load', args: ['x'] }],
    ];
    for (const [name, value] of evil) {
      const file = torchZip(pickle2({ dict: [['model', value]] }));
      expect(() => loadTorchCheckpoint(file, 'evil.pth')).toThrow(
        new RegExp(`^torch checkpoint file evil.pth: pickle: global '${name.replace('.', '\\.')}' is not allowed \\(reading never executes code\\)`),
      );
    }
  });

  it('extraGlobals lets a caller allow one more harmless class', () => {
    const file = torchZip(pickle2({ dict: [['when', { call: 'datetime.date', args: [2024, 6, 11] }]] }));
    expect(reason(() => loadTorchCheckpoint(file))).toMatch(/global 'datetime.date' is not allowed/);
    const date = { call: (args: readonly unknown[]) => args.join('-') };
    expect((loadTorchCheckpoint(file, undefined, { extraGlobals: { 'datetime.date': date } }) as Map<string, unknown>).get('when')).toBe('2024-6-11');
  });

  it('refuses nested torch.load and unsupported tensor kinds with a specific reason', () => {
    const nested = torchZip(pickle2({ call: 'torch.storage._load_from_bytes', args: [{ raw: ops('C', 1, 'x') }] }));
    expect(reason(() => loadTorchCheckpoint(nested))).toMatch(/global 'torch.storage._load_from_bytes' is not supported: it runs a nested torch.load/);
    const complex = torchZip(tensorPkl([2], [1], 0, 2, 'ComplexFloatStorage'), { 0: F32_4 });
    expect(reason(() => loadTorchCheckpoint(complex))).toMatch(/'torch.ComplexFloatStorage' is not supported: complex tensors/);
  });

  it('reads a hand-built archive in the zip layout (folder name free, tensors rebuilt from type)', () => {
    const pkl = pickle2({
      dict: [
        ['x', rebuild(storagePid('FloatStorage', '0', 4), 1, [3], [1])],
        [
          'p',
          {
            call: 'torch._tensor._rebuild_from_type_v2',
            args: [
              { global: 'torch._utils._rebuild_tensor_v2' },
              { global: 'torch.Tensor' },
              { tuple: [storagePid('FloatStorage', '0', 4), 0, { tuple: [2, 2] }, { tuple: [1, 2] }, true, { call: 'collections.OrderedDict', args: [] }] },
              { dict: [['note', 'hi']] },
            ],
          },
        ],
      ],
    });
    const zip = makeZip([
      ['my_model-v2/data.pkl', pkl],
      ['my_model-v2/data/0', F32_4],
      ['my_model-v2/version', new Uint8Array([0x33])],
    ]);
    const ck = loadTorchCheckpoint(zip) as Map<string, TorchTensor>;
    expect(Array.from(ck.get('x')!.data as Float32Array)).toEqual([2, 3, 4]);
    const p = ck.get('p')!;
    expect([p.shape, Array.from(p.data as Float32Array), p.requiresGrad]).toEqual([[2, 2], [1, 3, 2, 4], true]);
    expect(pyAttributes(p)?.get('note')).toBe('hi');
  });

  it('honours byteorder and refuses unknown ones', () => {
    const be = new Uint8Array(F32_4);
    for (let i = 0; i < 16; i += 4) be.subarray(i, i + 4).reverse();
    const big = torchZip(tensorPkl([4], [1]), { 0: be }, [['archive/byteorder', new Uint8Array(Buffer.from('big'))]]);
    expect(Array.from((loadTorchCheckpoint(big) as Map<string, TorchTensor>).get('x')!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    const odd = torchZip(tensorPkl([4], [1]), { 0: F32_4 }, [['archive/byteorder', new Uint8Array(Buffer.from('middle'))]]);
    expect(reason(() => loadTorchCheckpoint(odd))).toMatch(/unknown byte order 'middle'/);
  });

  it('refuses a storage entry shorter or longer than declared, or missing', () => {
    expect(reason(() => loadTorchCheckpoint(torchZip(tensorPkl([4], [1]), { 0: F32_4.subarray(0, 12) })))).toMatch(
      /storage '0' declares 4 float32 elements \(16 bytes\) but entry 'archive\/data\/0' has 12 bytes/,
    );
    expect(reason(() => loadTorchCheckpoint(torchZip(tensorPkl([4], [1]), { 0: f32([1, 2, 3, 4, 5]) })))).toMatch(/has 20 bytes/);
    expect(reason(() => loadTorchCheckpoint(torchZip(tensorPkl([4], [1]))))).toMatch(/storage '0' is missing: no entry 'archive\/data\/0'/);
  });

  it('refuses views that reach past their storage', () => {
    const cases: [Uint8Array, RegExp][] = [
      [tensorPkl([5], [1]), /reaches element 4 of storage '0', which has 4 float32 elements/],
      [tensorPkl([2], [1], 3), /reaches element 4/],
      [tensorPkl([2, 2], [3, 1]), /reaches element 4/],
      [tensorPkl([2, 2], [1, 2], 1), /reaches element 4/],
      [tensorPkl([], [], 4), /reaches element 4/],
      [tensorPkl([2 ** 40, 2 ** 40], [2 ** 40, 1]), /reaches element/],
    ];
    for (const [pkl, re] of cases) expect(reason(() => loadTorchCheckpoint(torchZip(pkl, { 0: F32_4 })))).toMatch(re);
    // an empty view reads nothing, wherever it points
    const empty = loadTorchCheckpoint(torchZip(tensorPkl([0, 5], [5, 1], 4), { 0: F32_4 })) as Map<string, TorchTensor>;
    expect(empty.get('x')!.data).toEqual(new Float32Array(0));
  });

  it('refuses absurd sizes before allocating anything', () => {
    const cases: [Uint8Array, RegExp][] = [
      [tensorPkl([4], [1], 0, 2 ** 50), /declares 1125899906842624 float32 elements/],
      [tensorPkl([4], [1], 0, 2n ** 70n), /storage '0' has size/],
      [tensorPkl([4], [1], 0, -1), /storage '0' has size -1/],
      [tensorPkl([-1], [1]), /size is not a tuple of non-negative integers/],
      [tensorPkl([2], [-1], 1), /stride is not a tuple of non-negative integers/],
      [tensorPkl([2, 2], [1]), /2 dimensions but 1 strides/],
      [tensorPkl([4], [1], -1), /offset -1/],
      // stride-0 views (expand) fit any storage; the decode budget stops them
      [tensorPkl([2 ** 20, 2 ** 20], [0, 0]), /exceed the remaining decode budget/],
      [tensorPkl([2 ** 30, 2 ** 30, 2 ** 30], [0, 0, 0]), /exceed the remaining decode budget/],
    ];
    for (const [pkl, re] of cases) expect(reason(() => loadTorchCheckpoint(torchZip(pkl, { 0: F32_4 })))).toMatch(re);
  });

  it('maxBytes bounds the total decoded bytes, also across many views of one storage', () => {
    const views: [Py, Py][] = Array.from({ length: 100 }, (_, i) => [`v${i}`, rebuild(storagePid('FloatStorage', '0', 4), 0, [4], [1])]);
    const file = torchZip(pickle2({ dict: views }), { 0: F32_4 });
    expect((loadTorchCheckpoint(file) as Map<string, unknown>).size).toBe(100);
    expect(reason(() => loadTorchCheckpoint(file, undefined, { maxBytes: 16 * 99 }))).toMatch(/budget/);
    const expanded = torchZip(tensorPkl([1000, 4], [0, 1]), { 0: F32_4 });
    expect((loadTorchCheckpoint(expanded) as Map<string, TorchTensor>).get('x')!.data.length).toBe(4000);
  });

  it('refuses inconsistent persistent ids', () => {
    const twice = pickle2({ tuple: [rebuild(storagePid('FloatStorage', '0', 4), 0, [4], [1]), rebuild(storagePid('IntStorage', '0', 4), 0, [4], [1])] });
    expect(reason(() => loadTorchCheckpoint(torchZip(twice, { 0: F32_4 })))).toMatch(/declared as int32 × 4 after float32 × 4/);
    const odd = pickle2({ persid: { tuple: ['module', 'x'] } });
    expect(reason(() => loadTorchCheckpoint(torchZip(odd)))).toMatch(/unexpected persistent id \('module', 'x'\)/);
    const notStorage = pickle2({ persid: { tuple: ['storage', { global: 'torch.Size' }, '0', 'cpu', 4] } });
    expect(reason(() => loadTorchCheckpoint(torchZip(notStorage)))).toMatch(/storage type is a global 'torch.Size'/);
    const notATensor = pickle2({ call: 'torch._utils._rebuild_tensor_v2', args: ['x', 0, { tuple: [] }, { tuple: [] }, false, null] });
    expect(reason(() => loadTorchCheckpoint(torchZip(notATensor)))).toMatch(/tensor storage is a string/);
  });

  it('refuses archives that are not torch.save checkpoints', () => {
    expect(reason(() => loadTorchCheckpoint(makeZip([['weights.npy', new Uint8Array(4)]])))).toMatch(
      /no '<folder>\/data.pkl' entry: not a torch.save zip archive \(entries: 'weights.npy'\)/,
    );
    expect(reason(() => loadTorchCheckpoint(makeZip([])))).toMatch(/entries: none/);
    const script = makeZip([
      ['m/data.pkl', pickle2(null)],
      ['m/constants.pkl', pickle2(null)],
    ]);
    expect(reason(() => loadTorchCheckpoint(script))).toMatch(/TorchScript archive/);
    const two = makeZip([
      ['a/data.pkl', pickle2(null)],
      ['b/data.pkl', pickle2(null)],
    ]);
    expect(reason(() => loadTorchCheckpoint(two))).toMatch(/several data.pkl entries/);
    expect(reason(() => loadTorchCheckpoint(new Uint8Array(0)))).toMatch(/not a torch checkpoint: starts with \[\(empty file\)\]/);
    expect(reason(() => loadTorchCheckpoint(new Uint8Array([0x93, 0x4e, 0x55])))).toMatch(/not a torch checkpoint/);
    const tar = new Uint8Array(600);
    tar.set(Buffer.from('ustar'), 257);
    expect(reason(() => loadTorchCheckpoint(tar))).toMatch(/tar-based format/);
    expect(reason(() => loadTorchCheckpoint(pickle2({ dict: [] })))).toMatch(/without torch's magic number/);
    // truncated zip: the zip reader's own error passes through
    const good = readFileSync(join(FIXTURES, 'dtypes.pth'));
    expect(() => loadTorchCheckpoint(good.subarray(0, good.length - 30))).toThrow(FormatError);
  });

  it('checks the legacy layout: magic, protocol, key list, counts, truncation', () => {
    const legacy = new Uint8Array(readFileSync(join(FIXTURES, 'legacy_storage_views.pth')));
    const header = [pickle2(0x1950a86a20f9469cfc6cn), pickle2(1001), pickle2({ dict: [] })];
    const main = pickle2({
      dict: [
        [
          'x',
          {
            call: 'torch._utils._rebuild_tensor_v2',
            args: [{ persid: { tuple: ['storage', { global: 'torch.FloatStorage' }, 'k', 'cpu', 4, null] } }, 0, { tuple: [4] }, { tuple: [1] }, false, null],
          },
        ],
      ],
    });
    const build = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
    const ok = build(...header, main, pickle2(['k']), ops(u64le(4n)), F32_4);
    expect(Array.from((loadTorchCheckpoint(ok) as Map<string, TorchTensor>).get('x')!.data as Float32Array)).toEqual([1, 2, 3, 4]);

    expect(reason(() => loadTorchCheckpoint(build(pickle2(5n), pickle2(1001))))).toMatch(/magic number/);
    expect(reason(() => loadTorchCheckpoint(build(header[0], pickle2(1000))))).toMatch(/legacy protocol version 1000/);
    expect(reason(() => loadTorchCheckpoint(build(...header, main, pickle2(['k']), ops(u64le(5n)), F32_4)))).toMatch(/declares 4 elements in the pickle but 5/);
    expect(reason(() => loadTorchCheckpoint(build(...header, main, pickle2(['k']), ops(u64le(4n)), F32_4.subarray(0, 15))))).toMatch(
      /truncated: storage 'k' needs 16 bytes, 15 left/,
    );
    expect(reason(() => loadTorchCheckpoint(build(...header, main, pickle2(['k']), ops(1, 2))))).toMatch(/no size field/);
    expect(reason(() => loadTorchCheckpoint(build(...header, main, pickle2([]))))).toMatch(/storage 'k' is used but not in the storage key list/);
    expect(reason(() => loadTorchCheckpoint(build(...header, main, pickle2(['k', 'z']), ops(u64le(4n)), F32_4)))).toMatch(
      /storage key z is listed but not used/,
    );
    expect(reason(() => loadTorchCheckpoint(build(...header, main, pickle2(['k', 'k']), ops(u64le(4n)), F32_4)))).toMatch(/listed twice/);
    expect(reason(() => loadTorchCheckpoint(build(...header, main)))).toMatch(/ends before the storage key list/);
    expect(reason(() => loadTorchCheckpoint(build(...header)))).toMatch(/ends before the checkpoint object/);
    for (let cut = 1; cut < legacy.length; cut += 7) expect(() => loadTorchCheckpoint(legacy.subarray(0, cut))).toThrow(FormatError);
  });

  it('random mutations of real checkpoints only ever load or throw FormatError', () => {
    const random = mulberry32(777);
    const legacy = new Uint8Array(readFileSync(join(FIXTURES, 'legacy.pth')));
    const zip = readZip(new Uint8Array(readFileSync(join(FIXTURES, 'state_dict.pth'))));
    const entries = zip.entries.map((e): [string, Uint8Array] => [e.name, new Uint8Array(zip.read(e.name))]);
    const pklIndex = entries.findIndex(([n]) => n.endsWith('/data.pkl'));
    for (let i = 0; i < 1500; i++) {
      const target = i % 2 === 0 ? new Uint8Array(legacy) : new Uint8Array(entries[pklIndex][1]);
      for (let f = 1 + Math.floor(random() * 3); f > 0; f--) target[Math.floor(random() * target.length)] = Math.floor(random() * 256);
      const file = i % 2 === 0 ? target : makeZip(entries.map(([n, d], j): [string, Uint8Array] => [n, j === pklIndex ? target : d]));
      try {
        loadTorchCheckpoint(file);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    }
  });
});

describe('stateDictTensors', () => {
  const t = (v: number) => new TorchTensor('float32', [1], new Float32Array([v]), false);

  it('flattens Maps, lists, tuples and Namespace objects into dotted keys', () => {
    const tree = new Map<unknown, unknown>([
      ['model', new Map([['conv', new Map([['weight', t(1)]])]])],
      ['shadow_params', [t(2), t(3)]],
      ['state', new Map<unknown, unknown>([[0, new Map([['exp_avg', t(4)]])]])],
      ['args', { lr: 0.1, extra: t(5) }],
      ['epoch', 3],
    ]);
    expect([...stateDictTensors(tree).keys()]).toEqual(['model.conv.weight', 'shadow_params.0', 'shadow_params.1', 'state.0.exp_avg', 'args.extra']);
    expect(stateDictTensors(t(0)).get('')!.data[0]).toBe(0);
  });

  it('refuses duplicate keys and odd key types, survives cycles, depth and shared-container blow-up', () => {
    expect(() =>
      stateDictTensors(
        new Map<unknown, unknown>([
          ['a.b', t(1)],
          ['a', new Map([['b', t(2)]])],
        ]),
      ),
    ).toThrow("two tensors flatten to the key 'a.b'");
    expect(() => stateDictTensors(new Map([[[1, 2], t(1)]]))).toThrow(/key of type list/);
    const cyclic: unknown[] = [t(1)];
    cyclic.push(cyclic);
    expect([...stateDictTensors(cyclic).keys()]).toEqual(['0']);
    let deep: unknown = t(1);
    for (let i = 0; i < 5000; i++) deep = [deep];
    expect(() => stateDictTensors(deep)).toThrow(/nested deeper than/);
    let dag: unknown = [];
    for (let i = 0; i < 40; i++) dag = [dag, dag]; // 2^40 paths through 40 lists
    expect(() => stateDictTensors(dag)).toThrow(/more than/);
  });
});
