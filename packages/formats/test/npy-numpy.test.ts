/** Cross-checks against NumPy itself: NumPy writes → we read, we write → NumPy reads. */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNumpy, runPython, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy, readNpySync, writeNpy, writeNpySync, type NpyInput } from '../src/index.js';
import { hex, list } from './helpers.js';

interface Expected {
  file: string;
  dtype: string;
  shape: number[];
  hex: string;
  fortran: boolean;
  version: number;
}

const NUMPY_WRITES = String.raw`
import json, os, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(20240611)
cases = {}

def canonical(a):
    # The dtype name we promise to report: little-endian after byte-swapping.
    return a.dtype.str if a.dtype.itemsize == 1 else a.dtype.newbyteorder('<').str

def c_order_le_hex(a):
    dt = a.dtype if a.dtype.itemsize == 1 else a.dtype.newbyteorder('<')
    return np.ascontiguousarray(a, dtype=dt).tobytes(order='C').hex()

def add(name, a, version=None):
    p = os.path.join(d, name + '.npy')
    if version is None:
        np.save(p, a)
    else:
        with open(p, 'wb') as f:
            np.lib.format.write_array(f, a, version=version)
    with open(p, 'rb') as f:
        file_version = f.read(8)[6]
    cases[name] = dict(file=p, dtype=canonical(a), shape=list(a.shape), hex=c_order_le_hex(a),
                       fortran=bool(a.flags.f_contiguous and not a.flags.c_contiguous), version=file_version)

# many significant digits over the whole exponent range
add('f8_2d', rng.standard_normal((3, 4)) * 10.0 ** rng.integers(-300, 300, (3, 4)))
add('f8_special', np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 2.2250738585072014e-308,
                            np.finfo(np.float64).max, np.pi, 1 / 3, 0.1 + 0.2]))
add('f4_1d', (rng.standard_normal(7) * 1e30).astype(np.float32))
add('i8', np.array([np.iinfo(np.int64).min, -1, 0, 1, 2**53 + 1, np.iinfo(np.int64).max], dtype=np.int64))
add('u8', np.array([0, 1, 2**53 + 1, 2**63, 2**64 - 1], dtype=np.uint64))
add('i4', rng.integers(-2**31, 2**31, (2, 3, 4), dtype=np.int32))
add('u4', np.array([0, 2**32 - 1, 123456789], dtype=np.uint32))
add('i2', np.array([-32768, -1, 0, 32767], dtype=np.int16).reshape(2, 2))
add('u2', np.array([0, 65535, 1234], dtype=np.uint16))
add('i1', np.array([-128, -1, 0, 127], dtype=np.int8))
add('u1', np.arange(256, dtype=np.uint8).reshape(16, 16))
add('b1', np.array([[True, False, True], [False, False, True]]))
add('scalar_f8', np.array(np.pi))
add('scalar_i4', np.array(-7, dtype=np.int32))
add('empty_1d', np.zeros((0,)))
add('empty_3d', np.zeros((2, 0, 3), dtype=np.float32))
add('empty_fortran', np.asfortranarray(np.zeros((0, 3))))
add('fortran_f8_3d', np.asfortranarray(rng.standard_normal((2, 3, 4))))
add('fortran_i2_2d', np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)))
add('fortran_u1_4d', np.asfortranarray(np.arange(120, dtype=np.uint8).reshape(2, 3, 4, 5)))
add('fortran_i8_2d', np.asfortranarray(np.array([[-2**63, 1, 2], [3, 4, 2**63 - 1]], dtype=np.int64)))
add('fortran_b1_2d', np.asfortranarray(rng.random((5, 3)) > 0.5))
add('fortran_be_f8', np.asfortranarray(rng.standard_normal((3, 5)).astype('>f8')))
add('be_f8', rng.standard_normal((2, 5)).astype('>f8'))
add('be_f4', rng.standard_normal(6).astype('>f4'))
add('be_i4', rng.integers(-2**31, 2**31, 9, dtype=np.int32).astype('>i4'))
add('be_i8', np.array([-2**63, -2, 2**62 + 3], dtype='>i8'))
add('be_u2', np.array([1, 258, 65535], dtype='>u2'))
add('be_scalar_f8', np.array(np.e, dtype='>f8'))
add('strided_view', rng.standard_normal((4, 6))[:, ::2])
add('v2_f8', rng.standard_normal((3, 2)), version=(2, 0))
add('v3_i4', np.arange(10, dtype=np.int32).reshape(2, 5), version=(3, 0))
add('v2_fortran', np.asfortranarray(rng.standard_normal((2, 3))), version=(2, 0))
add('large_f8', rng.standard_normal(200_000))
print(json.dumps(cases))
`;

describe.skipIf(!hasNumpy())('NumPy writes, we read', () => {
  const tmp = tempDir('mmmi-formats-npy-read-');
  let cases: Record<string, Expected> = {};

  beforeAll(() => {
    cases = JSON.parse(runPython(NUMPY_WRITES, [tmp])) as Record<string, Expected>;
  });

  it('produced the intended variety of files', () => {
    const all = Object.values(cases);
    expect(all.length).toBeGreaterThan(30);
    expect(all.filter((c) => c.fortran).length).toBeGreaterThanOrEqual(6);
    expect(new Set(all.map((c) => c.version))).toEqual(new Set([1, 2, 3]));
  });

  it('reads every case bit-exactly in C order', () => {
    for (const [name, c] of Object.entries(cases)) {
      const a = readNpySync(c.file);
      expect({ name, dtype: a.dtype, shape: a.shape }).toEqual({ name, dtype: c.dtype, shape: c.shape });
      expect(hex(a.data), name).toBe(c.hex);
    }
  });

  it('async readNpy agrees with the sync reader', async () => {
    for (const c of Object.values(cases)) {
      const a = await readNpy(c.file);
      expect(hex(a.data)).toBe(c.hex);
    }
  });

  it('reads spot values as the right JS types', () => {
    const i8 = readNpySync(cases.i8.file);
    expect(i8.dtype).toBe('<i8');
    if (i8.dtype === '<i8') expect(list(i8.data)).toEqual([-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]);
    const scalar = readNpySync(cases.scalar_f8.file);
    expect(scalar.shape).toEqual([]);
    expect(list(scalar.data)).toEqual([Math.PI]);
    const f = readNpySync(cases.fortran_i2_2d.file);
    expect(list(f.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const b = readNpySync(cases.b1.file);
    expect(list(b.data)).toEqual([1, 0, 1, 0, 0, 1]);
  });
});

const NUMPY_READS = String.raw`
import io, json, sys
import numpy as np
cases = json.load(open(sys.argv[1]))
out = {}
for name, c in cases.items():
    a = np.load(c['file'])
    again = io.BytesIO()
    np.save(again, a)
    out[name] = dict(dtype=a.dtype.str, shape=list(a.shape), hex=a.tobytes().hex(),
                     c_contiguous=bool(a.flags.c_contiguous),
                     same_bytes_as_np_save=open(c['file'], 'rb').read() == again.getvalue())
print(json.dumps(out))
`;

const f8Values = [Math.PI, -Math.E, 1 / 3, 0.1 + 0.2, NaN, Infinity, -Infinity, -0, 5e-324, 1e-310, Number.MAX_VALUE, 1.2345678901234567e-200];

// [input, the dtype NumPy must report]
const weWrite: Record<string, [NpyInput, string]> = {
  f8_1d: [{ shape: [f8Values.length], data: Float64Array.from(f8Values) }, '<f8'],
  f8_3d: [{ shape: [2, 3, 2], data: Float64Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * 10 ** (i * 25 - 150)) }, '<f8'],
  f4_2d: [{ shape: [2, 2], data: Float32Array.from([Math.PI, -1e-40, 3.4e38, NaN]) }, '<f4'],
  i8: [{ shape: [4], data: BigInt64Array.from([-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n]) }, '<i8'],
  u8: [{ shape: [2, 1], data: BigUint64Array.from([0n, 2n ** 64n - 1n]) }, '<u8'],
  i4: [{ shape: [3], data: Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1]) }, '<i4'],
  u4: [{ shape: [3], data: Uint32Array.from([0, 1, 2 ** 32 - 1]) }, '<u4'],
  i2: [{ shape: [1, 4], data: Int16Array.from([-32768, -1, 1, 32767]) }, '<i2'],
  u2: [{ shape: [2], data: Uint16Array.from([0, 65535]) }, '<u2'],
  i1: [{ shape: [4], data: Int8Array.from([-128, -1, 1, 127]) }, '|i1'],
  u1: [{ shape: [2, 2, 2], data: Uint8Array.from([0, 1, 2, 3, 252, 253, 254, 255]) }, '|u1'],
  b1: [{ shape: [5], data: Uint8Array.from([1, 0, 0, 1, 1]), dtype: '|b1' }, '|b1'],
  buffer_as_u1: [{ shape: [3], data: Buffer.from([7, 8, 9]) }, '|u1'],
  subarray_view: [{ shape: [2, 2], data: new Float64Array([9, 1, 2, 3, 4, 9]).subarray(1, 5) }, '<f8'],
  scalar: [{ shape: [], data: Float64Array.from([Math.E]) }, '<f8'],
  empty: [{ shape: [0], data: new Float64Array(0) }, '<f8'],
  empty_2d: [{ shape: [3, 0], data: new Int32Array(0) }, '<i4'],
  wide_first_axis: [{ shape: [123456, 1], data: new Float32Array(123456).map((_, i) => i / 7) }, '<f4'],
  many_dims: [{ shape: [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2], data: new Int16Array(64).map((_, i) => i - 32) }, '<i2'],
};

describe.skipIf(!hasNumpy())('we write, NumPy reads', () => {
  const tmp = tempDir('mmmi-formats-npy-write-');

  it('np.load returns identical dtype, shape and bits, and np.save would write identical bytes', async () => {
    const manifest: Record<string, { file: string }> = {};
    let i = 0;
    for (const [name, [array]] of Object.entries(weWrite)) {
      const file = join(tmp, `${name}.npy`);
      // exercise both writers
      if (i++ % 2 === 0) await writeNpy(file, array);
      else writeNpySync(file, array);
      manifest[name] = { file };
    }
    expect(readdirSync(tmp).filter((f) => !f.endsWith('.npy'))).toEqual([]);
    const manifestPath = join(tmp, 'manifest.json');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const got = JSON.parse(runPython(NUMPY_READS, [manifestPath])) as Record<string, Record<string, unknown>>;
    for (const [name, [array, dtype]] of Object.entries(weWrite)) {
      expect({ name, ...got[name] }).toEqual({
        name,
        dtype,
        shape: [...array.shape],
        hex: hex(array.data),
        c_contiguous: true,
        same_bytes_as_np_save: true,
      });
    }
  });
});
