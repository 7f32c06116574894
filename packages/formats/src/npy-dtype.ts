/**
 * The NumPy dtypes this package can hold in a JS typed array, and the mapping from a
 * header's `descr` string to them. Everything returned to callers is little-endian
 * (the byte order of every platform Node runs on), so big-endian descrs are reported
 * under their little-endian name after the bytes have been swapped.
 */

export type NpyDtype = '<f8' | '<f4' | '<i8' | '<u8' | '<i4' | '<u4' | '<i2' | '<u2' | '|i1' | '|u1' | '|b1';

export interface NpyDataMap {
  '<f8': Float64Array;
  '<f4': Float32Array;
  '<i8': BigInt64Array;
  '<u8': BigUint64Array;
  '<i4': Int32Array;
  '<u4': Uint32Array;
  '<i2': Int16Array;
  '<u2': Uint16Array;
  '|i1': Int8Array;
  '|u1': Uint8Array;
  /** NumPy bool, one byte per element, values 0 or 1. */
  '|b1': Uint8Array;
}

export type NpyData = NpyDataMap[NpyDtype];

/**
 * NumPy fixed-width unicode ('<U9': 9 UTF-32 code units per element, NUL-padded), what
 * np.array(['I(X_1; θ)', ...]) holds; decoded to JS strings, so kept apart from the
 * typed-array dtypes above.
 */
export type NpyUnicodeDtype = `<U${number}`;

type Ctor<T> = { new (buffer: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };

export const DTYPE_CTORS: { readonly [D in NpyDtype]: Ctor<NpyDataMap[D]> } = {
  '<f8': Float64Array,
  '<f4': Float32Array,
  '<i8': BigInt64Array,
  '<u8': BigUint64Array,
  '<i4': Int32Array,
  '<u4': Uint32Array,
  '<i2': Int16Array,
  '<u2': Uint16Array,
  '|i1': Int8Array,
  '|u1': Uint8Array,
  '|b1': Uint8Array,
};

export function itemSize(dtype: NpyDtype): number {
  return DTYPE_CTORS[dtype].BYTES_PER_ELEMENT;
}

export interface ResolvedDescr {
  dtype: NpyDtype;
  /** The file stores the bytes big-endian; they must be swapped before use. */
  bigEndian: boolean;
}

const UNSUPPORTED_KIND: Record<string, string> = {
  O: 'object arrays are stored with pickle, which this reader does not execute',
  c: 'complex numbers are not supported',
  U: 'unicode strings are not supported',
  S: 'byte strings are not supported',
  a: 'byte strings are not supported',
  V: 'void/raw records are not supported',
  M: 'datetime64 is not supported',
  m: 'timedelta64 is not supported',
};

/** Returns the dtype, or a human-readable reason it cannot be read. */
export function resolveDescr(descr: string): ResolvedDescr | string {
  const m = /^([<>|=])?([a-zA-Z])(\d*)(\[.*\])?$/.exec(descr);
  if (!m) return `unrecognised dtype '${descr}'`;
  const [, order = '', kind, sizeText] = m;
  if (kind in UNSUPPORTED_KIND) return `unsupported dtype '${descr}': ${UNSUPPORTED_KIND[kind]}`;
  const size = Number(sizeText);
  if (kind === 'f' && size === 2) return `unsupported dtype '${descr}': float16 has no JS typed array`;
  const dtype = (size === 1 ? `|${kind}1` : `<${kind}${size}`) as NpyDtype;
  if (m[4] !== undefined || !(dtype in DTYPE_CTORS)) return `unsupported dtype '${descr}'`;
  // '|' (not applicable) is only meaningful for single-byte types; '=' would be the
  // writer's native order, which NumPy never puts in a header, so it is ambiguous.
  if (size > 1 && order !== '<' && order !== '>') return `dtype '${descr}' has no explicit byte order`;
  return { dtype, bigEndian: size > 1 && order === '>' };
}

/** Width and byte order of a unicode descr; undefined when `descr` is not one. */
export function resolveUnicodeDescr(descr: string): { width: number; bigEndian: boolean } | undefined {
  const m = /^([<>])U(\d+)$/.exec(descr);
  if (!m) return undefined;
  return { width: Number(m[2]), bigEndian: m[1] === '>' };
}

/** The dtype NumPy would infer for this typed array, used when the caller gives none. */
export function dtypeOf(data: NpyData): NpyDtype | undefined {
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof BigUint64Array) return '<u8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint8Array) return '|u1';
  return undefined;
}
