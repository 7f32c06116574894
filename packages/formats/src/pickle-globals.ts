/**
 * Allowlist entries for the harmless Python and NumPy globals that checkpoints contain
 * around their tensors (an OrderedDict state_dict, an argparse.Namespace of training
 * arguments, a NumPy float in the metrics, a NumPy RNG state). Each entry builds a plain
 * JS value from data; none imports, looks up or calls anything by name. Anything that is
 * not listed here (or in the caller's own table) is refused by the unpickler.
 */
import { FormatError } from './errors.js';
import { parseNpy, type NpyArray } from './npy.js';
import { describe, isPyTuple, setOwn, type PickleContext, type PickleGlobal, type PickleGlobals } from './pickle.js';

function arg(args: readonly unknown[], i: number): unknown {
  return args[i];
}

function checkArity(args: readonly unknown[], min: number, max: number, name: string, ctx: PickleContext): void {
  if (args.length < min || args.length > max) {
    ctx.fail(`${name} takes ${min === max ? min : `${min} to ${max}`} arguments, got ${args.length}`);
  }
}

/** bytes from str encoded as latin-1 (how protocol 0–2 pickles store Python 3 bytes). */
function latin1Bytes(text: string, ctx: PickleContext, name: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) ctx.fail(`${name}: character U+${c.toString(16)} is not latin-1`);
    out[i] = c;
  }
  return out;
}

function encodeText(args: readonly unknown[], ctx: PickleContext, name: string): Uint8Array {
  const [text, encoding = 'utf-8'] = args;
  if (typeof text !== 'string' || typeof encoding !== 'string') ctx.fail(`${name} expects (str, encoding)`);
  const enc = encoding.toLowerCase().replace('_', '-');
  if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') return latin1Bytes(text, ctx, name);
  if (enc === 'utf-8' || enc === 'utf8') return new Uint8Array(Buffer.from(text, 'utf8'));
  return ctx.fail(`${name}: encoding '${encoding}' is not supported`);
}

/** bytes/bytearray from (), (bytes,), (list of ints,) or (str, encoding). */
function makeBytes(args: readonly unknown[], ctx: PickleContext, name: string): Uint8Array {
  if (args.length === 0) return new Uint8Array(0);
  const first = arg(args, 0);
  if (typeof first === 'string') return encodeText(args, ctx, name);
  if (args.length === 1 && first instanceof Uint8Array) return new Uint8Array(first);
  if (args.length === 1 && Array.isArray(first)) {
    const out = new Uint8Array(first.length);
    first.forEach((b, i) => {
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) ctx.fail(`${name}: ${String(b)} is not a byte`);
      out[i] = b as number;
    });
    return out;
  }
  return ctx.fail(`${name}: unsupported arguments`);
}

function makeSet(args: readonly unknown[], ctx: PickleContext, name: string): Set<unknown> {
  checkArity(args, 0, 1, name, ctx);
  const items = args.length === 0 ? [] : arg(args, 0);
  if (!Array.isArray(items) && !(items instanceof Set)) ctx.fail(`${name} of a ${describe(items)}`);
  return new Set(items as Iterable<unknown>);
}

/** OrderedDict(), OrderedDict([(k, v), ...]) or OrderedDict(dict). */
function makeOrderedDict(args: readonly unknown[], ctx: PickleContext): Map<unknown, unknown> {
  checkArity(args, 0, 1, 'OrderedDict', ctx);
  const init = arg(args, 0);
  const out = new Map<unknown, unknown>();
  if (init === undefined || init === null) return out;
  if (init instanceof Map) return new Map(init);
  if (!Array.isArray(init)) return ctx.fail(`OrderedDict of a ${describe(init)}`);
  for (const pair of init) {
    if (!Array.isArray(pair) || pair.length !== 2) ctx.fail('OrderedDict items must be (key, value) pairs');
    out.set(pair[0], pair[1]);
  }
  return out;
}

/** argparse.Namespace → a plain object (its attributes arrive as keywords or via BUILD). */
function makeNamespace(kwargs: ReadonlyMap<unknown, unknown>, ctx: PickleContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of kwargs) {
    if (typeof k !== 'string') ctx.fail(`Namespace attribute name is a ${describe(k)}`);
    setOwn(out, k, v);
  }
  return out;
}

/** pathlib paths (often among training args) → their string form; `parts` as pickled. */
function makePath(args: readonly unknown[], ctx: PickleContext, sep: '/' | '\\'): string {
  if (!args.every((a) => typeof a === 'string')) ctx.fail('pathlib path parts must be strings');
  const parts = args as string[];
  if (parts.length === 0) return '.';
  // The first part may be an anchor ('/', 'C:\\') that already ends with a separator.
  const [first, ...rest] = parts;
  return first.endsWith(sep) ? first + rest.join(sep) : parts.join(sep);
}

export const PYTHON_GLOBALS: PickleGlobals = {
  'collections.OrderedDict': {
    call: (args, ctx) => makeOrderedDict(args, ctx),
    newObject: (args, _kw, ctx) => makeOrderedDict(args, ctx),
  },
  'builtins.set': { call: (args, ctx) => makeSet(args, ctx, 'set') },
  'builtins.frozenset': { call: (args, ctx) => makeSet(args, ctx, 'frozenset') },
  'builtins.bytes': { call: (args, ctx) => makeBytes(args, ctx, 'bytes') },
  'builtins.bytearray': { call: (args, ctx) => makeBytes(args, ctx, 'bytearray') },
  // Protocol 0–2 pickles store Python 3 bytes as _codecs.encode(latin-1 text, 'latin1').
  '_codecs.encode': { call: (args, ctx) => (checkArity(args, 1, 2, 'encode', ctx), encodeText(args, ctx, '_codecs.encode')) },
  'builtins.slice': {
    call: (args, ctx) => {
      checkArity(args, 1, 3, 'slice', ctx);
      const [a, b, c] = args.length === 1 ? [null, args[0], null] : [args[0], args[1], args[2] ?? null];
      return Object.freeze({ start: a, stop: b, step: c });
    },
  },
  // Protocol 0/1 pickles of plain classes: copyreg._reconstructor(cls, object, None).
  'copyreg._reconstructor': {
    call: (args, ctx) => {
      checkArity(args, 3, 3, '_reconstructor', ctx);
      const [cls, base, state] = args;
      if (String(base) !== 'builtins.object' || state !== null) ctx.fail(`_reconstructor with base ${String(base)} is not supported`);
      return ctx.newObject(cls, []);
    },
  },
  'builtins.object': {},
  'pathlib.PosixPath': { call: (args, ctx) => makePath(args, ctx, '/') },
  'pathlib.PurePosixPath': { call: (args, ctx) => makePath(args, ctx, '/') },
  'pathlib.WindowsPath': { call: (args, ctx) => makePath(args, ctx, '\\') },
  'pathlib.PureWindowsPath': { call: (args, ctx) => makePath(args, ctx, '\\') },
  'argparse.Namespace': {
    call: (args, ctx) => (checkArity(args, 0, 0, 'Namespace', ctx), {}),
    newObject: (_args, kwargs, ctx) => makeNamespace(kwargs, ctx),
  },
};

/** A NumPy dtype as pickled: `numpy.dtype('f8', False, True)` then BUILD with its byte order. */
export class NumpyDtype {
  /** '<', '>', '|' (not applicable) or '=' (native), from the BUILD state. */
  byteorder = '=';
  constructor(readonly typecode: string) {}
  /** The .npy descr, e.g. '<f8'. Native '=' is read as little-endian (every host Node runs on). */
  get descr(): string {
    return `${this.byteorder === '=' ? '<' : this.byteorder}${this.typecode}`;
  }
  toString(): string {
    return this.descr;
  }
}

function npyHeaderShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Decode raw array bytes through the .npy reader (byte order, Fortran order, bool, checks). */
function decodeArray(descr: string, shape: readonly number[], fortran: boolean, raw: Uint8Array, ctx: PickleContext): NpyArray {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${npyHeaderShape(shape)}, }\n`;
  const header = Buffer.from(dict, 'latin1');
  if (header.length > 0xffff) ctx.fail('numpy array header too large');
  const bytes = new Uint8Array(10 + header.length + raw.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  bytes.set(header, 10);
  bytes.set(raw, 10 + header.length);
  let array: NpyArray;
  try {
    array = parseNpy(bytes);
  } catch (e) {
    if (e instanceof FormatError) ctx.fail(`numpy array: ${e.reason}`);
    throw e;
  }
  const expected = array.data.byteLength;
  if (raw.length !== expected) ctx.fail(`numpy array of ${descr} ${npyHeaderShape(shape)} needs ${expected} bytes, has ${raw.length}`);
  return array;
}

function numpyScalar(args: readonly unknown[], ctx: PickleContext): unknown {
  checkArity(args, 2, 2, 'numpy scalar', ctx);
  const [dtype, raw] = args;
  if (!(dtype instanceof NumpyDtype)) return ctx.fail(`numpy scalar with a ${describe(dtype)} as its dtype`);
  if (!(raw instanceof Uint8Array)) return ctx.fail(`numpy scalar data is a ${describe(raw)}, not bytes`);
  const array = decodeArray(dtype.descr, [], false, raw, ctx);
  const v = array.data[0];
  if (array.dtype === '|b1') return v !== 0;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  return v;
}

function isShape(v: unknown): v is readonly number[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
}

/** ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)) into an empty placeholder. */
function setArrayState(obj: object, state: unknown, ctx: PickleContext): void {
  if (!isPyTuple(state) || (state.length !== 5 && state.length !== 4)) ctx.fail('numpy array state is not a 4- or 5-tuple');
  const [shape, dtype, fortran, raw] = state.length === 5 ? state.slice(1) : state;
  if (!isShape(shape)) return ctx.fail('numpy array shape is not a tuple of non-negative ints');
  if (!(dtype instanceof NumpyDtype)) return ctx.fail(`numpy array dtype is a ${describe(dtype)}`);
  if (Array.isArray(raw)) return ctx.fail('numpy object arrays (dtype=object) are not supported');
  if (!(raw instanceof Uint8Array)) return ctx.fail(`numpy array data is a ${describe(raw)}, not bytes`);
  Object.assign(obj, decodeArray(dtype.descr, shape, fortran === true, raw, ctx));
}

const scalar: PickleGlobal = { call: numpyScalar };
const reconstruct: PickleGlobal = {
  // _reconstruct(ndarray, (0,), b'b') makes an empty array that BUILD then fills.
  call: (args, ctx) => {
    checkArity(args, 3, 3, 'numpy _reconstruct', ctx);
    const cls = String(args[0]);
    if (cls !== 'numpy.ndarray') ctx.fail(`numpy _reconstruct of '${cls}' (only numpy.ndarray is supported)`);
    return {};
  },
  setState: setArrayState,
};

/**
 * NumPy scalars and arrays (1.x `numpy.core` and 2.x `numpy._core` names). Arrays become
 * `NpyArray`s ({ dtype, shape, data }, as parseNpy returns); scalars become numbers
 * (bigint past 2^53, boolean for bool).
 */
export const NUMPY_GLOBALS: PickleGlobals = {
  'numpy.dtype': {
    call: (args, ctx) => {
      checkArity(args, 1, 3, 'numpy.dtype', ctx);
      const code = args[0];
      if (typeof code !== 'string' || !/^[a-zA-Z?][0-9]*$/.test(code)) return ctx.fail(`numpy.dtype(${describe(code)}) is not supported`);
      return new NumpyDtype(code);
    },
    setState: (obj, state, ctx) => {
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags)
      const s = isPyTuple(state) ? state : [];
      if (s.length < 2 || typeof s[1] !== 'string') ctx.fail('numpy dtype state is not a tuple');
      if (s.length >= 5 && (s[3] !== null || s[4] !== null)) ctx.fail('structured numpy dtypes are not supported');
      (obj as NumpyDtype).byteorder = s[1] as string;
    },
  },
  'numpy.ndarray': {},
  'numpy.core.multiarray.scalar': scalar,
  'numpy._core.multiarray.scalar': scalar,
  'numpy.core.multiarray._reconstruct': reconstruct,
  'numpy._core.multiarray._reconstruct': reconstruct,
};
