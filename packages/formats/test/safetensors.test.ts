/**
 * safetensors. Independent truths: the official library's own serialisation test vectors
 * (safetensors/src/tensor.rs), a golden file written by hand in Python (numpy + json +
 * struct, test/py/make_safetensors_fixture.py; committed, and regenerated when numpy is
 * present), a hand-written Python/numpy parser reading what we write, and numpy's float16
 * conversions. Malformed files are crafted byte by byte.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasNumpy, mulberry32, runPython, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import {
  bfloat16ToFloat32,
  encodeSafetensors,
  float16ToFloat32,
  float32ToFloat16,
  FormatError,
  parseSafetensors,
  readSafetensors,
  SAFETENSORS_MAX_HEADER_SIZE,
  writeSafetensors,
  type SafetensorsContents,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from '../src/index.js';
import { hex, runPythonScript } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));
const tmp = tempDir('mmmi-formats-safetensors-');

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
}

const encode = (tensors: Parameters<typeof encodeSafetensors>[0], metadata?: Record<string, string>) => concat(encodeSafetensors(tensors, metadata));

/** Random bytes of `count` elements of `dtype`, as that dtype's typed array (BOOL: 0/1). */
function randomTensor(dtype: SafetensorsDtype, shape: number[], rand: () => number): SafetensorsTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const size = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 }[dtype];
  const bytes = new Uint8Array(count * size).map(() => Math.floor(rand() * 256));
  if (dtype === 'BOOL') bytes.forEach((b, i) => (bytes[i] = b & 1));
  const ctor = {
    F64: Float64Array,
    F32: Float32Array,
    F16: Uint16Array,
    BF16: Uint16Array,
    I64: BigInt64Array,
    I32: Int32Array,
    I16: Int16Array,
    I8: Int8Array,
    U8: Uint8Array,
    BOOL: Uint8Array,
  }[dtype];
  return { dtype, shape, data: new (ctor as new (b: ArrayBuffer) => SafetensorsTensor['data'])(bytes.buffer) } as SafetensorsTensor;
}

function expectSameTensors(got: Map<string, SafetensorsTensor>, want: Record<string, SafetensorsTensor>): void {
  expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [name, t] of Object.entries(want)) {
    const g = got.get(name)!;
    expect(g.dtype, name).toBe(t.dtype);
    expect(g.shape, name).toEqual(t.shape);
    expect(g.data.constructor, name).toBe(t.data.constructor);
    expect(hex(g.data), name).toBe(hex(t.data));
  }
}

function expectAlignedAndOwn(contents: SafetensorsContents, input?: Uint8Array): void {
  for (const [name, t] of contents.tensors) {
    expect(t.data.byteOffset % t.data.BYTES_PER_ELEMENT, name).toBe(0);
    if (input !== undefined) expect(t.data.buffer === input.buffer, name).toBe(false);
  }
}

// every supported dtype, with odd shapes, a 0-d scalar and empty tensors
const DTYPES: SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];
function allDtypes(seed: number): Record<string, SafetensorsTensor> {
  const rand = mulberry32(seed);
  const out: Record<string, SafetensorsTensor> = {};
  const shapes = [[3, 5, 7], [1], [], [0], [2, 0, 3], [13]];
  for (const dtype of DTYPES) {
    shapes.forEach((shape, i) => (out[`${dtype.toLowerCase()}.t${i}`] = randomTensor(dtype, shape, rand)));
  }
  return out;
}

describe('write → read round trips', () => {
  it('every dtype, odd shapes, 0-d scalars and empty tensors, bit for bit', () => {
    const tensors = allDtypes(1);
    const bytes = encode(tensors, { framework: 'pt', k: 'v' });
    const back = parseSafetensors(bytes);
    expectSameTensors(back.tensors, tensors);
    expect(back.metadata).toEqual({ framework: 'pt', k: 'v' });
    expectAlignedAndOwn(back, bytes);
    expect(back.tensors.get('f32.t2')!.shape).toEqual([]);
    expect(back.tensors.get('f32.t2')!.data.length).toBe(1);
    expect(back.tensors.get('i64.t3')!.data).toBeInstanceOf(BigInt64Array);
    expect(back.tensors.get('i64.t3')!.data.length).toBe(0);
  });

  it('through a file: writeSafetensors / readSafetensors', async () => {
    const tensors = allDtypes(2);
    const path = join(tmp, 'all.safetensors');
    await writeSafetensors(path, tensors);
    const back = await readSafetensors(path);
    expectSameTensors(back.tensors, tensors);
    expect(back.metadata).toEqual({});
    expectAlignedAndOwn(back);
    expect(readFileSync(path)).toEqual(Buffer.from(encode(tensors)));
    // parse and read agree exactly, tensor order included
    const parsed = parseSafetensors(readFileSync(path), path);
    expect([...back.tensors.keys()]).toEqual([...parsed.tensors.keys()]);
  });

  it('reads from an input at any byte offset into aligned, independent copies', () => {
    const bytes = encode({ a: { dtype: 'F64', shape: [3], data: Float64Array.from([1, -2, 3.5]) } });
    const shifted = new Uint8Array(bytes.length + 3).subarray(3);
    shifted.set(bytes);
    const back = parseSafetensors(shifted);
    expectAlignedAndOwn(back, shifted);
    const a = back.tensors.get('a')!;
    expect(Array.from(a.data as Float64Array)).toEqual([1, -2, 3.5]);
    shifted.fill(0);
    expect(Array.from(a.data as Float64Array)).toEqual([1, -2, 3.5]);
  });

  it('reads unpadded headers (tensors at odd file offsets) into aligned arrays', () => {
    const json = '{"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F64","shape":[],"data_offsets":[8,16]}}';
    expect(json.length % 8).not.toBe(0);
    const data = Buffer.concat([Buffer.from(Int32Array.from([7, -9]).buffer), Buffer.from(Float64Array.from([0.1]).buffer)]);
    const back = parseSafetensors(craft(json, data, { pad: false }));
    expectAlignedAndOwn(back);
    expect(Array.from(back.tensors.get('b')!.data as Int32Array)).toEqual([7, -9]);
    expect(back.tensors.get('a')!.data[0]).toBe(0.1);
    expect([...back.tensors.keys()]).toEqual(['b', 'a']); // data-offset order
  });

  it('F16/BF16 come back as raw Uint16Array bit patterns; the helpers widen them', () => {
    const f16 = float32ToFloat16(Float32Array.from([1, -2.5, 65504, 1e-7, Infinity]));
    const bf16 = Uint16Array.from([0x3f80, 0xc049, 0x7f80, 0x8000]);
    const back = parseSafetensors(encode({ h: { dtype: 'F16', shape: [5], data: f16 }, b: { dtype: 'BF16', shape: [2, 2], data: bf16 } }));
    const h = back.tensors.get('h')!;
    const b = back.tensors.get('b')!;
    expect(h.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(float16ToFloat32(h.data as Uint16Array))).toEqual([1, -2.5, 65504, 1.1920928955078125e-7, Infinity]);
    expect(Array.from(bfloat16ToFloat32(b.data as Uint16Array))).toEqual([1, -3.140625, Infinity, -0]);
  });

  it('checking dtype narrows data', () => {
    const t = parseSafetensors(encode({ x: { dtype: 'I64', shape: [1], data: BigInt64Array.from([-(2n ** 63n)]) } })).tensors.get('x')!;
    if (t.dtype !== 'I64') throw new Error('dtype');
    const v: bigint = t.data[0]; // compiles only if narrowed to BigInt64Array
    expect(v).toBe(-(2n ** 63n));
  });

  it('BOOL bytes other than 0/1 in a file read as 1', () => {
    const json = '{"m":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}}';
    const back = parseSafetensors(craft(json, Uint8Array.from([0, 1, 2, 255])));
    expect(Array.from(back.tensors.get('m')!.data as Uint8Array)).toEqual([0, 1, 1, 1]);
  });

  it('accepts a Map or a record, in any insertion order, with identical output', () => {
    const tensors = allDtypes(3);
    const reversed = new Map(Object.entries(tensors).reverse());
    expect(hex(encode(reversed, { b: '2', a: '1' }))).toBe(hex(encode(tensors, { a: '1', b: '2' })));
  });
});

describe('layout as the official writer', () => {
  /** The official library's serialisation vectors (safetensors/src/tensor.rs, test_serialization, test_empty, ...). */
  function official(n: number, json: string, data: number[] = []): string {
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(n));
    return hex(Buffer.concat([head, Buffer.from(json.padEnd(n, ' ')), Buffer.from(data)]));
  }
  const f32s = Float32Array.from([0, 1, 2, 3, 4, 5]);
  const f32Bytes = Array.from(new Uint8Array(f32s.buffer));

  it('test_serialization: attn.0 F32 [1, 2, 3], no padding needed', () => {
    const out = encode({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: f32s } });
    expect(hex(out)).toBe(official(64, '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', f32Bytes));
    // spot-check against the literal bytes of the Rust test
    expect(Array.from(out.subarray(0, 12))).toEqual([64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116]);
    expect(Array.from(out.subarray(70, 80))).toEqual([125, 125, 0, 0, 0, 0, 0, 0, 128, 63]);
  });

  it('test_serialization_forced_alignement: 7 spaces of padding', () => {
    const out = encode({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: f32s } });
    expect(hex(out)).toBe(official(72, '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}', f32Bytes));
    expect(Array.from(out.subarray(72, 80))).toEqual([125, 32, 32, 32, 32, 32, 32, 32]);
  });

  it('test_empty: no tensors, with and without metadata', () => {
    expect(Array.from(encode({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(hex(encode({}, { framework: 'pt' }))).toBe(official(40, '{"__metadata__":{"framework":"pt"}}'));
    expect(hex(encode({}, {}))).toBe(official(24, '{"__metadata__":{}}'));
    expect(parseSafetensors(encode({}))).toEqual({ tensors: new Map(), metadata: {} });
  });

  it('sorts by descending dtype alignment, then by name (UTF-8 bytes); header padded to 8', () => {
    const tensors = allDtypes(4);
    tensors['0'] = { dtype: 'I8', shape: [1], data: Int8Array.from([5]) }; // integer-like: JS objects would list it first
    tensors['\u{1F600}'] = { dtype: 'I8', shape: [1], data: Int8Array.from([6]) }; // astral: UTF-16 order differs
    tensors['\uff21'] = { dtype: 'I8', shape: [1], data: Int8Array.from([7]) };
    const bytes = encode(tensors, { z: '1', a: '2' });
    const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
    expect(text).toMatch(/^\{.*\} *$/s);
    expect(text.length - text.trimEnd().length).toBeLessThan(8);
    expect(/^\{"__metadata__":\{"a":"2","z":"1"\},/.test(text)).toBe(true);
    const names = [...text.matchAll(/"([^"]+)":\{"dtype":"([A-Z0-9]+)"/g)].map((m) => [m[1], m[2]]);
    const rank = ['BOOL', 'U8', 'I8', 'I16', 'F16', 'BF16', 'I32', 'F32', 'F64', 'I64'];
    const want = [...names].sort(([an, ad], [bn, bd]) => rank.indexOf(bd) - rank.indexOf(ad) || Buffer.compare(Buffer.from(an), Buffer.from(bn)));
    expect(names).toEqual(want);
    expect(names.slice(0, 2).map((x) => x[1])).toEqual(['I64', 'I64']);
    expect(
      names
        .filter(([, d]) => d === 'I8')
        .map(([name]) => name)
        .slice(0, 2),
    ).toEqual(['0', 'i8.t0']);
    expect(
      names
        .filter(([, d]) => d === 'I8')
        .map(([name]) => name)
        .slice(-2),
    ).toEqual(['\uff21', '\u{1F600}']);
    // so every tensor is aligned in the file itself
    for (const m of text.matchAll(/"dtype":"([A-Z0-9]+)","shape":\[[\d,]*\],"data_offsets":\[(\d+),/g)) {
      const size = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2 }[m[1]] ?? 1;
      expect((8 + n + Number(m[2])) % size).toBe(0);
    }
  });

  it('chunks are the header then views of the data (no copies)', () => {
    const data = Float32Array.from([1, 2, 3]);
    const chunks = encodeSafetensors({ x: { dtype: 'F32', shape: [3], data } });
    expect(chunks).toHaveLength(2);
    expect(chunks[1].buffer).toBe(data.buffer);
  });

  it('refuses bad input with plain Errors', () => {
    const f = Float32Array.from([1, 2]);
    const bad = (t: unknown, metadata?: unknown) => () => encodeSafetensors(t as Record<string, SafetensorsTensor>, metadata as Record<string, string>);
    expect(bad({ x: { dtype: 'F32', shape: [2], data: Float64Array.from([1, 2]) } })).toThrow(/dtype F32 needs a Float32Array, got Float64Array/);
    expect(bad({ x: { dtype: 'F16', shape: [2], data: f } })).toThrow(/needs a Uint16Array/);
    expect(bad({ x: { dtype: 'F32', shape: [3], data: f } })).toThrow(/shape \[3\] has 3 elements, data has 2/);
    expect(bad({ x: { dtype: 'F32', shape: [-2], data: f } })).toThrow(/must be non-negative integers/);
    expect(bad({ x: { dtype: 'U32', shape: [2], data: Uint32Array.from([1, 2]) } })).toThrow(/unsupported dtype "U32"/);
    expect(bad({ x: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([0, 2]) } })).toThrow(/only 0 and 1/);
    expect(bad({ __metadata__: { dtype: 'F32', shape: [2], data: f } })).toThrow(/reserved/);
    expect(bad({ 'a\ud800': { dtype: 'F32', shape: [2], data: f } })).toThrow(/lone surrogate/);
    expect(bad({}, { k: 3 })).toThrow(/metadata value of "k" is a number/);
  });

  it('writes atomically: replaces the old file, leaves no temp file, and a failure leaves nothing', async () => {
    const dir = join(tmp, 'atomic');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const path = join(dir, 'x.safetensors');
    writeFileSync(path, 'old');
    await writeSafetensors(path, { a: { dtype: 'U8', shape: [2], data: Uint8Array.from([1, 2]) } }, { v: '1' });
    expect(readdirSync(dir)).toEqual(['x.safetensors']);
    expect((await readSafetensors(path)).metadata).toEqual({ v: '1' });
    await expect(writeSafetensors(join(dir, 'missing', 'y.safetensors'), {})).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(writeSafetensors(path, { a: { dtype: 'U8', shape: [3], data: Uint8Array.from([1]) } } as never)).rejects.toThrow(/3 elements/);
    expect(readdirSync(dir)).toEqual(['x.safetensors']);
  });
});

interface ExpectedFile {
  metadata: Record<string, string>;
  order: string[];
  tensors: Record<string, { dtype: SafetensorsDtype; shape: number[]; hex: string; f32hex?: string }>;
}

function checkGolden(dir: string): void {
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as ExpectedFile;
  const path = join(dir, 'golden.safetensors');
  const bytes = readFileSync(path);
  const got = parseSafetensors(bytes, path);
  expect(got.metadata).toEqual(expected.metadata);
  expect([...got.tensors.keys()]).toEqual(expected.order);
  expectAlignedAndOwn(got, bytes);
  for (const [name, e] of Object.entries(expected.tensors)) {
    const t = got.tensors.get(name)!;
    expect(t, name).toBeDefined();
    expect(t.dtype, name).toBe(e.dtype);
    expect(t.shape, name).toEqual(e.shape);
    expect(hex(t.data), name).toBe(e.hex);
    if (t.dtype === 'F16') expect(hex(float16ToFloat32(t.data)), name).toBe(e.f32hex);
    if (t.dtype === 'BF16') expect(hex(bfloat16ToFloat32(t.data)), name).toBe(e.f32hex);
  }
  // spot values, independent of hex
  const steps = got.tensors.get('steps')!;
  expect(Array.from(steps.data as BigInt64Array)).toEqual([-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n]);
  const special = got.tensors.get('f64.special')!.data as Float64Array;
  expect(special[0]).toBeNaN();
  expect(Array.from(special.subarray(1))).toEqual([Infinity, -Infinity, -0, 5e-324, Number.MAX_VALUE, Math.PI, 1 / 3, 0.1 + 0.2]);
  expect(got.tensors.get('scalar')).toEqual({ dtype: 'F32', shape: [], data: Float32Array.from([-7.25]) });
  expect(got.tensors.get('θ.non_ascii')!.data[0]).toBe(Math.E);
  expect(Array.from(got.tensors.get('0')!.data as Int8Array)).toEqual([-128, -1, 0, 127]);
  const half = float16ToFloat32(got.tensors.get('half')!.data as Uint16Array);
  expect(Array.from(half.subarray(0, 11))).toEqual([0, -0, 1, -2.5, 65504, -65504, 2 ** -14, 2 ** -24, 5 * 2 ** -24, Infinity, -Infinity]);
  expect(half[11]).toBeNaN();
  // our writer reproduces the hand-written file byte for byte
  expect(hex(encode(got.tensors, got.metadata))).toBe(hex(bytes));
}

describe('golden file written by hand in Python (test/py/make_safetensors_fixture.py)', () => {
  it('the committed fixture: values, metadata, order, and our writer reproduces it exactly', async () => {
    checkGolden(FIXTURES);
    const viaFile = await readSafetensors(join(FIXTURES, 'golden.safetensors'));
    const viaBytes = parseSafetensors(readFileSync(join(FIXTURES, 'golden.safetensors')));
    expect([...viaFile.tensors.keys()]).toEqual([...viaBytes.tensors.keys()]);
    for (const [name, t] of viaBytes.tensors) expect(hex(viaFile.tensors.get(name)!.data)).toBe(hex(t.data));
  });

  it.skipIf(!hasNumpy())('the script rerun now (numpy present)', () => {
    const dir = join(tmp, 'fresh');
    runPythonScript('make_safetensors_fixture.py', [dir]);
    checkGolden(dir);
    // the rounding golden too: numpy here agrees with float32ToFloat16
    checkRoundingGolden(join(dir, 'f16_rounding.safetensors'));
  });
});

const PY_READ = String.raw`
import json, struct, sys
import numpy as np
NP = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'BF16': '<u2', 'I64': '<i8', 'I32': '<i4',
      'I16': '<i2', 'I8': 'i1', 'U8': 'u1', 'BOOL': '?'}
ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
assert n % 8 == 0, n
text = b[8:8 + n].decode('utf-8')
stripped = text.rstrip(' ')
assert stripped.endswith('}')
header = json.loads(text)
keys = list(header)
meta = header.pop('__metadata__', None)
buf = b[8 + n:]
items = sorted(header.items(), key=lambda kv: tuple(kv[1]['data_offsets']))
assert [k for k, _ in items] == [k for k in keys if k != '__metadata__'], 'header lists tensors in offset order'
official = sorted(header, key=lambda k: (-ORDER.index(header[k]['dtype']), k.encode('utf-8')))
pos = 0
out = {'first_key': keys[0] if keys else None, 'metadata': meta, 'official_order': official,
       'order': [k for k, _ in items], 'tensors': {}}
def show(v):
    return repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v))
for name, info in items:
    s, e = info['data_offsets']
    assert s == pos, (name, s, pos)
    pos = e
    a = np.frombuffer(buf[s:e], dtype=NP[info['dtype']]).reshape(info['shape'])
    assert (8 + n + s) % a.dtype.itemsize == 0, 'aligned in the file'
    t = {'dtype': info['dtype'], 'shape': list(a.shape), 'hex': a.tobytes().hex()}
    if info['dtype'] == 'BF16':
        a = (a.astype('<u4') << 16).view('<f4')
    t['values'] = [show(v) for v in a.ravel()]
    out['tensors'][name] = t
assert pos == len(buf), 'buffer fully covered'
print(json.dumps(out))
`;

function pyNumber(s: string): number {
  return s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
}

describe.skipIf(!hasNumpy())('a hand-written numpy parser reads what we write', () => {
  it('every dtype, values and layout', async () => {
    const tensors = allDtypes(5);
    tensors['special.f32'] = { dtype: 'F32', shape: [6], data: Float32Array.from([NaN, Infinity, -0, 1e-45, 3.4028234663852886e38, 0.1]) };
    tensors['half.known'] = { dtype: 'F16', shape: [2, 2], data: float32ToFloat16(Float32Array.from([1, -2.5, 1e-7, 65504])) };
    tensors['θ'] = { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) };
    const metadata = { framework: 'pt', ünïcode: '✓ "q"\n' };
    const path = join(tmp, 'for-numpy.safetensors');
    await writeSafetensors(path, tensors, metadata);
    const py = JSON.parse(runPython(PY_READ, [path])) as {
      first_key: string;
      metadata: Record<string, string>;
      official_order: string[];
      order: string[];
      tensors: Record<string, { dtype: string; shape: number[]; hex: string; values: string[] }>;
    };
    expect(py.first_key).toBe('__metadata__');
    expect(py.metadata).toEqual(metadata);
    expect(py.order).toEqual(py.official_order);
    expect(Object.keys(py.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const p = py.tensors[name];
      expect(p.dtype, name).toBe(t.dtype);
      expect(p.shape, name).toEqual(t.shape);
      expect(p.hex, name).toBe(hex(t.data));
      let ours: (number | bigint)[];
      if (t.dtype === 'F16') ours = Array.from(float16ToFloat32(t.data));
      else if (t.dtype === 'BF16') ours = Array.from(bfloat16ToFloat32(t.data));
      else ours = Array.from(t.data as ArrayLike<number | bigint>);
      if (t.dtype === 'I64') expect(p.values.map(BigInt), name).toEqual(ours);
      else expect(p.values.map(pyNumber), name).toEqual(ours);
    }
  });
});

// ---------------------------------------------------------------------------------------

/** Hand-made file: u64 length, header text (padded with spaces to 8 unless pad: false), data. */
function craft(header: string | object, data: Uint8Array = new Uint8Array(0), opts: { pad?: boolean; n?: bigint } = {}): Uint8Array {
  let text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  if (opts.pad !== false) text = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(opts.n ?? BigInt(text.length));
  return Buffer.concat([head, text, data]);
}

function reasonOf(bytes: Uint8Array, file = '/data/model.safetensors'): string {
  try {
    parseSafetensors(bytes, file);
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    const err = e as FormatError;
    expect(err.file).toBe(file);
    expect(err.message).toContain(`safetensors file ${file}: `);
    return err.reason;
  }
  throw new Error('expected parseSafetensors to throw');
}

describe('malformed files give specific FormatErrors naming the file and the tensor', () => {
  const A = { dtype: 'F32', shape: [4], data_offsets: [0, 16] };
  const B = { dtype: 'I32', shape: [2], data_offsets: [16, 24] };
  const data24 = new Uint8Array(24);
  const good = craft({ a: A, b: B }, data24);

  it('the crafting helper makes a readable file', () => {
    const c = parseSafetensors(good);
    expect([...c.tensors.keys()]).toEqual(['a', 'b']);
    expect(parseSafetensors(craft({ a: A, b: B }, data24, { pad: false })).tensors.size).toBe(2);
  });

  it('shorter than the 8-byte length', () => {
    expect(reasonOf(new Uint8Array(0))).toBe('truncated: the file has 0 bytes, fewer than the 8-byte header length');
    expect(reasonOf(good.subarray(0, 5))).toMatch(/the file has 5 bytes, fewer than the 8-byte header length/);
  });

  it('truncated header', () => {
    expect(reasonOf(good.subarray(0, 20))).toMatch(/^truncated header: header length is \d+ bytes, only 12 follow$/);
  });

  it('header length over the 100 MB limit (e.g. not a safetensors file)', () => {
    expect(reasonOf(craft('{}', undefined, { n: BigInt(SAFETENSORS_MAX_HEADER_SIZE) + 1n }))).toMatch(
      /header length 100000001 exceeds the limit of 100000000 bytes/,
    );
    expect(reasonOf(craft('{}', undefined, { n: 2n ** 64n - 1n }))).toMatch(/header length 18446744073709551615 exceeds the limit/);
    expect(reasonOf(Buffer.from('PK\x03\x04 this is a zip file', 'latin1'))).toMatch(/exceeds the limit/);
  });

  it('header not UTF-8, not starting with {, not JSON', () => {
    expect(reasonOf(concatHeader(Uint8Array.from([0x7b, 0xff, 0x7d])))).toBe('header is not valid UTF-8');
    expect(reasonOf(concatHeader(Uint8Array.from([0x7b, 0xc3, 0x7d])))).toBe('header is not valid UTF-8');
    expect(reasonOf(craft('[1, 2]'))).toMatch(/^header does not start with '\{' \(starts "\[1, 2\]/);
    expect(reasonOf(craft(' {}'))).toMatch(/does not start with/);
    expect(reasonOf(craft('', undefined, { n: 0n }))).toMatch(/does not start with '\{' \(starts "", header length 0\)/);
    expect(reasonOf(craft('{"a": {'))).toMatch(/^header is not valid JSON: /);
    expect(reasonOf(craft('{"a": 1} x'))).toMatch(/^header is not valid JSON: /);
    expect(reasonOf(craft('{}', undefined, { pad: false, n: 8n }))).toMatch(/truncated header/);
  });

  it('duplicate names and duplicate fields', () => {
    const dupe = `{"a":${JSON.stringify(A)},"a":${JSON.stringify(A)}}`;
    expect(reasonOf(craft(dupe, new Uint8Array(16)))).toBe('tensor name "a" appears more than once in the header');
    const escaped = `{"a":${JSON.stringify(A)},"\\u0061":${JSON.stringify(A)}}`;
    expect(reasonOf(craft(escaped, new Uint8Array(16)))).toBe('tensor name "a" appears more than once in the header');
    const field = '{"a":{"dtype":"F32","dtype":"I32","shape":[4],"data_offsets":[0,16]}}';
    expect(reasonOf(craft(field, new Uint8Array(16)))).toBe('key "dtype" appears more than once in the header entry "a"');
    // keys inside strings and arrays are not confused for object keys
    expect(parseSafetensors(craft({ __metadata__: { x: '"a":{', y: '[,"a"' }, a: A }, new Uint8Array(16))).metadata.y).toBe('[,"a"');
  });

  it('bad entries: not an object, missing fields, wrong types', () => {
    expect(reasonOf(craft({ a: 3 }))).toBe('tensor "a": header entry is a number, expected an object');
    expect(reasonOf(craft({ a: { dtype: 'F32', shape: [4] } }))).toBe(`tensor "a": header entry has no 'data_offsets'`);
    expect(reasonOf(craft({ a: { ...A, dtype: 3 } }))).toBe('tensor "a": dtype is a number, expected a string');
    for (const shape of [[2, -2], [1.5], '4', [2 ** 53]]) {
      expect(reasonOf(craft({ a: { ...A, shape } }, new Uint8Array(16)))).toMatch(/^tensor "a": shape .* is not a list of non-negative integers$/);
    }
    for (const offsets of [[16, 0], [0], ['0', 16], [0, 16, 24], null]) {
      expect(reasonOf(craft({ a: { ...A, data_offsets: offsets } }, new Uint8Array(16)))).toMatch(/^tensor "a": data_offsets .* is not \[begin, end\]/);
    }
  });

  it('unknown dtype, and known dtypes this reader does not hold', () => {
    expect(reasonOf(craft({ a: { ...A, dtype: 'F128' } }, new Uint8Array(16)))).toBe('tensor "a": unknown dtype "F128"');
    expect(reasonOf(craft({ a: { ...A, dtype: 'f32' } }, new Uint8Array(16)))).toBe('tensor "a": unknown dtype "f32"');
    expect(reasonOf(craft({ a: { ...A, dtype: 'U32' } }, new Uint8Array(16)))).toMatch(
      /^tensor "a": dtype U32 is not supported \(supported: F64, F32, F16, BF16, I64/,
    );
    expect(reasonOf(craft({ a: { ...A, dtype: 'F8_E4M3' } }, new Uint8Array(16)))).toMatch(/dtype F8_E4M3 is not supported/);
  });

  it('shape / byte length mismatch, and shapes too large', () => {
    expect(reasonOf(craft({ a: { ...A, shape: [5] }, b: B }, data24))).toBe('tensor "a": shape [5] of F32 needs 20 bytes, but data_offsets [0, 16] span 16');
    expect(reasonOf(craft({ a: { ...A, shape: [2, 2] }, b: { ...B, dtype: 'I64' } }, data24))).toBe(
      'tensor "b": shape [2] of I64 needs 16 bytes, but data_offsets [16, 24] span 8',
    );
    expect(reasonOf(craft({ a: { ...A, shape: [2 ** 30, 2 ** 30, 2 ** 30] } }, data24))).toMatch(/shape \[1073741824, 1073741824, 1073741824\] is too large/);
  });

  it('offsets out of bounds (e.g. the file is truncated)', () => {
    expect(reasonOf(good.subarray(0, good.length - 4))).toBe('tensor "b": data_offsets [16, 24] lie outside the 20-byte data buffer (truncated file?)');
    expect(reasonOf(craft({ a: { ...A, data_offsets: [1000, 1016] } }, data24))).toMatch(/tensor "a": data_offsets \[1000, 1016\] lie outside the 24-byte/);
  });

  it('overlapping offsets', () => {
    expect(reasonOf(craft({ a: A, b: { ...B, data_offsets: [8, 16] } }, new Uint8Array(16)))).toBe(
      'tensor "b": data_offsets [8, 16] overlap tensor "a" at [0, 16]',
    );
    expect(reasonOf(craft({ a: A, b: { ...A } }, new Uint8Array(16)))).toMatch(/data_offsets \[0, 16\] overlap tensor "a" at \[0, 16\]/);
    // an empty tensor inside another one
    expect(reasonOf(craft({ a: A, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, new Uint8Array(16)))).toBe(
      'tensor "e": data_offsets [4, 4] overlap tensor "a" at [0, 16]',
    );
  });

  it('gaps: before a tensor, at the start, and after the last one', () => {
    expect(reasonOf(craft({ a: A, b: { ...B, data_offsets: [20, 28] } }, new Uint8Array(28)))).toBe(
      'bytes [16, 20) of the data buffer, before tensor "b", belong to no tensor',
    );
    expect(reasonOf(craft({ a: { ...A, data_offsets: [4, 20] } }, new Uint8Array(20)))).toBe(
      'bytes [0, 4) of the data buffer, before tensor "a", belong to no tensor',
    );
    expect(reasonOf(concatData(good, 3))).toBe('bytes [24, 27) at the end of the data buffer belong to no tensor');
    expect(reasonOf(craft({}, new Uint8Array(1)))).toBe('bytes [0, 1) at the end of the data buffer belong to no tensor');
  });

  it('__metadata__ must map strings to strings (null reads as none)', () => {
    expect(reasonOf(craft({ __metadata__: { k: 1 } }))).toBe('__metadata__ values must be strings, but "k" is a number');
    expect(reasonOf(craft({ __metadata__: ['x'] }))).toBe('__metadata__ is a list, expected an object of strings');
    expect(reasonOf(craft({ __metadata__: 'x' }))).toBe('__metadata__ is a string, expected an object of strings');
    expect(parseSafetensors(craft({ __metadata__: null })).metadata).toEqual({});
    expect(Object.keys(parseSafetensors(craft('{"__metadata__":{"__proto__":"x"}}')).metadata)).toEqual(['__proto__']);
  });

  it('readSafetensors gives the same reasons, names the path; I/O errors pass through', async () => {
    const cases = [good.subarray(0, 5), good.subarray(0, 20), good.subarray(0, good.length - 4), concatData(good, 3), craft('{"a": {')];
    for (const [i, bytes] of cases.entries()) {
      const path = join(tmp, `bad${i}.safetensors`);
      writeFileSync(path, bytes);
      const reason = reasonOf(bytes, path);
      const err = await readSafetensors(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).reason).toBe(reason);
      expect((err as FormatError).message).toContain(path);
    }
    await expect(readSafetensors(join(tmp, 'nope.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

function concatHeader(header: Uint8Array): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([head, header]);
}

function concatData(bytes: Uint8Array, extra: number): Uint8Array {
  return Buffer.concat([bytes, Buffer.alloc(extra)]);
}

// ---------------------------------------------------------------------------------------

/** Value of half bit pattern h, computed from the definition (not bit manipulation). */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? s * Infinity : NaN;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

const ALL_HALVES = Uint16Array.from({ length: 65536 }, (_, i) => i);

function checkRoundingGolden(path: string): void {
  const { tensors, metadata } = parseSafetensors(readFileSync(path), path);
  expect(metadata.numpy).toMatch(/^\d+\./);
  const input = tensors.get('input')!.data as Float32Array;
  const want = tensors.get('numpy')!.data as Uint16Array;
  expect(input.length).toBeGreaterThan(4000);
  expectSameHalves(float32ToFloat16(input), want, input);
}

/** Bit-exact, except that a NaN need only be a NaN of the same sign (hardware paths may quiet it). */
function expectSameHalves(got: Uint16Array, want: Uint16Array, input: Float32Array): void {
  const inBits = new Uint32Array(input.buffer, input.byteOffset, input.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const isNan = (want[i] & 0x7c00) === 0x7c00 && (want[i] & 0x3ff) !== 0;
    const ok = isNan ? (got[i] & 0x7c00) === 0x7c00 && (got[i] & 0x3ff) !== 0 && (got[i] & 0x8000) === (want[i] & 0x8000) : got[i] === want[i];
    if (!ok && bad.length < 10) bad.push(`${inBits[i].toString(16)} (${input[i]}): got ${got[i].toString(16)}, numpy ${want[i].toString(16)}`);
  }
  expect(bad).toEqual([]);
}

describe('float16 / bfloat16 conversions', () => {
  it('all 65 536 halves: exact widening (checked against the definition) and a bit-exact round trip', () => {
    const f32 = float16ToFloat32(ALL_HALVES);
    for (let h = 0; h < 65536; h++) {
      const v = halfValue(h);
      if (Number.isNaN(v)) expect(Number.isNaN(f32[h])).toBe(true);
      else if (f32[h] !== v || Object.is(v, -0) !== Object.is(f32[h], -0)) throw new Error(`half ${h.toString(16)}: ${f32[h]} != ${v}`);
    }
    const back = float32ToFloat16(f32);
    const mismatch = ALL_HALVES.findIndex((h, i) => back[i] !== h);
    expect(mismatch).toBe(-1); // NaN payloads and signs included
  });

  it('bfloat16 widening is the top half of a float32, for all 65 536 patterns', () => {
    const f32 = bfloat16ToFloat32(ALL_HALVES);
    const bits = new Uint32Array(f32.buffer);
    expect(bits.every((b, i) => b === i * 65536)).toBe(true);
    expect(Array.from(bfloat16ToFloat32(Uint16Array.from([0x3f80, 0xbf80, 0x4049, 0x0001])))).toEqual([1, -1, 3.140625, 2 ** -133]);
  });

  it('float32 → float16 rounds to nearest, ties to even; overflow, underflow, NaN', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // tie, even below
      [1 + 3 * 2 ** -11, 0x3c02], // tie, even above
      [1 + 2 ** -11 + 2 ** -23, 0x3c01],
      [65504, 0x7bff],
      [65519.99609375, 0x7bff],
      [65520, 0x7c00], // tie with the (odd) max: to infinity
      [-1e10, 0xfc00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], // tie with zero
      [-(2 ** -25), 0x8000],
      [3 * 2 ** -25, 0x0002], // tie, even above
      [2 ** -25 + 2 ** -40, 0x0001],
      [2 ** -14 - 2 ** -25, 0x0400], // rounds up out of the subnormals
      [1e-45, 0x0000],
      [-0, 0x8000],
      [Infinity, 0x7c00],
    ];
    const got = float32ToFloat16(Float32Array.from(cases.map(([v]) => v)));
    expect(Array.from(got, (h) => h.toString(16))).toEqual(cases.map(([, h]) => h.toString(16)));
    const nans = new Float32Array(new Uint32Array([0x7fc00000, 0xff800001, 0x7f802000, 0x7fffffff]).buffer);
    expect(Array.from(float32ToFloat16(nans), (h) => h.toString(16))).toEqual(['7e00', 'fc01', '7c01', '7fff']);
    // views at an offset work too
    const view = new Float32Array(new Float32Array([9, 1, 2]).buffer, 4, 2);
    expect(Array.from(float32ToFloat16(view))).toEqual([0x3c00, 0x4000]);
  });

  it("matches numpy's astype(np.float16) on the committed golden (test/fixtures/safetensors/f16_rounding.safetensors)", () => {
    checkRoundingGolden(join(FIXTURES, 'f16_rounding.safetensors'));
  });

  it.skipIf(!hasNumpy())("matches numpy's astype(np.float16) live on 8 000 random float32 values", () => {
    const rand = mulberry32(7);
    const n = 8000;
    const bits = new Uint32Array(n);
    const halves = float16ToFloat32(ALL_HALVES);
    for (let i = 0; i < n; i++) {
      const kind = i % 4;
      if (kind === 0)
        bits[i] = Math.floor(rand() * 2 ** 32); // any pattern
      else {
        let v: number;
        if (kind === 1)
          v = 2 ** (rand() * 44 - 27); // log-uniform over the half range and beyond
        else {
          const h = Math.floor(rand() * 0x7bff);
          v = (halves[h] + halves[h + 1]) / 2; // exact tie
          if (kind === 3) v = Math.fround(v) * (1 + (rand() < 0.5 ? -1 : 1) * 2 ** -23); // next to a tie
        }
        if (rand() < 0.5) v = -v;
        bits[i] = new Uint32Array(Float32Array.of(v).buffer)[0];
      }
    }
    const input = new Float32Array(bits.buffer);
    const path = join(tmp, 'f32.bin');
    writeFileSync(path, new Uint8Array(bits.buffer));
    const out = runPython(
      "import sys, numpy as np\nwith np.errstate(all='ignore'):\n  print(np.fromfile(sys.argv[1], '<f4').astype('<f2').view('<u2').tobytes().hex())",
      [path],
    ).trim();
    const want = new Uint16Array(new Uint8Array(Buffer.from(out, 'hex')).buffer);
    expect(want.length).toBe(n);
    expectSameHalves(float32ToFloat16(input), want, input);
  });

  it.skipIf(!hasNumpy())("float16 → float32 matches numpy's astype(np.float32) for all 65 536 halves", () => {
    const out = runPython("import numpy as np\nprint(np.arange(65536, dtype='<u2').view('<f2').astype('<f4').tobytes().hex())").trim();
    const want = new Uint32Array(new Uint8Array(Buffer.from(out, 'hex')).buffer);
    const got = new Uint32Array(float16ToFloat32(ALL_HALVES).buffer);
    const isNan = (b: number) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
    const bad = Array.from(ALL_HALVES).filter((h) => (isNan(want[h]) ? !isNan(got[h]) : got[h] !== want[h]));
    expect(bad).toEqual([]);
  });
});

it('fixtures are present (regenerate with python3 test/py/make_safetensors_fixture.py test/fixtures/safetensors)', () => {
  for (const f of ['golden.safetensors', 'expected.json', 'f16_rounding.safetensors']) expect(existsSync(join(FIXTURES, f))).toBe(true);
});
