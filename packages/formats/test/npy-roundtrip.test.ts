/** Self-consistency that needs no Python: encode → parse for every dtype, header layout, atomic writes. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, readNpy, readNpySync, writeNpy, writeNpySync, type NpyInput } from '../src/index.js';
import { hex, list } from './helpers.js';

const inputs: [string, NpyInput][] = [
  ['<f8', { shape: [2, 3], data: Float64Array.from([Math.PI, NaN, -0, Infinity, 5e-324, -1e308]) }],
  ['<f4', { shape: [3], data: Float32Array.from([1.5, -2.25, NaN]) }],
  ['<i8', { shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) }],
  ['<u8', { shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) }],
  ['<i4', { shape: [2, 2], data: Int32Array.from([-1, 2, -3, 4]) }],
  ['<u4', { shape: [2], data: Uint32Array.from([0, 2 ** 32 - 1]) }],
  ['<i2', { shape: [2], data: Int16Array.from([-32768, 32767]) }],
  ['<u2', { shape: [2], data: Uint16Array.from([0, 65535]) }],
  ['|i1', { shape: [2], data: Int8Array.from([-128, 127]) }],
  ['|u1', { shape: [2], data: Uint8Array.from([0, 255]) }],
  ['|b1', { shape: [3], data: Uint8Array.from([1, 0, 1]), dtype: '|b1' }],
  ['<f8', { shape: [], data: Float64Array.from([42]) }],
  ['<f8', { shape: [0, 5], data: new Float64Array(0) }],
];

describe('encodeNpy → parseNpy', () => {
  it('round-trips every dtype bit-exactly', () => {
    for (const [dtype, input] of inputs) {
      const a = parseNpy(encodeNpy(input));
      expect({ dtype: a.dtype, shape: a.shape }).toEqual({ dtype, shape: [...input.shape] });
      expect(a.data.constructor).toBe(input.data.constructor);
      expect(hex(a.data)).toBe(hex(input.data));
    }
  });

  it('returns detached, aligned copies even from an odd offset', () => {
    const bytes = encodeNpy({ shape: [2], data: Float64Array.from([1, 2]) });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const a = parseNpy(shifted.subarray(1));
    shifted.fill(0);
    expect(list(a.data)).toEqual([1, 2]);
    expect(a.data.byteOffset).toBe(0);
  });

  it('uses a version 1.0 header aligned to 64 bytes', () => {
    for (const [, input] of inputs) {
      const bytes = encodeNpy(input);
      expect(bytes[6]).toBe(1);
      const headerEnd = 10 + (bytes[8] | (bytes[9] << 8));
      expect(headerEnd % 64).toBe(0);
      expect(bytes[headerEnd - 1]).toBe(0x0a);
    }
  });

  it('switches to version 2.0 only when the header exceeds 65535 bytes', () => {
    const shape = new Array<number>(22000).fill(1); // "1, " × 22000 ≈ 66 kB of header
    const bytes = encodeNpy({ shape, data: Float64Array.from([7]) });
    expect(bytes[6]).toBe(2);
    const headerEnd = 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
    expect(headerEnd % 64).toBe(0);
    const a = parseNpy(bytes);
    expect(a.shape).toEqual(shape);
    expect(list(a.data)).toEqual([7]);
  });

  it('rejects inconsistent input before writing anything', () => {
    expect(() => encodeNpy({ shape: [2, 2], data: new Float64Array(3) })).toThrow(/4 elements, data has 3/);
    expect(() => encodeNpy({ shape: [-1], data: new Float64Array(0) })).toThrow(/non-negative integers/);
    expect(() => encodeNpy({ shape: [1.5], data: new Float64Array(1) })).toThrow(/non-negative integers/);
    expect(() => encodeNpy({ shape: [1], data: new Float32Array(1), dtype: '<f8' })).toThrow(/does not match/);
    expect(() => encodeNpy({ shape: [1], data: Uint8Array.from([2]), dtype: '|b1' })).toThrow(/only 0 and 1/);
    expect(() => encodeNpy({ shape: [1], data: new Uint8ClampedArray(1) as unknown as Uint8Array })).toThrow(/unsupported data type/);
  });

  it('reads bool bytes other than 0/1 as 1 (NumPy treats any nonzero byte as True)', () => {
    const bytes = encodeNpy({ shape: [3], data: Uint8Array.from([0, 1, 1]), dtype: '|b1' });
    bytes[bytes.length - 1] = 7;
    expect(list(parseNpy(bytes).data)).toEqual([0, 1, 1]);
  });
});

describe('writeNpy', () => {
  const tmp = tempDir('mmmi-formats-npy-atomic-');

  it('writes, replaces, and leaves no temp files', async () => {
    const p = join(tmp, 'a.npy');
    await writeNpy(p, { shape: [2], data: Float64Array.from([1, 2]) });
    expect(list((await readNpy(p)).data)).toEqual([1, 2]);
    writeNpySync(p, { shape: [1], data: Int32Array.from([9]) });
    const b = readNpySync(p);
    expect(b.dtype).toBe('<i4');
    expect(list(b.data)).toEqual([9]);
    expect(readdirSync(tmp)).toEqual(['a.npy']);
  });

  it('leaves an existing file untouched when encoding fails', async () => {
    const p = join(tmp, 'keep.npy');
    writeFileSync(p, 'old');
    await expect(writeNpy(p, { shape: [3], data: new Float64Array(2) })).rejects.toThrow(/3 elements/);
    expect(() => writeNpySync(p, { shape: [3], data: new Float64Array(2) })).toThrow(/3 elements/);
    expect(readFileSync(p, 'utf8')).toBe('old');
  });

  it('fails cleanly when the destination cannot be written', async () => {
    const missing = join(tmp, 'no-such-dir', 'x.npy');
    await expect(writeNpy(missing, { shape: [1], data: new Float64Array(1) })).rejects.toMatchObject({ code: 'ENOENT' });
    // rename onto a directory fails after the temp file exists: the temp must be removed
    const dirTarget = join(tmp, 'is-a-dir');
    mkdirSync(join(dirTarget, 'child'), { recursive: true });
    await expect(writeNpy(dirTarget, { shape: [1], data: new Float64Array(1) })).rejects.toThrow();
    expect(() => writeNpySync(dirTarget, { shape: [1], data: new Float64Array(1) })).toThrow();
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(dirTarget, 'child'))).toBe(true);
  });
});
