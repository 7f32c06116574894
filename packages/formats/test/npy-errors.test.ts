/** Malformed input must fail with a FormatError naming the file and the cause. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNumpy, runPython, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { encodeNpy, FormatError, parseNpy, readNpy, readNpySync, requireDtype } from '../src/index.js';
import { list } from './helpers.js';

/** Hand-made .npy bytes, so every malformation can be produced without NumPy. */
function craft(dict: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const text = Buffer.from(`${dict}\n`, major === 3 ? 'utf8' : 'latin1');
  const lenSize = major === 1 ? 2 : 4;
  const head = Buffer.alloc(8 + lenSize);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(head);
  if (major === 1) head.writeUInt16LE(text.length, 8);
  else head.writeUInt32LE(text.length, 8);
  return Buffer.concat([head, text, data]);
}

const f8Header = (shape: string, descr = '<f8', fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

function reasonOf(bytes: Uint8Array, file?: string): string {
  try {
    parseNpy(bytes, file);
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    const err = e as FormatError;
    expect(err.file).toBe(file);
    if (file !== undefined) expect(err.message).toContain(file);
    return err.reason;
  }
  throw new Error('expected parseNpy to throw');
}

describe('malformed .npy bytes', () => {
  const good = encodeNpy({ shape: [2, 3], data: Float64Array.from([1, 2, 3, 4, 5, 6]) });

  it('the crafting helper itself makes a readable file', () => {
    const a = parseNpy(craft(f8Header('(2,)'), new Uint8Array(new Float64Array([1.5, -2]).buffer)));
    expect(list(a.data)).toEqual([1.5, -2]);
    expect(parseNpy(craft(f8Header('(1,)'), new Uint8Array(8), 2)).shape).toEqual([1]);
    expect(parseNpy(craft(f8Header('(1,)'), new Uint8Array(8), 3)).shape).toEqual([1]);
  });

  it('truncated data names expected and actual sizes', () => {
    const r = reasonOf(good.subarray(0, good.length - 5), '/data/x.npy');
    expect(r).toMatch(/truncated data/);
    expect(r).toContain('48 bytes');
    expect(r).toContain('43');
  });

  it('truncated header', () => {
    expect(reasonOf(good.subarray(0, 40), 'a.npy')).toMatch(/truncated header/);
    expect(reasonOf(good.subarray(0, 9), 'a.npy')).toMatch(/truncated before the header length/);
    expect(reasonOf(good.subarray(0, 7), 'a.npy')).toMatch(/truncated before the format version/);
  });

  it('bad magic, with hints for zip and pickle', () => {
    expect(reasonOf(new TextEncoder().encode('hello world, not numpy'), 'h.npy')).toMatch(/bad magic bytes \[68 65 6c/);
    expect(reasonOf(new Uint8Array(0), 'e.npy')).toMatch(/bad magic bytes \[\(empty file\)\]/);
    expect(reasonOf(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0]), 'a.npz')).toMatch(/zip archive/);
    expect(reasonOf(Uint8Array.from([0x80, 4, 0x95, 0, 0, 0, 0, 0, 0]), 'p.pkl')).toMatch(/pickle/);
  });

  it('unsupported format version', () => {
    const b = craft(f8Header('(1,)'), new Uint8Array(8));
    b[6] = 4;
    expect(reasonOf(b)).toMatch(/version 4\.0/);
  });

  it('unsupported dtypes say why', () => {
    expect(reasonOf(craft(f8Header('(2,)', '|O'), new Uint8Array(16)), 'o.npy')).toMatch(/'\|O'.*pickle/);
    expect(reasonOf(craft(f8Header('(2,)', '<c16'), new Uint8Array(32)))).toMatch(/'<c16'.*complex/);
    expect(reasonOf(craft(f8Header('(2,)', '<U3'), new Uint8Array(24)))).toMatch(/'<U3'.*unicode/);
    expect(reasonOf(craft(f8Header('(2,)', '<M8[ns]'), new Uint8Array(16)))).toMatch(/datetime64/);
    expect(reasonOf(craft(f8Header('(2,)', '<f2'), new Uint8Array(4)))).toMatch(/float16/);
    expect(reasonOf(craft(f8Header('(2,)', '<f16'), new Uint8Array(32)))).toMatch(/unsupported dtype '<f16'/);
    expect(reasonOf(craft(f8Header('(2,)', '|f8'), new Uint8Array(16)))).toMatch(/byte order/);
    expect(reasonOf(craft(`{'descr': [('x', '<f8')], 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8)))).toMatch(/structured/);
  });

  it('bad header dicts', () => {
    const cases: [string, RegExp][] = [
      [`{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4}`, /not a valid Python literal.*expected ',' or '\)'/],
      [`{'descr': '<f8', 'fortran_order': False}`, /keys are \[descr, fortran_order\]/],
      [`{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}`, /keys are/],
      [`{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}`, /fortran_order/],
      [`{'descr': '<f8', 'fortran_order': False, 'shape': [2]}`, /'shape' is not a tuple/],
      [`{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}`, /'shape' is not a tuple of non-negative/],
      [`{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,)}`, /not a valid Python literal/],
      [`['descr', '<f8']`, /not a dict/],
      [`{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}`, /duplicate key/],
      [`{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} junk`, /trailing characters/],
      [`{'descr': 8, 'fortran_order': False, 'shape': (2,)}`, /'descr' is not a string/],
    ];
    for (const [dict, re] of cases) expect(reasonOf(craft(dict, new Uint8Array(16)), 'h.npy'), dict).toMatch(re);
  });

  it('accepts valid header variations NumPy also accepts', () => {
    const data = new Uint8Array(new Float64Array([1, 2]).buffer);
    const variants = [
      `{"descr": "<f8", "fortran_order": False, "shape": (2,)}`,
      `{'shape': (2L,), 'fortran_order': False, 'descr': '<f8'}`, // Python 2 long
      `{ 'descr' : '<f8' ,\t'fortran_order':False,'shape':( 2 , ) }   `,
      `{'descr': '<f8', 'fortran_order': True, 'shape': (2,)}`,
    ];
    for (const v of variants) expect(list(parseNpy(craft(v, data)).data), v).toEqual([1, 2]);
    const scalar = parseNpy(craft(`{'descr': '<i4', 'fortran_order': False, 'shape': ()}`, Uint8Array.from([5, 0, 0, 0])));
    expect(scalar.shape).toEqual([]);
    expect(list(scalar.data)).toEqual([5]);
  });

  it('ignores trailing bytes after the data, as np.load does', () => {
    const withTail = Buffer.concat([good, Buffer.from('tail')]);
    expect(list(parseNpy(withTail).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('message without a path says in-memory', () => {
    expect(() => parseNpy(new Uint8Array(3))).toThrow(/^npy \(in-memory bytes\): not a \.npy file/);
  });

  it('requireDtype narrows or names both dtypes', () => {
    const a = parseNpy(good);
    const f = requireDtype(a, '<f8');
    expect(f.data).toBeInstanceOf(Float64Array);
    expect(() => requireDtype(a, '<f4', 'w.npy')).toThrow(/w\.npy: expected dtype <f4, found <f8/);
  });
});

describe('malformed .npy files on disk', () => {
  const tmp = tempDir('mmmi-formats-npy-err-');

  it('readNpy/readNpySync name the path', async () => {
    const p = join(tmp, 'short.npy');
    const good = encodeNpy({ shape: [4], data: new Int32Array(4) });
    writeFileSync(p, good.subarray(0, good.length - 1));
    await expect(readNpy(p)).rejects.toThrow(`npy file ${p}: truncated data`);
    expect(() => readNpySync(p)).toThrow(`npy file ${p}: truncated data`);
  });

  it('a missing file is an I/O error, not a FormatError', async () => {
    const p = join(tmp, 'missing.npy');
    await expect(readNpy(p)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => readNpySync(p)).toThrow(/ENOENT/);
  });

  it.skipIf(!hasNumpy())('NumPy-made object, complex and structured arrays are rejected clearly', () => {
    runPython(
      String.raw`
import sys, numpy as np
d = sys.argv[1]
np.save(d + '/obj.npy', np.array([1, 'a', None], dtype=object), allow_pickle=True)
np.save(d + '/c16.npy', np.array([1 + 2j, 3j]))
np.save(d + '/rec.npy', np.zeros(3, dtype=[('x', '<f8'), ('y', '<i4')]))
np.save(d + '/f2.npy', np.zeros(3, dtype=np.float16))
`,
      [tmp],
    );
    expect(() => readNpySync(join(tmp, 'obj.npy'))).toThrow(/obj\.npy: unsupported dtype '\|O'.*pickle/);
    expect(() => readNpySync(join(tmp, 'c16.npy'))).toThrow(/c16\.npy: unsupported dtype '<c16'.*complex/);
    expect(() => readNpySync(join(tmp, 'rec.npy'))).toThrow(/rec\.npy: structured/);
    expect(() => readNpySync(join(tmp, 'f2.npy'))).toThrow(/f2\.npy: unsupported dtype '<f2'/);
    // sanity: NumPy can read its own object file, so the rejection is ours
    expect(readFileSync(join(tmp, 'obj.npy')).length).toBeGreaterThan(0);
  });
});
