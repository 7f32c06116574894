/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), read and written without Python.
 * See https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * Reading: the data is always copied into a fresh, aligned, little-endian typed array in
 * C (row-major) order. A file written with fortran_order=True is transposed into C order
 * on load, so `data[i*n + j]` is element [i, j] whatever the file's layout, and `shape`
 * is reported unchanged. Big-endian files are byte-swapped and reported under the
 * little-endian dtype name. Bytes after the data are ignored, as np.load does.
 *
 * Writing: byte-for-byte what np.save writes for the same C-ordered array (version 1.0,
 * 64-byte aligned header with NumPy's growth padding), falling back to 2.0 only when
 * the header exceeds 65535 bytes.
 *
 * Unicode string arrays ('<U9') decode to JS strings (trailing NULs dropped, as NumPy
 * does). They come only from parseNpyAny (and readNpz), so that parseNpy/readNpy keep
 * promising a typed array to the numeric code that uses them.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import { FormatError, hexPreview } from './errors.js';
import {
  DTYPE_CTORS,
  dtypeOf,
  itemSize,
  resolveDescr,
  resolveUnicodeDescr,
  type NpyData,
  type NpyDataMap,
  type NpyDtype,
  type NpyUnicodeDtype,
} from './npy-dtype.js';
import { isDict, isTuple, parsePyLiteral, PyLiteralError, type PyValue } from './pyliteral.js';

export type { NpyData, NpyDataMap, NpyDtype, NpyUnicodeDtype } from './npy-dtype.js';

/** A decoded array; a union over dtypes so that checking `dtype` narrows `data`. */
export type NpyArray<D extends NpyDtype = NpyDtype> = D extends NpyDtype ? { dtype: D; shape: number[]; data: NpyDataMap[D] } : never;

export interface NpyInput {
  shape: readonly number[];
  /** C-order (row-major) elements; length must equal the product of `shape`. */
  data: NpyData;
  /** Defaults to the dtype matching the typed array; give '|b1' to store a Uint8Array as bool. */
  dtype?: NpyDtype;
}

/** A decoded '<Un' array: one JS string per element, in C order. */
export interface NpyUnicodeArray {
  dtype: NpyUnicodeDtype;
  shape: number[];
  data: string[];
}

/** Any array parseNpyAny (or readNpz) returns; checking `dtype` against a numeric dtype narrows to NpyArray. */
export type NpyAnyArray = NpyArray | NpyUnicodeArray;

export interface NpyUnicodeInput {
  shape: readonly number[];
  /** C-order elements; length must equal the product of `shape`. */
  data: readonly string[];
  /** Fixed width in code points; defaults to the longest string (at least 1), as NumPy infers it. */
  dtype?: NpyUnicodeDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ARRAY_ALIGN = 64;
// NumPy pads the header so the first axis can later grow to any 64-bit length in place.
const GROWTH_AXIS_MAX_DIGITS = 21;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@mmmi/formats assumes a little-endian host');
}

function fail(file: string | undefined, reason: string): never {
  throw new FormatError('npy', file, reason);
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function magicHint(bytes: Uint8Array): string {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return ' (this looks like a zip archive, e.g. an .npz: unpack it first)';
  if (bytes[0] === 0x80) return ' (this looks like a Python pickle, not an .npy array)';
  return '';
}

/** @internal A parsed .npy header; `dataOffset` is where the data starts, from the file's start. */
export interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

/** @internal Parse the header at the start of `bytes`, which need hold only the header. */
export function readHeader(bytes: Uint8Array, file: string | undefined): Header {
  if (MAGIC.some((b, i) => bytes[i] !== b)) {
    fail(file, `not a .npy file: bad magic bytes [${hexPreview(bytes)}], expected [93 4e 55 4d 50 59]${magicHint(bytes)}`);
  }
  if (bytes.length < 8) fail(file, 'truncated before the format version');
  const major = bytes[6];
  const minor = bytes[7];
  if (![1, 2, 3].includes(major) || minor !== 0) fail(file, `unsupported .npy format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenSize) fail(file, 'truncated before the header length');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenSize;
  const dataOffset = start + headerLen;
  if (bytes.length < dataOffset) {
    fail(file, `truncated header: header claims ${headerLen} bytes, only ${bytes.length - start} present`);
  }
  // Versions 1 and 2 are latin-1 (Node's Buffer 'latin1' is true ISO-8859-1, unlike the
  // WHATWG TextDecoder label); 3 added utf-8 for structured field names.
  const headerBytes = Buffer.from(bytes.buffer, bytes.byteOffset + start, headerLen);
  const text = headerBytes.toString(major === 3 ? 'utf8' : 'latin1');

  let value: PyValue;
  try {
    value = parsePyLiteral(text);
  } catch (e) {
    if (e instanceof PyLiteralError) fail(file, `header is not a valid Python literal: ${e.message}`);
    throw e;
  }
  if (!isDict(value)) fail(file, 'header is not a dict');
  const keys = [...value.dict.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    fail(file, `header keys are [${keys.join(', ')}], expected exactly [descr, fortran_order, shape]`);
  }
  const descr = value.dict.get('descr')!;
  const fortran = value.dict.get('fortran_order')!;
  const shape = value.dict.get('shape')!;
  if (Array.isArray(descr)) fail(file, 'structured (record) dtypes are not supported');
  if (typeof descr !== 'string') fail(file, "header 'descr' is not a string");
  if (typeof fortran !== 'boolean') fail(file, "header 'fortran_order' is not True/False");
  if (!isTuple(shape) || !shape.tuple.every((d) => typeof d === 'number' && d >= 0)) {
    fail(file, "header 'shape' is not a tuple of non-negative integers");
  }
  return { descr, fortranOrder: fortran, shape: shape.tuple as number[], dataOffset };
}

/** @internal */
export function byteswapInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Column-major → row-major. Elements are moved as raw 1/2/4-byte words (8-byte items as
 * two words) so float bit patterns such as NaN payloads survive exactly.
 */
function fortranToC(src: ArrayBuffer, shape: readonly number[], size: number): ArrayBuffer {
  const count = product(shape);
  if (shape.length < 2 || count === 0) return src;
  const W = size === 1 ? Uint8Array : size === 2 ? Uint16Array : Uint32Array;
  const words = size === 8 ? 2 : 1;
  const from = new W(src);
  const to = new W(new ArrayBuffer(src.byteLength));
  const n = shape.length;
  const fStride = new Array<number>(n);
  for (let ax = 0, s = words; ax < n; ax++) {
    fStride[ax] = s;
    s *= shape[ax];
  }
  const idx = new Array<number>(n).fill(0);
  let off = 0;
  for (let c = 0; c < count * words; c += words) {
    for (let w = 0; w < words; w++) to[c + w] = from[off + w];
    for (let ax = n - 1; ax >= 0; ax--) {
      off += fStride[ax];
      if (++idx[ax] < shape[ax]) break;
      off -= fStride[ax] * shape[ax];
      idx[ax] = 0;
    }
  }
  return to.buffer as ArrayBuffer;
}

/** Column-major → row-major for JS arrays, by permuting indices with the typed-array routine. */
function fortranToCItems<T>(items: T[], shape: readonly number[]): T[] {
  const order = new Uint32Array(fortranToC(Uint32Array.from(items, (_, i) => i).buffer, shape, 4));
  return Array.from(order, (k) => items[k]);
}

function decodeUnicode(bytes: Uint8Array, header: Header, width: number, bigEndian: boolean, file: string | undefined): NpyUnicodeArray {
  const count = product(header.shape);
  const needed = count * width * 4;
  const available = bytes.length - header.dataOffset;
  if (!Number.isSafeInteger(needed) || available < needed) {
    fail(file, `truncated data: shape (${header.shape.join(', ')}) of ${header.descr} needs ${needed} bytes, file has ${available}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + header.dataOffset, needed);
  const items = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const base = i * width * 4;
    let end = width;
    while (end > 0 && view.getUint32(base + (end - 1) * 4, !bigEndian) === 0) end--;
    let text = '';
    // String.fromCodePoint in slices: a very wide dtype must not overflow the argument list
    for (let j = 0; j < end; j += 4096) {
      const cps: number[] = [];
      for (let k = j; k < Math.min(end, j + 4096); k++) {
        const cp = view.getUint32(base + k * 4, !bigEndian);
        if (cp > 0x10ffff) fail(file, `element ${i} holds ${cp.toString(16)}, which is not a Unicode code point`);
        cps.push(cp);
      }
      text += String.fromCodePoint(...cps);
    }
    items[i] = text;
  }
  const data = header.fortranOrder && header.shape.length > 1 ? fortranToCItems(items, header.shape) : items;
  return { dtype: `<U${width}`, shape: header.shape, data };
}

function decode(bytes: Uint8Array, file: string | undefined, allowUnicode: boolean): NpyAnyArray {
  const header = readHeader(bytes, file);
  const unicode = resolveUnicodeDescr(header.descr);
  if (unicode !== undefined) {
    if (!allowUnicode) {
      fail(file, `unsupported dtype '${header.descr}': unicode string arrays are returned by parseNpyAny (and readNpz), not parseNpy/readNpy`);
    }
    return decodeUnicode(bytes, header, unicode.width, unicode.bigEndian, file);
  }
  const resolved = resolveDescr(header.descr);
  if (typeof resolved === 'string') fail(file, resolved);
  const { dtype, bigEndian } = resolved;
  const count = product(header.shape);
  const size = itemSize(dtype);
  const needed = count * size;
  const available = bytes.length - header.dataOffset;
  if (!Number.isSafeInteger(needed) || available < needed) {
    fail(file, `truncated data: shape (${header.shape.join(', ')}) of ${header.descr} needs ${needed} bytes, file has ${available}`);
  }
  // Copy into a fresh buffer: fixes alignment (the data offset need not be a multiple of
  // 8) and detaches from the input. Not bytes.slice(): on a Node Buffer that is a view.
  const raw = new Uint8Array(needed);
  raw.set(bytes.subarray(header.dataOffset, header.dataOffset + needed));
  if (bigEndian) byteswapInPlace(raw, size);
  if (dtype === '|b1') for (let i = 0; i < raw.length; i++) raw[i] = raw[i] === 0 ? 0 : 1;
  const buffer = header.fortranOrder ? fortranToC(raw.buffer, header.shape, size) : raw.buffer;
  const data = new DTYPE_CTORS[dtype](buffer);
  return { dtype, shape: header.shape, data } as NpyArray;
}

/** Decode .npy bytes holding a numeric array. `file` only labels error messages. */
export function parseNpy(bytes: Uint8Array, file?: string): NpyArray {
  return decode(bytes, file, false) as NpyArray;
}

/** Decode .npy bytes holding a numeric or a unicode ('<Un') array, as np.load does. */
export function parseNpyAny(bytes: Uint8Array, file?: string): NpyAnyArray {
  return decode(bytes, file, true);
}

export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readFile(path), path);
}

export function readNpySync(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

export function isUnicodeArray(array: NpyAnyArray): array is NpyUnicodeArray {
  return Array.isArray(array.data);
}

/** Narrow a decoded array to one dtype ('<U': unicode of any width), or throw naming the file and both dtypes. */
export function requireDtype<D extends NpyDtype>(array: NpyAnyArray, dtype: D, file?: string): NpyArray<D>;
export function requireDtype(array: NpyAnyArray, dtype: '<U', file?: string): NpyUnicodeArray;
export function requireDtype(array: NpyAnyArray, dtype: NpyDtype | '<U', file?: string): NpyAnyArray {
  const ok = dtype === '<U' ? isUnicodeArray(array) : array.dtype === dtype;
  if (!ok) fail(file, `expected dtype ${dtype === '<U' ? '<U (unicode)' : dtype}, found ${array.dtype}`);
  return array;
}

function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** @internal Throws unless `shape` is a valid shape; returns its element count. */
export function checkShape(shape: readonly number[], who = 'encodeNpy'): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${who}: shape [${String(shape)}] must be non-negative integers`);
  }
  return product(shape);
}

/** @internal Throws unless `data` can be stored as `dtype` (the typed array's own dtype if omitted); returns the dtype. */
export function checkData(data: NpyData, dtype: NpyDtype | undefined, who = 'encodeNpy'): NpyDtype {
  const natural = dtypeOf(data);
  if (natural === undefined) throw new Error(`${who}: unsupported data type ${Object.prototype.toString.call(data)}`);
  const chosen = dtype ?? natural;
  if (!(chosen in DTYPE_CTORS)) throw new Error(`${who}: unsupported dtype '${chosen}'`);
  const compatible = chosen === natural || (chosen === '|b1' && natural === '|u1');
  if (!compatible) throw new Error(`${who}: dtype ${chosen} does not match the data (${natural}); convert the data first`);
  if (chosen === '|b1' && (data as Uint8Array).some((v) => v > 1)) {
    throw new Error(`${who}: bool (|b1) data must contain only 0 and 1`);
  }
  return chosen;
}

function checkInput(array: NpyInput): NpyDtype {
  const { shape, data } = array;
  const count = checkShape(shape);
  if (count !== data.length) {
    throw new Error(`encodeNpy: shape (${shape.join(', ')}) has ${count} elements, data has ${data.length}`);
  }
  return checkData(data, array.dtype);
}

/** @internal The header (magic, version, length, padded dict) exactly as np.save lays it out. */
export function encodeHeader(dtype: string, shape: readonly number[]): Uint8Array {
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  for (const major of [1, 2]) {
    const lenSize = major === 1 ? 2 : 4;
    const hlen = dict.length + 1; // + the final newline
    // NumPy's formula: a fully aligned header still gets a whole ARRAY_ALIGN of padding.
    const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + lenSize + hlen) % ARRAY_ALIGN);
    const total = hlen + padlen;
    if (major === 1 && total > 0xffff) continue;
    const out = new Uint8Array(MAGIC.length + 2 + lenSize + total);
    out.set(MAGIC, 0);
    out[6] = major;
    out[7] = 0;
    const view = new DataView(out.buffer);
    if (major === 1) view.setUint16(8, total, true);
    else view.setUint32(8, total, true);
    const start = 8 + lenSize;
    for (let i = 0; i < dict.length; i++) out[start + i] = dict.charCodeAt(i);
    out.fill(0x20, start + dict.length, out.length - 1);
    out[out.length - 1] = 0x0a;
    return out;
  }
  throw new Error('encodeNpy: header too large even for format 2.0');
}

/** UTF-32LE, NUL-padded to the dtype's width (the longest string when none is given). */
function encodeUnicode(array: NpyUnicodeInput): [Uint8Array, Uint8Array] {
  const { shape, data } = array;
  const count = checkShape(shape);
  if (!Array.isArray(data) || count !== data.length) {
    throw new Error(`encodeNpy: shape (${shape.join(', ')}) has ${count} elements, data has ${data.length}`);
  }
  // code points counted, then written straight into the array (no per-character arrays: a description can run to millions)
  const lengths = data.map((s, i) => {
    if (typeof s !== 'string') throw new Error(`encodeNpy: element ${i} of a unicode array is not a string`);
    let n = 0;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0xd800 && c <= 0xdbff && k + 1 < s.length) {
        const next = s.charCodeAt(k + 1);
        if (next >= 0xdc00 && next <= 0xdfff) k++;
      }
      n++;
    }
    return n;
  });
  let width = lengths.reduce((a, b) => Math.max(a, b), 1);
  if (array.dtype !== undefined) {
    const given = resolveUnicodeDescr(array.dtype);
    if (given === undefined || given.bigEndian) throw new Error(`encodeNpy: unicode dtype must look like '<U12', got '${array.dtype}'`);
    const longest = lengths.findIndex((n) => n > given.width);
    if (longest >= 0) {
      throw new Error(`encodeNpy: element ${longest} has ${lengths[longest]} code points, more than ${array.dtype} holds`);
    }
    width = given.width;
  }
  const body = new Uint32Array(count * width);
  data.forEach((s, i) => {
    let at = i * width;
    for (const ch of s as string) body[at++] = ch.codePointAt(0)!;
  });
  return [encodeHeader(`<U${width}`, shape), new Uint8Array(body.buffer)];
}

function encodeParts(array: NpyInput | NpyUnicodeInput): [Uint8Array, Uint8Array] {
  if (Array.isArray(array.data)) return encodeUnicode(array as NpyUnicodeInput);
  const input = array as NpyInput;
  const dtype = checkInput(input);
  const { data } = input;
  return [encodeHeader(dtype, input.shape), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}

/** @internal Header and body of the .npy encoding, for writers that place them without concatenating. */
export const encodeNpyParts = encodeParts;

/** Encode as .npy bytes (C order, little-endian; unicode as '<Un' UTF-32LE). */
export function encodeNpy(array: NpyInput | NpyUnicodeInput): Uint8Array {
  const [header, body] = encodeParts(array);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/** Write atomically (temp file in the same folder, then rename). */
export async function writeNpy(path: string, array: NpyInput | NpyUnicodeInput): Promise<void> {
  await writeFileAtomic(path, encodeParts(array));
}

export function writeNpySync(path: string, array: NpyInput | NpyUnicodeInput): void {
  writeFileAtomicSync(path, encodeParts(array));
}
