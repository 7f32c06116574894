/** .npz and unicode .npy self-consistency, without Python. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import {
  encodeNpy,
  FormatError,
  isUnicodeArray,
  NpzWriter,
  parseNpy,
  parseNpyAny,
  parseNpz,
  readNpz,
  readNpzSync,
  readZip,
  requireDtype,
  writeNpz,
} from '../src/index.js';
import { hex, list } from './helpers.js';
import { craftZip } from './zipcraft.js';

describe('unicode .npy', () => {
  it('round-trips strings of any code point, inferring the width as NumPy does', () => {
    const labels = ['I(X_1; θ)', '', 'a\u0000b', '😀 astral', '\ud800 lone surrogate', 'x'.repeat(40)];
    const bytes = encodeNpy({ shape: [2, 3], data: labels });
    const a = parseNpyAny(bytes);
    expect(a.dtype).toBe('<U40');
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toEqual(labels);
    expect(isUnicodeArray(a)).toBe(true);
    expect(requireDtype(a, '<U').data[0]).toBe('I(X_1; θ)');
    expect(() => requireDtype(a, '<f8', 'l.npy')).toThrow(/expected dtype <f8, found <U40/);
  });

  it('stores UTF-32LE, NUL-padded to the given width', () => {
    const bytes = encodeNpy({ shape: [2], data: ['ab', 'θ'], dtype: '<U3' });
    expect(new TextDecoder('latin1').decode(bytes.subarray(10, 60))).toContain("'descr': '<U3'");
    expect(hex(bytes.subarray(bytes.length - 24))).toBe('610000006200000000000000b803000000000000' + '00000000');
    expect(parseNpyAny(bytes).data).toEqual(['ab', 'θ']);
    expect(() => encodeNpy({ shape: [1], data: ['abcd'], dtype: '<U3' })).toThrow(/element 0 has 4 code points, more than <U3/);
    expect(() => encodeNpy({ shape: [2], data: ['a'] })).toThrow(/2 elements, data has 1/);
    expect(() => encodeNpy({ shape: [], data: ['scalar'] })).not.toThrow();
    expect(parseNpyAny(encodeNpy({ shape: [], data: ['scalar'] }))).toEqual({ dtype: '<U6', shape: [], data: ['scalar'] });
  });

  it('parseNpy (numeric only) points to parseNpyAny', () => {
    const bytes = encodeNpy({ shape: [1], data: ['a'] });
    expect(() => parseNpy(bytes, 'l.npy')).toThrow(/unsupported dtype '<U1': unicode string arrays are returned by parseNpyAny/);
  });

  it('rejects code points beyond U+10FFFF and truncated data', () => {
    const bytes = Buffer.from(encodeNpy({ shape: [1], data: ['a'] }));
    bytes.writeUInt32LE(0x110000, bytes.length - 4);
    expect(() => parseNpyAny(bytes, 'u.npy')).toThrow(FormatError);
    expect(() => parseNpyAny(bytes.subarray(0, bytes.length - 1), 'u.npy')).toThrow(/truncated data/);
  });
});

describe('.npz write → read', () => {
  const tmp = tempDir('mmmi-formats-npz-');

  const arrays = {
    images: { shape: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i / 3) },
    z: { shape: [5, 2], data: Float64Array.from({ length: 10 }, (_, i) => Math.sin(i) * 1e-300) },
    idx: { shape: [3], data: Int32Array.of(-1, 0, 2 ** 31 - 1) },
    big: { shape: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) },
    mask: { shape: [3], data: Uint8Array.of(1, 0, 1), dtype: '|b1' as const },
    MI_labels: { shape: [2], data: ['I(X_1; θ)', 'I(X_1, X_2; θ)'] },
    alpha: { shape: [], data: Float64Array.of(1.2) },
    empty: { shape: [0, 3], data: new Float64Array(0) },
  };

  for (const compress of [false, true]) {
    it(`writeNpz(compress: ${compress}) → readNpz returns every array exactly, in order`, async () => {
      const path = join(tmp, `w-${compress}.npz`);
      await writeNpz(path, arrays, { compress });
      const m = await readNpz(path);
      expect([...m.keys()]).toEqual(Object.keys(arrays));
      for (const [k, v] of Object.entries(arrays)) {
        const got = m.get(k)!;
        expect({ k, shape: got.shape }).toEqual({ k, shape: v.shape });
        if (Array.isArray(v.data)) expect(got.data).toEqual(v.data);
        else expect(hex(got.data as ArrayBufferView)).toBe(hex(v.data));
      }
      expect(m.get('mask')!.dtype).toBe('|b1');
      expect(list(requireDtype(m.get('alpha')!, '<f8').data)).toEqual([1.2]);
      expect(readNpzSync(path).size).toBe(m.size);
      const methods = readZip(readFileSync(path)).entries.map((e) => e.method);
      expect(new Set(methods)).toEqual(new Set([compress ? 8 : 0]));
    });
  }

  it('NpzWriter streams an array in chunks and checks the total against the shape', async () => {
    const path = join(tmp, 'stream.npz');
    const w = await NpzWriter.create(path, { compress: true });
    await w.addArray('first', arrays.idx);
    const s = await w.beginArray('x', { dtype: '<f8', shape: [1000, 3] });
    const chunk = new Float64Array(700);
    let next = 0;
    while (s.written < 2800) {
      for (let i = 0; i < chunk.length; i++) chunk[i] = next + i;
      await s.write(chunk);
      next += chunk.length;
    }
    await expect(s.write(new Float64Array(201))).rejects.toThrow(/holds 3000 elements; 2800 written, 201 more given/);
    await expect(s.write(new Float32Array(2))).rejects.toThrow(/dtype <f8 does not match the data \(<f4\)/);
    await expect(s.end()).rejects.toThrow(/needs 3000 elements, only 2800 were written/);
    await expect(w.close()).rejects.toThrow(/still open/);
    await s.write(Float64Array.from({ length: 200 }, (_, i) => 2800 + i));
    await s.end();
    const b = await w.beginArray('flags', { dtype: '|b1', shape: [4] });
    await expect(b.write(Uint8Array.of(0, 2))).rejects.toThrow(/only 0 and 1/);
    await b.write(Uint8Array.of(0, 1, 1, 0));
    await b.end();
    await expect(w.beginArray('bad', { dtype: '<f2' as '<f4', shape: [1] })).rejects.toThrow(/unsupported dtype '<f2'/);
    await expect(w.beginArray('bad', { dtype: '<f4', shape: [-1] })).rejects.toThrow(/non-negative/);
    expect(existsSync(path)).toBe(false);
    await w.close();
    const m = await readNpz(path);
    expect([...m.keys()]).toEqual(['first', 'x', 'flags']);
    const x = requireDtype(m.get('x')!, '<f8');
    expect(x.shape).toEqual([1000, 3]);
    expect(x.data.every((v, i) => v === i)).toBe(true);
    expect(list(requireDtype(m.get('flags')!, '|b1').data)).toEqual([0, 1, 1, 0]);
  });

  it('a failed writeNpz leaves nothing behind', async () => {
    const path = join(tmp, 'fail.npz');
    await expect(writeNpz(path, { a: arrays.idx, b: { shape: [2], data: new Float64Array(3) } })).rejects.toThrow(/2 elements, data has 3/);
    expect(readdirSync(tmp).filter((f) => f.includes('fail'))).toEqual([]);
  });

  it('skips entries that are not .npy, as arrays go; reads duplicates once (the last copy)', () => {
    const npy = (v: number) => encodeNpy({ shape: [1], data: Float64Array.of(v) });
    const bytes = craftZip([
      { name: 'README.txt', data: new TextEncoder().encode('hello') },
      { name: 'a.npy', data: npy(1) },
      { name: 'a.npy', data: npy(2) },
      { name: 'dir/', data: new Uint8Array(0) },
    ]);
    const m = parseNpz(bytes);
    expect([...m.keys()]).toEqual(['a']);
    expect(list(requireDtype(m.get('a')!, '<f8').data)).toEqual([2]);
  });
});
