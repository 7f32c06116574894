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
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import { FormatError, hexPreview } from './errors.js';
import { DTYPE_CTORS, dtypeOf, itemSize, resolveDescr, type NpyData, type NpyDataMap, type NpyDtype } from './npy-dtype.js';
import { isDict, isTuple, parsePyLiteral, PyLiteralError, type PyValue } from './pyliteral.js';

export type { NpyData, NpyDataMap, NpyDtype } from './npy-dtype.js';

/** A decoded array; a union over dtypes so that checking `dtype` narrows `data`. */
export type NpyArray<D extends NpyDtype = NpyDtype> = D extends NpyDtype
  ? { dtype: D; shape: number[]; data: NpyDataMap[D] }
  : never;

export interface NpyInput {
  shape: readonly number[];
  /** C-order (row-major) elements; length must equal the product of `shape`. */
  data: NpyData;
  /** Defaults to the dtype matching the typed array; give '|b1' to store a Uint8Array as bool. */
  dtype?: NpyDtype;
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

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function readHeader(bytes: Uint8Array, file: string | undefined): Header {
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

function byteswapInPlace(bytes: Uint8Array, size: number): void {
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

/** Decode .npy bytes. `file` only labels error messages. */
export function parseNpy(bytes: Uint8Array, file?: string): NpyArray {
  const header = readHeader(bytes, file);
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

export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readFile(path), path);
}

export function readNpySync(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

/** Narrow a decoded array to one dtype, or throw naming the file and both dtypes. */
export function requireDtype<D extends NpyDtype>(array: NpyArray, dtype: D, file?: string): NpyArray<D> {
  if (array.dtype !== dtype) fail(file, `expected dtype ${dtype}, found ${array.dtype}`);
  return array as NpyArray<D>;
}

function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function checkInput(array: NpyInput): NpyDtype {
  const { shape, data } = array;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`encodeNpy: shape [${shape.join(', ')}] must be non-negative integers`);
  }
  if (product(shape) !== data.length) {
    throw new Error(`encodeNpy: shape (${shape.join(', ')}) has ${product(shape)} elements, data has ${data.length}`);
  }
  const natural = dtypeOf(data);
  if (natural === undefined) throw new Error(`encodeNpy: unsupported data type ${Object.prototype.toString.call(data)}`);
  const dtype = array.dtype ?? natural;
  if (!(dtype in DTYPE_CTORS)) throw new Error(`encodeNpy: unsupported dtype '${dtype}'`);
  const compatible = dtype === natural || (dtype === '|b1' && natural === '|u1');
  if (!compatible) throw new Error(`encodeNpy: dtype ${dtype} does not match the data (${natural}); convert the data first`);
  if (dtype === '|b1' && (data as Uint8Array).some((v) => v > 1)) {
    throw new Error('encodeNpy: bool (|b1) data must contain only 0 and 1');
  }
  return dtype;
}

/** The header (magic, version, length, padded dict) exactly as np.save lays it out. */
function encodeHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
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

function encodeParts(array: NpyInput): [Uint8Array, Uint8Array] {
  const dtype = checkInput(array);
  const { data } = array;
  return [encodeHeader(dtype, array.shape), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}

/** Encode as .npy bytes (C order, little-endian). */
export function encodeNpy(array: NpyInput): Uint8Array {
  const [header, body] = encodeParts(array);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/** Write atomically (temp file in the same folder, then rename). */
export async function writeNpy(path: string, array: NpyInput): Promise<void> {
  await writeFileAtomic(path, encodeParts(array));
}

export function writeNpySync(path: string, array: NpyInput): void {
  writeFileAtomicSync(path, encodeParts(array));
}
