/**
 * The restricted unpickler: Python's own pickle module writes every protocol (0–5) and we
 * read the same values; hand-assembled opcodes cover what Python 3 no longer writes; and
 * hostile input (forbidden globals, truncation, absurd lengths, mutations) is rejected
 * with a FormatError, never a crash, a hang or a huge allocation.
 */
import { hasNumpy, hasPython, mulberry32, runPython } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../src/errors.js';
import { isPyTuple, pyAttributes, PyGlobal, unpickle, unpickleAt, type UnpickleOptions } from '../src/pickle.js';
import { NUMPY_GLOBALS, PYTHON_GLOBALS } from '../src/pickle-globals.js';
import { glob, ops, str, u32le, u64le } from './pickle-builder.js';

const SAFE: UnpickleOptions = { globals: { ...PYTHON_GLOBALS, ...NUMPY_GLOBALS } };

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof FormatError) return e.reason;
    throw e;
  }
  throw new Error('expected a FormatError');
}

const PY_VALUES = String.raw`
import argparse, collections, json, pathlib, pickle, sys
shared = [1, 2]
rec = []
rec.append(rec)
cases = {
  'none': None, 'true': True, 'false': False,
  'ints': [0, 1, 255, 256, 65535, 65536, -1, -256, 2**31 - 1, -2**31, 2**31, 2**53 - 1, -(2**53 - 1)],
  'bigints': [2**53 + 1, -(2**53 + 1), 2**64, -2**70, 2**100],
  'floats': [1.5, -0.0, 1e300, 5e-324, float('inf'), float('-inf')],
  'nan': float('nan'),
  'strs': ['', 'ascii', 'ünïcødé ✓ 𝄞', 'new\nline \\ back \u2028', 'x' * 300],
  'bytes': [b'', b'\x00\xff\x80abc', bytes(range(256))],
  'bytearray': bytearray(b'\x01\x02'),
  'tuples': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
  'dict': {'a': 1, 2: 'b', (1, 'k'): None, None: [1]},
  'nested': {'l': [{'x': (1.5, [True, None])}], 'empty': {}},
  'set': {1, 2, 3}, 'frozenset': frozenset(['a']),
  'shared': [shared, shared], 'recursive': rec,
  'ordered': collections.OrderedDict([('b', 1), ('a', 2)]),
  'namespace': argparse.Namespace(lr=0.1, name='x', flags=[1, 2]),
  'paths': [pathlib.Path('/data/x.npz'), pathlib.PurePosixPath('rel/a'), pathlib.PureWindowsPath('C:/a/b'), pathlib.Path()],
}
out = {name: {p: pickle.dumps(v, protocol=p).hex() for p in range(6)} for name, v in cases.items()}
json.dump(out, sys.stdout)
`;

describe.skipIf(!hasPython())('pickles written by Python (protocols 0-5)', () => {
  const pickles = hasPython() ? (JSON.parse(runPython(PY_VALUES)) as Record<string, Record<string, string>>) : {};
  const each = (name: string, check: (v: unknown, proto: number) => void) => {
    for (const [proto, hex] of Object.entries(pickles[name])) check(unpickle(Buffer.from(hex, 'hex'), SAFE), Number(proto));
  };

  it('reads scalars: None, bools, ints (bigint beyond 2^53), floats', () => {
    each('none', (v) => expect(v).toBe(null));
    each('true', (v) => expect(v).toBe(true));
    each('false', (v) => expect(v).toBe(false));
    each('ints', (v) => expect(v).toEqual([0, 1, 255, 256, 65535, 65536, -1, -256, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1)]));
    each('bigints', (v) => expect(v).toEqual([2n ** 53n + 1n, -(2n ** 53n + 1n), 2n ** 64n, -(2n ** 70n), 2n ** 100n]));
    each('floats', (v) => expect(v).toEqual([1.5, -0, 1e300, 5e-324, Infinity, -Infinity]));
    each('floats', (v) => expect(Object.is((v as number[])[1], -0)).toBe(true));
    each('nan', (v) => expect(v).toBeNaN());
  });

  it('reads str (utf-8, long, with newlines) and bytes / bytearray as fresh Uint8Arrays', () => {
    each('strs', (v) => expect(v).toEqual(['', 'ascii', 'ünïcødé ✓ 𝄞', 'new\nline \\ back \u2028', 'x'.repeat(300)]));
    each('bytes', (v) => {
      const [a, b, c] = v as Uint8Array[];
      expect([a, b, c].every((x) => x instanceof Uint8Array)).toBe(true);
      expect(Array.from(a)).toEqual([]);
      expect(Array.from(b)).toEqual([0, 255, 128, 97, 98, 99]);
      expect(Array.from(c)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    });
    each('bytearray', (v) => expect(Array.from(v as Uint8Array)).toEqual([1, 2]));
  });

  it('keeps tuples (frozen) apart from lists', () => {
    each('tuples', (v) => {
      expect(v).toEqual([[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]);
      expect(isPyTuple(v)).toBe(false);
      expect((v as unknown[]).every(isPyTuple)).toBe(true);
    });
  });

  it('reads dicts as Maps in insertion order with keys of any type', () => {
    each('dict', (v) => {
      const m = v as Map<unknown, unknown>;
      expect(m).toBeInstanceOf(Map);
      const keys = [...m.keys()];
      expect(keys[0]).toBe('a');
      expect(keys[1]).toBe(2);
      expect(keys[2]).toEqual([1, 'k']);
      expect(isPyTuple(keys[2])).toBe(true);
      expect(keys[3]).toBe(null);
      expect([...m.values()]).toEqual([1, 'b', null, [1]]);
    });
    each('nested', (v) =>
      expect(v).toEqual(
        new Map<string, unknown>([
          ['l', [new Map([['x', [1.5, [true, null]]]])]],
          ['empty', new Map()],
        ]),
      ),
    );
    each('ordered', (v) =>
      expect([...(v as Map<string, number>)]).toEqual([
        ['b', 1],
        ['a', 2],
      ]),
    );
  });

  it('reads sets, frozensets, shared and recursive references', () => {
    each('set', (v) => expect(v).toEqual(new Set([1, 2, 3])));
    each('frozenset', (v) => expect(v).toEqual(new Set(['a'])));
    each('shared', (v) => {
      const [a, b] = v as unknown[];
      expect(a).toBe(b); // one object, as in Python
      expect(a).toEqual([1, 2]);
    });
    each('recursive', (v) => expect((v as unknown[])[0]).toBe(v));
  });

  it('reads argparse.Namespace as a plain object (NEWOBJ + BUILD, or copyreg._reconstructor in protocols 0/1)', () => {
    each('namespace', (v) => {
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect({ ...(v as object) }).toEqual({ lr: 0.1, name: 'x', flags: [1, 2] });
    });
  });

  it('reads pathlib paths as strings', () => {
    each('paths', (v) => expect(v).toEqual(['/data/x.npz', 'rel/a', 'C:\\a\\b', '.']));
  });
});

describe.skipIf(!hasNumpy())('NumPy values written by Python', () => {
  it('reads scalars (numbers, bigint, boolean) and arrays (as parseNpy arrays, Fortran and big-endian too)', () => {
    const hex = runPython(String.raw`
import pickle, numpy as np
v = [np.float64(0.25), np.float32(1.5), np.int64(-7), np.uint64(2**64 - 1), np.int32(3), np.bool_(True), np.uint8(200),
     np.arange(6, dtype=np.float64).reshape(2, 3), np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
     np.array([1, 2], dtype='>i2'), np.zeros((0, 2)), np.array(3.5)]
print(pickle.dumps(v, protocol=2).hex(), pickle.dumps(v, protocol=4).hex())`);
    for (const h of hex.trim().split(' ')) {
      const v = unpickle(Buffer.from(h, 'hex'), SAFE) as unknown[];
      expect(v.slice(0, 7)).toEqual([0.25, 1.5, -7, 2n ** 64n - 1n, 3, true, 200]);
      const arrays = v.slice(7) as { dtype: string; shape: number[]; data: ArrayLike<number> }[];
      expect(arrays.map((a) => [a.dtype, a.shape, Array.from(a.data)])).toEqual([
        ['<f8', [2, 3], [0, 1, 2, 3, 4, 5]],
        ['<i4', [2, 3], [0, 1, 2, 3, 4, 5]],
        ['<i2', [2], [1, 2]],
        ['<f8', [0, 2], []],
        ['<f8', [], [3.5]],
      ]);
    }
  });

  it('refuses object arrays (they would need arbitrary pickles inside)', () => {
    const hex = runPython(`import pickle, numpy as np; print(pickle.dumps(np.array([1, 'a'], dtype=object), protocol=2).hex())`);
    expect(reason(() => unpickle(Buffer.from(hex.trim(), 'hex'), SAFE))).toMatch(/object arrays/);
  });
});

describe('opcodes Python 3 no longer writes (assembled by hand)', () => {
  it('reads Python 2 strings (STRING, BINSTRING, SHORT_BINSTRING) as utf-8 text', () => {
    const p = ops(0x28, 'S', "'a\\x41\\n\\'b'\n", 'T', u32le(3), 'abc', 'U', 2, [0xc3, 0xa9], 'l', '.');
    expect(unpickle(p)).toEqual(["aA\n'b", 'abc', 'é']);
  });

  it('reads protocol 0 INT/LONG/FLOAT text forms, I01/I00 booleans and text PUT/GET', () => {
    const p = ops('(', 'I01\n', 'I00\n', 'I-12\n', 'L123456789012345678901234567890L\n', 'F2.5\n', 'Fnan\n', 'p7\n', 'g7\n', 'l.');
    const v = unpickle(p) as unknown[];
    expect(v.slice(0, 5)).toEqual([true, false, -12, 123456789012345678901234567890n, 2.5]);
    expect(v[5]).toBeNaN();
    expect(v[6]).toBeNaN();
  });

  it('reads INST/OBJ, NEWOBJ_EX keywords, POP/POP_MARK/DUP, EMPTY_SET/ADDITEMS, MEMOIZE, BININT2', () => {
    const p = ops(
      0x80,
      4,
      0x28,
      '(',
      'iargparse\nNamespace\n', // INST with no args → NEWOBJ path
      '(',
      glob('collections.OrderedDict'),
      'o', // OBJ
      glob('argparse.Namespace'),
      ')',
      '}',
      str('k'),
      'K',
      5,
      's',
      0x92, // NEWOBJ_EX with kwargs
      'K',
      1,
      '0', // POP
      '(',
      'K',
      1,
      '1', // POP_MARK
      'M',
      u32le(0x1234).slice(0, 2),
      '2', // BININT2, DUP
      0x8f,
      0x94,
      '(',
      'K',
      1,
      'K',
      2,
      0x90, // EMPTY_SET, MEMOIZE, ADDITEMS
      'h',
      0, // BINGET the memoised set
      'l',
      '.',
    );
    const v = unpickle(p, SAFE) as unknown[];
    expect({ ...(v[0] as object) }).toEqual({});
    expect(v[1]).toEqual(new Map());
    expect({ ...(v[2] as object) }).toEqual({ k: 5 });
    expect(v.slice(3, 5)).toEqual([0x1234, 0x1234]);
    expect(v[5]).toEqual(new Set([1, 2]));
    expect(v[6]).toBe(v[5]);
  });

  it('reads protocol 0 UNICODE raw-unicode-escape and text persistent ids', () => {
    const p = ops('(', 'V\\u00e9t\\U0001d11e\n', 'Pstorage0\n', 'l.');
    const v = unpickle(p, { persistentLoad: (pid) => ({ pid }) });
    expect(v).toEqual(['ét𝄞', { pid: 'storage0' }]);
  });

  it('keeps a BUILD state set on a non-plain object in pyAttributes', () => {
    const p = ops(glob('collections.OrderedDict'), ')', 'R', '}', str('_metadata'), 'K', 3, 's', 'b', '.');
    const v = unpickle(p, SAFE) as Map<unknown, unknown>;
    expect(v.size).toBe(0);
    expect(pyAttributes(v)?.get('_metadata')).toBe(3);
  });

  it('a BUILD key __proto__ becomes an own property, not the prototype', () => {
    const p = ops(glob('argparse.Namespace'), ')', 0x81, '}', str('__proto__'), '}', 's', 'b', '.');
    const v = unpickle(p, SAFE) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
  });

  it('returns the end offset, so a sequence of pickles can be read', () => {
    const p = ops(0x80, 2, 'K', 1, '.', 0x80, 2, 'K', 2, '.');
    const first = unpickleAt(p, 0);
    expect(first).toEqual({ value: 1, end: 5 });
    expect(unpickleAt(p, first.end)).toEqual({ value: 2, end: 10 });
  });

  it('leaves an uncalled allowed global as a PyGlobal value', () => {
    const v = unpickle(ops(glob('builtins.object'), '.'), SAFE);
    expect(v).toBeInstanceOf(PyGlobal);
    expect(String(v)).toBe('builtins.object');
  });
});

describe('hostile pickles', () => {
  const forbidden: [string, Uint8Array][] = [
    ['os.system', ops('c', 'os\nsystem\n', str('echo pwned'), 0x85, 'R', '.')],
    ['builtins.eval', ops(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, 0x8c, 3, '1+1', 0x85, 'R', '.')],
    ['builtins.eval', ops('c', '__builtin__\neval\n', '(', str('1'), 't', 'R', '.')], // Python 2 spelling
    ['subprocess.Popen', ops(0x80, 2, 'c', 'subprocess\nPopen\n', ']', str('ls'), 'a', 0x85, 'R', '.')],
    ['builtins.getattr', ops('c', 'builtins\ngetattr\n', '.')],
    ['posix.system', ops('(', 'iposix\nsystem\n', '.')], // INST
    ['nt.system', ops(0x80, 2, 'c', 'nt\nsystem\n', ')', 0x81, '.')],
    ['torch.load', ops('c', 'torch\nload\n', '.')],
  ];
  for (const [name, p] of forbidden) {
    it(`refuses ${name} by name before calling anything`, () => {
      expect(reason(() => unpickle(p, SAFE))).toContain(`global '${name}' is not allowed (reading never executes code)`);
    });
  }

  it('names the opcode and byte offset, and the file', () => {
    const err = (() => {
      try {
        unpickle(ops(0x80, 2, 'N', 'c', 'os\nsystem\n', '.'), { ...SAFE, file: '/x/evil.pkl' });
      } catch (e) {
        return e as FormatError;
      }
      throw new Error('no error');
    })();
    expect(err.message).toBe("pickle file /x/evil.pkl: global 'os.system' is not allowed (reading never executes code) [GLOBAL at byte 3]");
  });

  it('refuses unknown opcodes with their offset, extension codes and out-of-band buffers', () => {
    expect(reason(() => unpickle(ops(0x80, 2, 'N', 0xff, '.')))).toBe('unknown opcode 0xff [at byte 3]');
    expect(reason(() => unpickle(ops(0x82, 1, '.')))).toMatch(/extension-registry/);
    expect(reason(() => unpickle(ops(0x80, 5, 0x97, '.')))).toMatch(/out-of-band/);
    expect(reason(() => unpickle(ops(0x80, 6, 'N', '.')))).toMatch(/unsupported pickle protocol 6/);
  });

  it('checks lengths against the bytes left before allocating', () => {
    expect(reason(() => unpickle(ops('X', u32le(0xffffffff), 'ab')))).toMatch(/BINUNICODE needs 4294967295 bytes, 2 left/);
    expect(reason(() => unpickle(ops(0x8d, u64le(2n ** 63n), 'ab')))).toMatch(/truncated/);
    expect(reason(() => unpickle(ops(0x8e, u64le(2n ** 64n - 1n), '.')))).toMatch(/truncated/);
    expect(reason(() => unpickle(ops('B', u32le(100), 'ab')))).toMatch(/truncated/);
    expect(reason(() => unpickle(ops(0x8b, u32le(-5), '.')))).toMatch(/negative LONG4 length/);
    expect(reason(() => unpickle(ops('T', u32le(-1), '.')))).toMatch(/negative BINSTRING/);
    expect(reason(() => unpickle(ops(0x95, u64le(1000n), 'N.')))).toMatch(/frame of 1000 bytes/);
    expect(reason(() => unpickle(ops('L', '9'.repeat(100_000), 'L\n.')))).toMatch(/100000 digits/);
  });

  it('rejects malformed structure: underflow, bad marks, wrong targets, missing memo', () => {
    const cases: [Uint8Array, RegExp][] = [
      [ops('.'), /stack underflow/],
      [ops(')', 'R', '.'), /stack underflow/],
      [ops('e', '.'), /no MARK/],
      [ops('(', 'N', '.'), /unclosed MARK/],
      [ops('N', 'N', 'a', '.'), /APPEND\(S\) on a None/],
      [ops(')', 'N', 'a', '.'), /APPEND\(S\) on a tuple/],
      [ops('}', '(', 'N', 'u', '.'), /odd number/],
      [ops(']', 'N', 'N', 's', '.'), /SETITEM\(S\) on a list/],
      [ops('h', 3, '.'), /memo key 3 is not defined/],
      [ops('g', 'abc\n', '.'), /bad memo index/],
      [ops('N', ')', 'R', '.'), /call applied to a None/],
      [ops('K', 1, 'N', 'b', '.'), /BUILD on a int/],
      [ops('Q', '.'), /stack underflow/],
      [ops('N', 'Q', '.'), /no persistent_load/],
      [ops('I', 'x1\n', '.'), /not an integer/],
      [ops('F', 'pi\n', '.'), /not a number/],
      [ops('S', 'abc\n', '.'), /not a quoted string/],
      [ops(), /ends before its STOP/],
      [ops(0x80, 2, 'c', 'os', '.'), /no terminating newline/],
      [ops(0x93, '.'), /stack underflow/],
      [ops('K', 1, 'K', 2, 0x93, '.'), /STACK_GLOBAL needs two strings/],
    ];
    for (const [p, re] of cases)
      expect(
        reason(() => unpickle(p, SAFE)),
        Buffer.from(p).toString('latin1'),
      ).toMatch(re);
  });

  it('refuses calling an allowed non-callable global and bad arguments to allowed ones', () => {
    expect(reason(() => unpickle(ops(glob('builtins.object'), ')', 'R', '.'), SAFE))).toMatch(/'builtins.object' cannot be called/);
    expect(reason(() => unpickle(ops(glob('_codecs.encode'), str('é'), str('rot13'), 0x86, 'R', '.'), SAFE))).toMatch(/rot13/);
    expect(reason(() => unpickle(ops(glob('builtins.set'), 'N', 0x85, 'R', '.'), SAFE))).toMatch(/set of a None/);
    expect(reason(() => unpickle(ops(glob('builtins.set'), 'N', 'R', '.'), SAFE))).toMatch(/not a tuple/);
  });

  it('handles deep nesting without recursion (100k nested lists)', () => {
    const depth = 100_000;
    const p = new Uint8Array(2 * depth).fill(0x5d, 0, depth).fill(0x61, depth);
    p[2 * depth - 1] = 0x2e;
    let v = unpickle(p) as unknown[];
    let d = 1;
    while (v.length) {
      v = v[0] as unknown[];
      d++;
    }
    expect(d).toBe(depth);
  });

  it('every truncation of a valid pickle is a FormatError', () => {
    const p = ops(0x80, 2, '}', 'q', 0, '(', str('a'), 'K', 1, str('b'), ']', '(', 'G', [63, 248, 0, 0, 0, 0, 0, 0], 'N', 'e', 'u', '.');
    expect(unpickle(p)).toEqual(
      new Map<string, unknown>([
        ['a', 1],
        ['b', [1.5, null]],
      ]),
    );
    for (let cut = 0; cut < p.length; cut++) expect(() => unpickle(p.subarray(0, cut))).toThrow(FormatError);
  });

  it('random mutations of Python pickles only ever give values or FormatErrors', () => {
    const seeds = [
      ops(
        0x80,
        2,
        glob('collections.OrderedDict'),
        ')',
        'R',
        '(',
        str('w'),
        'G',
        [63, 248, 0, 0, 0, 0, 0, 0],
        str('n'),
        0x8a,
        9,
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        'u',
        '.',
      ),
      ops(0x80, 4, 0x95, u64le(30n), 0x8c, 1, 'x', 0x94, ']', 0x94, '(', 'K', 1, 'h', 0, 'e', 0x8f, 0x94, 0x86, '.'),
    ];
    const random = mulberry32(12345);
    for (const seed of seeds) {
      for (let i = 0; i < 3000; i++) {
        const m = new Uint8Array(seed);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips; f++) m[Math.floor(random() * m.length)] = Math.floor(random() * 256);
        try {
          unpickle(m, SAFE);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }
    }
  });
});
