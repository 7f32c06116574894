/**
 * Cross-checks against NumPy and Python's zipfile: they write .npz/.zip files we read, and
 * they read (np.load, ZipFile.testzip, and `unzip -t` where installed) what we write.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNumpy, runPython, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { NpzWriter, readNpz, readZip, writeNpz, type NpyInput, type NpyUnicodeInput } from '../src/index.js';
import { hex } from './helpers.js';
import { noise } from './zipcraft.js';

const sha256 = (b: ArrayBufferView) =>
  createHash('sha256')
    .update(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
    .digest('hex');

interface ExpectedArray {
  dtype: string;
  shape: number[];
  /** sha256 of the C-order little-endian bytes, or the strings of a unicode array. */
  sha?: string;
  strings?: string[];
}

const NUMPY_WRITES = String.raw`
import hashlib, io, json, os, sys, zipfile
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)

def describe(a):
    if a.dtype.kind == 'U':
        return dict(dtype='<U%d' % (a.dtype.itemsize // 4), shape=list(a.shape), strings=[str(s) for s in a.ravel(order='C')])
    dt = a.dtype if a.dtype.itemsize == 1 else a.dtype.newbyteorder('<')
    return dict(dtype=dt.str, shape=list(a.shape), sha=hashlib.sha256(np.ascontiguousarray(a, dtype=dt).tobytes()).hexdigest())

arrays = dict(
    f4=rng.standard_normal((3, 5)).astype(np.float32),
    f8=rng.standard_normal((4, 2, 3)),
    i4=rng.integers(-2**31, 2**31, 11, dtype=np.int32),
    i8=np.array([-2**63, 2**63 - 1], dtype=np.int64),
    b1=rng.random(9) > 0.5,
    MI_labels=np.array(['I(X_1; θ)', 'I(X_1, X_2; θ)', 'h(😀)', '']),
    labels_2d_fortran=np.asfortranarray(np.array([['a', 'bb', 'ccc'], ['dddd', '', 'θθ']])),
    alpha=np.array(1.2),
    count=np.array(7, dtype=np.int32),
    empty=np.zeros((0, 3)),
    fortran=np.asfortranarray(rng.standard_normal((3, 4))),
    big_endian=rng.standard_normal(5).astype('>f8'),
    large=rng.standard_normal(300_000).astype(np.float32),
)
out = {}
for name, save in [('savez', np.savez), ('savez_compressed', np.savez_compressed)]:
    p = os.path.join(d, name + '.npz')
    save(p, **arrays)
    out[name] = dict(file=p, arrays={k: describe(v) for k, v in arrays.items()})
p = os.path.join(d, 'positional.npz')
np.savez(p, np.arange(3), np.array(['x']), alpha=1.2)
out['positional'] = dict(file=p, arrays={k: describe(v) for k, v in np.load(p).items()})

# plain zips from Python's zipfile, to exercise the container on its own
zips = {}
def content(i, n):
    return bytes(rng.integers(0, 4, n, dtype=np.uint8)) + str(i).encode()

p = os.path.join(d, 'force_zip64.zip')
files = {}
with zipfile.ZipFile(p, 'w', compression=zipfile.ZIP_DEFLATED) as z:
    for i, n in enumerate([1000, 50_000, 0]):
        name = 'dir/e%d.bin' % i
        files[name] = content(i, n)
        zi = zipfile.ZipInfo(name)
        zi.compress_type = zipfile.ZIP_STORED if i == 0 else zipfile.ZIP_DEFLATED
        with z.open(zi, 'w', force_zip64=True) as f:
            f.write(files[name])
    z.comment = b'written by Python with force_zip64=True'
zips['force_zip64'] = dict(file=p, files={k: hashlib.sha256(v).hexdigest() for k, v in files.items()})

p = os.path.join(d, 'many.zip')  # more than 65535 entries: Python writes ZIP64 end records
with zipfile.ZipFile(p, 'w') as z:
    for i in range(70_000):
        z.writestr('m/%05d' % i, str(i))
zips['many'] = dict(file=p, count=70_000)

class Unseekable(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
p = os.path.join(d, 'descriptors.zip')  # an unseekable output makes zipfile write data descriptors
files = {}
with open(p, 'wb') as raw, zipfile.ZipFile(Unseekable(raw), 'w', compression=zipfile.ZIP_DEFLATED) as z:
    for i in range(3):
        name = 'd%d' % i
        files[name] = content(i, 20_000)
        with z.open(name, 'w') as f:
            f.write(files[name])
zips['descriptors'] = dict(file=p, files={k: hashlib.sha256(v).hexdigest() for k, v in files.items()}, flags=[zi.flag_bits for zi in zipfile.ZipFile(p).infolist()])

p = os.path.join(d, 'torchlike.zip')  # torch.save layout: stored entries, data aligned to 64 bytes by a local extra field
files = {}
with open(p, 'wb') as raw:
    with zipfile.ZipFile(raw, 'w') as z:
        for name, data in [('weird_top/data.pkl', content(0, 301)), ('weird_top/data/0', np.arange(10, dtype=np.float32).tobytes()), ('weird_top/version', b'3\n')]:
            zi = zipfile.ZipInfo(name)
            start = raw.tell() + 30 + len(name.encode()) + 4
            pad = (64 - start % 64) % 64
            zi.extra = b'FB' + pad.to_bytes(2, 'little') + b'Z' * pad
            z.writestr(zi, data)
            files[name] = hashlib.sha256(data).hexdigest()
zips['torchlike'] = dict(file=p, files=files)
print(json.dumps(dict(npz=out, zips=zips)))
`;

interface NumpyWrites {
  npz: Record<string, { file: string; arrays: Record<string, ExpectedArray> }>;
  zips: {
    force_zip64: { file: string; files: Record<string, string> };
    many: { file: string; count: number };
    descriptors: { file: string; files: Record<string, string>; flags: number[] };
    torchlike: { file: string; files: Record<string, string> };
  };
}

describe.skipIf(!hasNumpy())('NumPy / zipfile write, we read', () => {
  const tmp = tempDir('mmmi-formats-npz-read-');
  let made: NumpyWrites;
  beforeAll(() => {
    made = JSON.parse(runPython(NUMPY_WRITES, [tmp])) as NumpyWrites;
  });

  it('np.savez and np.savez_compressed: every array exact (float32/64, ints, bool, unicode, 0-d, empty, Fortran, big-endian)', async () => {
    for (const [label, { file, arrays }] of Object.entries(made.npz)) {
      const m = await readNpz(file);
      expect([...m.keys()], label).toEqual(Object.keys(arrays));
      for (const [k, want] of Object.entries(arrays)) {
        const got = m.get(k)!;
        const desc: ExpectedArray = Array.isArray(got.data)
          ? { dtype: got.dtype, shape: got.shape, strings: got.data }
          : { dtype: got.dtype, shape: got.shape, sha: sha256(got.data) };
        expect({ label, k, ...desc }).toEqual({ label, k, ...want });
      }
    }
    expect(made.npz.positional.arrays).toHaveProperty('arr_0');
    expect(made.npz.savez.arrays.MI_labels.strings).toEqual(['I(X_1; θ)', 'I(X_1, X_2; θ)', 'h(😀)', '']);
  });

  it("np.savez's ZIP64 local headers are what we expect to find", () => {
    const z = readZip(readFileSync(made.npz.savez.file));
    const bytes = readFileSync(made.npz.savez.file);
    expect(bytes.readUInt32LE(z.entries[0].localHeaderOffset + 18)).toBe(0xffffffff);
  });

  it('zipfile with force_zip64=True, with a comment', () => {
    const { file, files } = made.zips.force_zip64;
    const z = readZip(readFileSync(file), file);
    expect(z.entries.map((e) => [e.name, e.method])).toEqual([
      ['dir/e0.bin', 0],
      ['dir/e1.bin', 8],
      ['dir/e2.bin', 8],
    ]);
    for (const [name, sha] of Object.entries(files)) expect(sha256(z.read(name))).toBe(sha);
  });

  it('zipfile with 70 000 entries (ZIP64 end record and locator)', () => {
    const { file, count } = made.zips.many;
    const bytes = readFileSync(file);
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    const z = readZip(bytes, file);
    expect(z.entries.length).toBe(count);
    expect(new TextDecoder().decode(z.read('m/69999'))).toBe('69999');
  });

  it('zipfile writing to an unseekable stream (data descriptors)', () => {
    const { file, files, flags } = made.zips.descriptors;
    expect(flags.every((f) => (f & 8) === 8)).toBe(true);
    const z = readZip(readFileSync(file), file);
    for (const [name, sha] of Object.entries(files)) expect(sha256(z.read(name))).toBe(sha);
  });

  it('a torch.save-like layout: odd top folder, 64-byte aligned stored data via local extra padding', () => {
    const { file, files } = made.zips.torchlike;
    const bytes = readFileSync(file);
    const z = readZip(bytes, file);
    for (const [name, sha] of Object.entries(files)) expect(sha256(z.read(name))).toBe(sha);
    const data = z.read('weird_top/data/0');
    expect((data.byteOffset - bytes.byteOffset) % 64).toBe(0);
    expect(Array.from(new Float32Array(data.slice().buffer))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

const NUMPY_READS = String.raw`
import hashlib, io, json, sys, zipfile
import numpy as np
manifest = json.load(open(sys.argv[1]))
out = {}
for label, path in manifest.items():
    z = zipfile.ZipFile(path)
    res = dict(testzip=z.testzip(), arrays={})
    with np.load(path) as f:
        for k in f.files:
            a = f[k]
            again = io.BytesIO()
            np.save(again, a)
            d = dict(dtype=a.dtype.str, shape=list(a.shape), same_bytes_as_np_save=z.read(k + '.npy') == again.getvalue())
            if a.dtype.kind == 'U':
                d['strings'] = [str(s) for s in a.ravel()]
            else:
                d['sha'] = hashlib.sha256(a.tobytes()).hexdigest()
            res['arrays'][k] = d
    res['zip64_locator'] = b'PK\x06\x07' in open(path, 'rb').read()
    out[label] = res
print(json.dumps(out))
`;

const streamedF4 = new Float32Array(new Uint8Array(noise(6_000_000, 5, 16)).buffer); // 1.5 M floats, 6 MB

const wholeArrays: Record<string, NpyInput | NpyUnicodeInput> = {
  f8: { shape: [3, 4], data: Float64Array.from({ length: 12 }, (_, i) => Math.PI * 10 ** (i * 20 - 110)) },
  f4: { shape: [5], data: Float32Array.of(1.5, -0, NaN, Infinity, 3.4e38) },
  i4: { shape: [2, 2], data: Int32Array.of(-(2 ** 31), -1, 0, 2 ** 31 - 1) },
  u8: { shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
  b1: { shape: [3], data: Uint8Array.of(1, 0, 1), dtype: '|b1' },
  MI_labels: { shape: [3], data: ['I(X_1; θ)', 'h(😀)', ''] },
  labels_2d: { shape: [2, 2], data: ['a', 'bb', 'ccc', 'θ'], dtype: '<U7' },
  alpha: { shape: [], data: Float64Array.of(1.2) },
  empty: { shape: [0, 2], data: new Int32Array(0) },
};

async function writeStreamed(path: string, compress: boolean, zip64: 'auto' | 'always'): Promise<void> {
  const w = await NpzWriter.create(path, { compress, zip64 });
  await w.addArray('MI_labels', wholeArrays.MI_labels);
  const s = await w.beginArray('images', { dtype: '<f4', shape: [1500, 1000] });
  // uneven chunks, one reused buffer
  const buf = new Float32Array(400_000);
  for (let off = 0, k = 0; off < streamedF4.length; k++) {
    const n = Math.min([1, 399_999, 250_000, 333][k % 4], streamedF4.length - off);
    buf.set(streamedF4.subarray(off, off + n));
    await s.write(buf.subarray(0, n));
    off += n;
  }
  await s.end();
  const e = await w.beginArray('empty_streamed', { dtype: '<f8', shape: [0] });
  await e.end();
  await w.addArray('alpha', wholeArrays.alpha);
  await w.close();
}

describe.skipIf(!hasNumpy())('we write, NumPy and zipfile read', () => {
  const tmp = tempDir('mmmi-formats-npz-write-');

  it('np.load reads every variant exactly, testzip finds no error, each entry is byte-identical to np.save', async () => {
    const manifest: Record<string, string> = {};
    const add = (label: string) => (manifest[label] = join(tmp, `${label}.npz`));
    await writeNpz(add('whole_stored'), wholeArrays);
    await writeNpz(add('whole_compressed'), wholeArrays, { compress: true });
    await writeNpz(add('whole_stored_zip64'), wholeArrays, { zip64: 'always' });
    await writeNpz(add('whole_compressed_zip64'), wholeArrays, { compress: true, zip64: 'always' });
    await writeStreamed(add('streamed_stored'), false, 'auto');
    await writeStreamed(add('streamed_compressed'), true, 'auto');
    await writeStreamed(add('streamed_stored_zip64'), false, 'always');
    await writeStreamed(add('streamed_compressed_zip64'), true, 'always');
    const manifestPath = join(tmp, 'manifest.json');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const got = JSON.parse(runPython(NUMPY_READS, [manifestPath])) as Record<
      string,
      { testzip: string | null; zip64_locator: boolean; arrays: Record<string, Record<string, unknown>> }
    >;

    const describeInput = (a: NpyInput | NpyUnicodeInput, dtype: string) =>
      Array.isArray(a.data)
        ? { dtype, shape: [...a.shape], same_bytes_as_np_save: true, strings: a.data }
        : { dtype, shape: [...a.shape], same_bytes_as_np_save: true, sha: sha256(a.data as ArrayBufferView) };
    const wholeDtypes: Record<string, string> = {
      f8: '<f8',
      f4: '<f4',
      i4: '<i4',
      u8: '<u8',
      b1: '|b1',
      MI_labels: '<U9',
      labels_2d: '<U7',
      alpha: '<f8',
      empty: '<i4',
    };
    for (const [label, res] of Object.entries(got)) {
      expect({ label, testzip: res.testzip, zip64: res.zip64_locator }).toEqual({ label, testzip: null, zip64: label.endsWith('zip64') });
      if (label.startsWith('whole')) {
        expect(Object.keys(res.arrays)).toEqual(Object.keys(wholeArrays));
        for (const [k, a] of Object.entries(wholeArrays)) expect({ label, k, ...res.arrays[k] }).toEqual({ label, k, ...describeInput(a, wholeDtypes[k]) });
      } else {
        expect(Object.keys(res.arrays)).toEqual(['MI_labels', 'images', 'empty_streamed', 'alpha']);
        expect(res.arrays.images).toEqual({ dtype: '<f4', shape: [1500, 1000], same_bytes_as_np_save: true, sha: sha256(streamedF4) });
        expect(res.arrays.empty_streamed).toMatchObject({ dtype: '<f8', shape: [0], same_bytes_as_np_save: true });
        expect(res.arrays.MI_labels).toMatchObject({ strings: wholeArrays.MI_labels.data });
      }
    }

    // and we read back what we wrote
    for (const path of Object.values(manifest)) {
      const m = await readNpz(path);
      expect(m.get('MI_labels')!.data).toEqual(wholeArrays.MI_labels.data);
      if (m.has('images')) expect(hex(m.get('images')!.data as Float32Array) === hex(streamedF4)).toBe(true);
    }

    // Info-ZIP's unzip, an independent implementation, where installed
    if (spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0) {
      for (const path of Object.values(manifest)) {
        const r = spawnSync('unzip', ['-tq', path], { encoding: 'utf8' });
        expect({ path, status: r.status, out: r.stdout.trim() }).toEqual({ path, status: 0, out: expect.stringMatching(/^No errors detected/) });
      }
    }
  });
});
