/**
 * NpzFile, the lazy .npz reader: arrays as readNpz/np.load give them, element ranges of
 * stored arrays equal to the same slices of np.load, and files past 4 GiB (sparse).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNumpy, runPython, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { encodeNpy, FormatError, NpzFile, NpzWriter, readNpz, writeNpz, type NpyData } from '../src/index.js';
import { hex } from './helpers.js';
import { encodeHeader } from '../src/npy.js';
import { craftZip, writeSparseZip64 } from './zipcraft.js';

const tmp = tempDir('mmmi-formats-npzfile-');

/** Slices [start, start + count) of every stored C-order numeric array, asked of np.load. */
const SLICES: [string, number, number][] = [
  ['f4', 0, 15],
  ['f4', 4, 7],
  ['f8', 5, 10],
  ['i4', 10, 1],
  ['i8', 1, 1],
  ['b1', 2, 6],
  ['u1', 3, 400],
  ['big_endian', 1, 3],
  ['alpha', 0, 1],
  ['empty', 0, 0],
  ['large', 299_990, 10],
  ['large', 123_456, 1000],
];

const NUMPY_WRITES = String.raw`
import json, os, sys, zipfile, io
import numpy as np
d = sys.argv[1]
slices = json.loads(sys.argv[2])
rng = np.random.default_rng(3)
arrays = dict(
    f4=rng.standard_normal((3, 5)).astype(np.float32),
    f8=rng.standard_normal((4, 2, 3)),
    i4=rng.integers(-2**31, 2**31, 11, dtype=np.int32),
    i8=np.array([-2**63, 2**63 - 1], dtype=np.int64),
    b1=rng.random(9) > 0.5,
    u1=rng.integers(0, 256, (7, 100), dtype=np.uint8),
    labels=np.array(['I(X_1; θ)', 'h(😀)']),
    alpha=np.array(1.25),
    empty=np.zeros((0, 3)),
    fortran=np.asfortranarray(rng.standard_normal((3, 4))),
    big_endian=rng.standard_normal(5).astype('>f8'),
    large=rng.standard_normal(300_000).astype(np.float32),
)
np.savez(os.path.join(d, 'stored.npz'), **arrays)
np.savez_compressed(os.path.join(d, 'compressed.npz'), **arrays)
# Python's zipfile with ZIP64 forced on every member
with zipfile.ZipFile(os.path.join(d, 'zip64.npz'), 'w') as z:
    for k, v in arrays.items():
        b = io.BytesIO(); np.save(b, v)
        with z.open(k + '.npy', 'w', force_zip64=True) as f:
            f.write(b.getvalue())
loaded = np.load(os.path.join(d, 'stored.npz'))
def le(a):
    return a.astype(a.dtype.newbyteorder('<')) if a.dtype.itemsize > 1 else a
out = [le(loaded[k]).ravel(order='C')[s:s + n].tobytes().hex() for k, s, n in slices]
print(json.dumps(out))
`;

const dataHex = (d: NpyData) => hex(d);

describe.skipIf(!hasNumpy())('files written by NumPy', () => {
  let expected: string[] = [];
  const file = (name: string) => join(tmp, name);
  it('writes them', () => {
    expected = JSON.parse(runPython(NUMPY_WRITES, [tmp, JSON.stringify(SLICES)]));
  });

  for (const name of ['stored.npz', 'compressed.npz', 'zip64.npz']) {
    it(`${name}: headers only at open(); read() equals readNpz`, async () => {
      const whole = await readNpz(file(name));
      const npz = await NpzFile.open(file(name));
      try {
        expect([...npz.arrays.keys()]).toEqual([...whole.keys()]);
        for (const [k, a] of whole) {
          const info = npz.arrays.get(k)!;
          expect({ name: info.name, dtype: info.dtype, shape: info.shape }).toEqual({ name: k, dtype: a.dtype, shape: a.shape });
          expect(info.stored).toBe(name !== 'compressed.npz');
          expect(info.fortranOrder).toBe(k === 'fortran');
          const bytesPer = a.dtype.startsWith('<U') ? 4 * Number(a.dtype.slice(2)) : (a.data as NpyData).BYTES_PER_ELEMENT;
          expect(info.byteLength).toBe(a.shape.reduce((p, d) => p * d, 1) * bytesPer);
          const r = await npz.read(k);
          expect([r.dtype, r.shape]).toEqual([a.dtype, a.shape]);
          // typed arrays compared as hex: vitest's deep equality is slow on 300 000 elements
          if (Array.isArray(a.data)) expect(r.data).toEqual(a.data);
          else expect(hex(r.data as NpyData)).toBe(hex(a.data));
        }
      } finally {
        await npz.close();
      }
    });
  }

  for (const name of ['stored.npz', 'zip64.npz']) {
    it(`${name}: readElements equals the slices of np.load`, async () => {
      const npz = await NpzFile.open(file(name));
      try {
        const got = await Promise.all(SLICES.map(([k, s, n]) => npz.readElements(k, s, n)));
        expect(got.map(dataHex)).toEqual(expected);
        expect(await npz.readElements('b1', 0, 9)).toBeInstanceOf(Uint8Array);
        expect(await npz.readElements('i8', 0, 2)).toEqual(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
        expect(await npz.readElements('big_endian', 0, 5)).toEqual((await npz.read('big_endian')).data);
      } finally {
        await npz.close();
      }
    });
  }

  it('clear errors: compressed, Fortran order, strings, ranges, unknown keys', async () => {
    const c = await NpzFile.open(file('compressed.npz'));
    try {
      await expect(c.readElements('f4', 0, 1)).rejects.toThrow(/'f4' .* is compressed \(np\.savez_compressed\).*use read\(\)/);
    } finally {
      await c.close();
    }
    const s = await NpzFile.open(file('stored.npz'));
    try {
      await expect(s.readElements('fortran', 0, 1)).rejects.toThrow(/Fortran order/);
      await expect(s.readElements('labels', 0, 1)).rejects.toThrow(/holds strings \(<U9\); use read\(\)/);
      await expect(s.readElements('f4', 10, 6)).rejects.toThrow(RangeError);
      await expect(s.readElements('f4', -1, 1)).rejects.toThrow(RangeError);
      await expect(s.readElements('nope', 0, 1)).rejects.toThrow(/no array 'nope' \(arrays: f4, f8, /);
      await expect(s.read('nope')).rejects.toThrow(/no array 'nope'/);
    } finally {
      await s.close();
    }
  });
});

describe('files written by NpzWriter', () => {
  it('streamed, ZIP64 forced: elements across chunk boundaries; np.load agrees', async () => {
    const path = join(tmp, 'streamed.npz');
    const w = await NpzWriter.create(path, { zip64: 'always' });
    await w.addArray('MI_labels', { shape: [2], data: ['a', 'θ'] });
    const s = await w.beginArray('X', { dtype: '<f4', shape: [6, 2, 3, 4, 5] });
    const all = Float32Array.from({ length: 6 * 120 }, (_, i) => i / 7);
    for (let i = 0; i < 6; i++) await s.write(all.subarray(i * 120, (i + 1) * 120));
    await s.end();
    await w.close();
    const npz = await NpzFile.open(path);
    try {
      expect(npz.arrays.get('X')).toEqual({ name: 'X', dtype: '<f4', shape: [6, 2, 3, 4, 5], fortranOrder: false, stored: true, byteLength: 720 * 4 });
      expect(await npz.readElements('X', 100, 300)).toEqual(all.subarray(100, 400));
      expect(await npz.readElements('X', 0, 720)).toEqual(all);
      expect((await npz.read('MI_labels')).data).toEqual(['a', 'θ']);
    } finally {
      await npz.close();
    }
    expect(await NpzFile.keys(path)).toEqual(['MI_labels', 'X']);
    if (hasNumpy()) {
      const out = runPython(`import sys, numpy as np; x = np.load(sys.argv[1])['X']; print(x.ravel()[100:400].tobytes().hex())`, [path]);
      expect(out.trim()).toBe(hex(all.subarray(100, 400)));
    }
  });
});

describe('hostile input', () => {
  it('a truncated file, a bad member header, a member too short for its shape', async () => {
    const path = join(tmp, 'good.npz');
    await writeNpz(path, { a: { shape: [100], data: new Float64Array(100) } });
    const bytes = readFileSync(path);
    const cut = join(tmp, 'cut.npz');
    for (const n of [0, 10, 100, bytes.length - 30, bytes.length - 1]) {
      writeFileSync(cut, bytes.subarray(0, n));
      await expect(NpzFile.open(cut)).rejects.toThrow(FormatError);
    }
    const badHeader = join(tmp, 'badheader.npz');
    writeFileSync(badHeader, craftZip([{ name: 'a.npy', data: Buffer.from('\x93NUMPY\x01\x00\x04\x00{}  ', 'latin1') }]));
    await expect(NpzFile.open(badHeader)).rejects.toThrow(/npy file .*badheader\.npz\/a\.npy: header keys/);
    const short = join(tmp, 'short.npz');
    writeFileSync(short, craftZip([{ name: 'a.npy', data: encodeNpy({ shape: [10], data: new Float64Array(10) }).subarray(0, 128 + 40) }]));
    const npz = await NpzFile.open(short);
    try {
      await expect(npz.readElements('a', 0, 1)).rejects.toThrow(/truncated data: shape \(10\) of <f8 needs 80 bytes, file has 40/);
      await expect(npz.read('a')).rejects.toThrow(/truncated data/);
    } finally {
      await npz.close();
    }
  });
});

describe('beyond 4 GiB (sparse file)', () => {
  it('reads the headers and element ranges of a 5 GiB stored array, and a member after it', async () => {
    const path = join(tmp, 'sparse.npz');
    const [rows, cols] = [1_310_720, 1024]; // float32: 5 GiB
    const header = encodeHeader('<f4', [rows, cols]);
    const last = Float32Array.from([1.5, -2.5, 3.5]);
    const labels = encodeNpy({ shape: [1], data: ['I(X; θ)'] });
    const bigSize = header.length + rows * cols * 4;
    writeSparseZip64(path, 'X.npy', header, bigSize, [[bigSize - 12, new Uint8Array(last.buffer)]], labels, 'MI_labels.npy');
    const npz = await NpzFile.open(path);
    try {
      expect(npz.arrays.get('X')).toEqual({ name: 'X', dtype: '<f4', shape: [rows, cols], fortranOrder: false, stored: true, byteLength: rows * cols * 4 });
      expect(await npz.readElements('X', rows * cols - 4, 4)).toEqual(Float32Array.from([0, 1.5, -2.5, 3.5]));
      expect(await npz.readElements('X', 0, 3)).toEqual(new Float32Array(3));
      expect(await npz.read('MI_labels')).toEqual({ dtype: '<U7', shape: [1], data: ['I(X; θ)'] });
      await expect(npz.read('X')).rejects.toThrow(/more than the 2147483648 that can be read into memory/);
    } finally {
      await npz.close();
    }
  });
});
