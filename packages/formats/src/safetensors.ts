/**
 * Hugging Face safetensors files, read and written without Python.
 * See https://github.com/huggingface/safetensors (README, "Format").
 *
 * Layout: an 8-byte little-endian u64 N; N bytes of UTF-8 JSON header
 * `{"__metadata__": {"k": "v"}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}`
 * (padded with trailing spaces to a multiple of 8 bytes by the official writer); then the
 * data buffer, in which each tensor occupies [b, e), little-endian, C (row-major) order.
 *
 * Reading validates the header as the official library does, with one specific
 * FormatError per defect: the header length (≤ 100 MB, within the file), UTF-8, JSON
 * starting with '{', every entry (dtype, shape, data_offsets), byte length =
 * product(shape) · itemsize, offsets inside the buffer, and the tensors tiling the buffer
 * exactly (no overlap, no gap, nothing after the last tensor). Names must be unique (JSON
 * itself would let a later duplicate silently win), and `__metadata__` must map strings
 * to strings. Every tensor comes back as a fresh, aligned typed array, independent of the
 * input; F16 and BF16 as their raw 16-bit patterns in a Uint16Array (widen them with
 * float16ToFloat32 / bfloat16ToFloat32); BOOL as a Uint8Array of 0/1 (any nonzero byte
 * reads as 1). The Map lists tensors in data-offset order (the file's order).
 *
 * Writing produces what the official writer (safetensors' `serialize`) produces for the
 * same tensors: tensors sorted by descending dtype alignment, then by name (UTF-8 bytes);
 * compact JSON with `__metadata__` first (keys sorted here, for determinism); the header
 * padded with spaces to a multiple of 8 so that every tensor is aligned in the file.
 */
import { open } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafetensorsDataMap {
  F64: Float64Array;
  F32: Float32Array;
  /** IEEE half precision, raw bit patterns (see float16ToFloat32 / float32ToFloat16). */
  F16: Uint16Array;
  /** bfloat16 (the top half of a float32), raw bit patterns (see bfloat16ToFloat32). */
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U8: Uint8Array;
  /** One byte per element, values 0 or 1. */
  BOOL: Uint8Array;
}

export type SafetensorsData = SafetensorsDataMap[SafetensorsDtype];

/** One tensor; a union over dtypes, so that checking `dtype` narrows `data`. */
export type SafetensorsTensor<D extends SafetensorsDtype = SafetensorsDtype> = D extends SafetensorsDtype
  ? { dtype: D; shape: number[]; data: SafetensorsDataMap[D] }
  : never;

export interface SafetensorsContents {
  /** In data-offset order (the order of the bytes in the file). */
  tensors: Map<string, SafetensorsTensor>;
  /** The header's `__metadata__` ({} when absent). */
  metadata: Record<string, string>;
}

type Ctor<T> = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T; readonly BYTES_PER_ELEMENT: number };

const CTORS: { readonly [D in SafetensorsDtype]: Ctor<SafetensorsDataMap[D]> } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/**
 * The official Dtype enum, in its declared order ("increasing alignment"): the writer
 * sorts by this, descending, then by name.
 */
const DTYPE_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'];
/** Dtypes of the format (this and other library versions) that this module cannot hold. */
const KNOWN_UNSUPPORTED = new Set(['U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64', 'PackedI4', 'PackedU4']);

/** The official reader's limit on the header length N. */
export const SAFETENSORS_MAX_HEADER_SIZE = 100_000_000;
const METADATA_KEY = '__metadata__';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@mmmi/formats assumes a little-endian host');
}

function fail(file: string | undefined, reason: string): never {
  throw new FormatError('safetensors', file, reason);
}

function isDtype(s: string): s is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(CTORS, s);
}

function q(name: string): string {
  return JSON.stringify(name);
}

// ---------------------------------------------------------------------------------------
// Reading

/** A validated header entry: where the tensor's bytes lie in the data buffer. */
interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  entries: Entry[]; // sorted by offsets
  metadata: Record<string, string>;
}

/** N from the first 8 bytes, checked against the limit and the total size; returns N. */
function headerLength(first8: Uint8Array, total: number, file: string | undefined): number {
  if (total < 8) fail(file, `truncated: the file has ${total} bytes, fewer than the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER_SIZE)) {
    fail(file, `header length ${n} exceeds the limit of ${SAFETENSORS_MAX_HEADER_SIZE} bytes (not a safetensors file?)`);
  }
  const len = Number(n);
  if (8 + len > total) fail(file, `truncated header: header length is ${len} bytes, only ${total - 8} follow`);
  return len;
}

/**
 * The first key that appears twice in one object of `text` (valid JSON), with the key of
 * the object holding it ('' at the top level).
 */
function duplicateKey(text: string): { key: string; parent: string; depth: number } | undefined {
  // one frame per open object/array: its keys so far (null for an array) and its own key
  const stack: { keys: Set<string> | null; own: string }[] = [];
  let expectKey = false;
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, parent: top.own, depth: stack.length };
        top.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), own: lastKey });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, own: lastKey });
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1]?.keys != null;
    }
  }
  return undefined;
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function parseMetadata(value: unknown, file: string | undefined): Record<string, string> {
  // The official reader takes an Option<HashMap<String, String>>: null means none.
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(file, `${METADATA_KEY} is ${typeName(value)}, expected an object of strings`);
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(file, `${METADATA_KEY} values must be strings, but ${q(k)} is ${typeName(v)}`);
    // defineProperty: a key "__proto__" must stay an ordinary key
    Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

function parseEntry(name: string, info: unknown, file: string | undefined): Entry {
  const t = `tensor ${q(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(file, `${t}: header entry is ${typeName(info)}, expected an object`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  for (const [key, v] of [
    ['dtype', dtype],
    ['shape', shape],
    ['data_offsets', offsets],
  ] as const) {
    if (v === undefined) fail(file, `${t}: header entry has no '${key}'`);
  }
  if (typeof dtype !== 'string') fail(file, `${t}: dtype is ${typeName(dtype)}, expected a string`);
  if (!isDtype(dtype)) {
    if (KNOWN_UNSUPPORTED.has(dtype)) fail(file, `${t}: dtype ${dtype} is not supported (supported: ${Object.keys(CTORS).join(', ')})`);
    fail(file, `${t}: unknown dtype ${q(dtype)}`);
  }
  const isCount = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(file, `${t}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    fail(file, `${t}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 ≤ begin ≤ end`);
  }
  const [begin, end] = offsets as number[];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const needed = count * CTORS[dtype].BYTES_PER_ELEMENT;
  if (!Number.isSafeInteger(needed)) fail(file, `${t}: shape [${shape.join(', ')}] is too large`);
  if (needed !== end - begin) {
    fail(file, `${t}: shape [${shape.join(', ')}] of ${dtype} needs ${needed} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Parse and validate the header (the N bytes after the length) against a data buffer of `bufferLength` bytes. */
function parseHeader(headerBytes: Uint8Array, bufferLength: number, file: string | undefined): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    const shown = JSON.stringify(text.slice(0, 16));
    fail(file, `header does not start with '{' (starts ${shown}${headerBytes.length === 0 ? ', header length 0' : ''})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, `header is ${typeName(json)}, expected a JSON object`);
  const dup = duplicateKey(text);
  if (dup !== undefined) {
    if (dup.depth === 1) fail(file, `tensor name ${q(dup.key)} appears more than once in the header`);
    fail(file, `key ${q(dup.key)} appears more than once in the header entry ${q(dup.parent)}`);
  }

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) metadata = parseMetadata(info, file);
    else entries.push(parseEntry(name, info, file));
  }
  for (const e of entries) {
    if (e.end > bufferLength) {
      fail(file, `tensor ${q(e.name)}: data_offsets [${e.begin}, ${e.end}] lie outside the ${bufferLength}-byte data buffer (truncated file?)`);
    }
  }
  // The official rule: sorted by offsets, each tensor starts where the previous one ends,
  // and the last one ends at the end of the file. Stable sort: ties keep header order.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.begin < pos) {
      fail(file, `tensor ${q(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${q(prev!.name)} at [${prev!.begin}, ${prev!.end}]`);
    }
    if (e.begin > pos) {
      fail(file, `bytes [${pos}, ${e.begin}) of the data buffer, before tensor ${q(e.name)}, belong to no tensor`);
    }
    pos = e.end;
    prev = e;
  }
  if (pos !== bufferLength) {
    fail(file, `bytes [${pos}, ${bufferLength}) at the end of the data buffer belong to no tensor`);
  }
  return { entries, metadata };
}

/** Wrap `raw` (exclusively owned, starting at offset 0 of its buffer, so aligned) as the entry's typed array. */
function toTensor(e: Entry, raw: Uint8Array): SafetensorsTensor {
  if (e.dtype === 'BOOL') for (let i = 0; i < raw.length; i++) raw[i] = raw[i] === 0 ? 0 : 1;
  const ctor = CTORS[e.dtype];
  const data = new ctor(raw.buffer as ArrayBuffer, raw.byteOffset, raw.byteLength / ctor.BYTES_PER_ELEMENT);
  return { dtype: e.dtype, shape: e.shape, data } as SafetensorsTensor;
}

/** Decode a whole safetensors file held in memory. `file` only labels error messages. */
export function parseSafetensors(bytes: Uint8Array, file?: string): SafetensorsContents {
  const n = headerLength(bytes.subarray(0, 8), bytes.length, file);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, file);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    // A fresh buffer per tensor: aligned whatever the input's offset, independent of it.
    const raw = new Uint8Array(e.end - e.begin);
    raw.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, toTensor(e, raw));
  }
  return { tensors, metadata };
}

const READ_CHUNK = 1 << 30;

/**
 * Read a safetensors file. Reads the header, validates it against the file size, then
 * reads each tensor straight into its own buffer (no whole-file copy, so files over
 * Node's 2 GiB readFile limit work).
 */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  const fh = await open(path, 'r');
  try {
    const total = (await fh.stat()).size;
    const readAt = async (length: number, position: number): Promise<Uint8Array> => {
      const out = new Uint8Array(length);
      for (let off = 0; off < length;) {
        const { bytesRead } = await fh.read(out, off, Math.min(READ_CHUNK, length - off), position + off);
        if (bytesRead === 0) fail(path, `the file shrank while being read (${position + off} of ${total} bytes)`);
        off += bytesRead;
      }
      return out;
    };
    const n = headerLength(await readAt(Math.min(8, total), 0), total, path);
    const dataStart = 8 + n;
    const { entries, metadata } = parseHeader(await readAt(n, 8), total - dataStart, path);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const e of entries) tensors.set(e.name, toTensor(e, await readAt(e.end - e.begin, dataStart + e.begin)));
    return { tensors, metadata };
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------
// Writing

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkString(s: unknown, what: string): string {
  if (typeof s !== 'string') throw new Error(`encodeSafetensors: ${what} is ${typeName(s)}, expected a string`);
  if (LONE_SURROGATE.test(s)) throw new Error(`encodeSafetensors: ${what} ${q(s)} holds a lone surrogate, which UTF-8 cannot encode`);
  return s;
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function checkTensor(name: string, t: SafetensorsTensor): void {
  const where = `encodeSafetensors: tensor ${q(name)}`;
  if (typeof t !== 'object' || t === null) throw new Error(`${where} is ${typeName(t)}, expected { dtype, shape, data }`);
  const { dtype, shape, data } = t as { dtype: string; shape: unknown; data: unknown };
  if (!isDtype(dtype)) throw new Error(`${where}: unsupported dtype ${q(String(dtype))} (supported: ${Object.keys(CTORS).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where}: shape [${String(shape)}] must be non-negative integers`);
  }
  const ctor = CTORS[dtype];
  if (!(data instanceof ctor)) {
    throw new Error(`${where}: dtype ${dtype} needs a ${ctor.name}, got ${Object.prototype.toString.call(data).slice(8, -1)}`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`${where}: shape [${shape.join(', ')}] has ${count} elements, data has ${data.length}`);
  if (dtype === 'BOOL' && (data as Uint8Array).some((v) => v > 1)) throw new Error(`${where}: BOOL data must contain only 0 and 1`);
}

/**
 * Encode as safetensors: returns the chunks of the file, in order (the length and header
 * first, then views of each tensor's data, not copies: keep the data unchanged until the
 * chunks are written). Tensor data is written as given (little-endian, C order).
 */
export function encodeSafetensors(
  tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const items = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of items) {
    checkString(name, 'tensor name');
    if (name === METADATA_KEY) throw new Error(`encodeSafetensors: ${q(METADATA_KEY)} is reserved for the metadata, not a tensor name`);
    checkTensor(name, t);
  }
  const rank = (d: SafetensorsDtype) => DTYPE_ORDER.indexOf(d);
  items.sort(([an, a], [bn, b]) => rank(b.dtype) - rank(a.dtype) || byUtf8(an, bn));

  // Built by hand, not JSON.stringify(object): JS objects put integer-like keys ("0") first.
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null) throw new Error('encodeSafetensors: metadata must be an object of strings');
    const keys = Object.keys(metadata).sort(byUtf8);
    const fields = keys.map((k) => `${q(checkString(k, 'metadata key'))}:${q(checkString(metadata[k], `metadata value of ${q(k)}`))}`);
    parts.push(`${q(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of items) {
    const end = offset + t.data.byteLength;
    parts.push(`${q(name)}:{"dtype":${q(t.dtype)},"shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const n = json.length + ((8 - (json.length % 8)) % 8);
  if (n > SAFETENSORS_MAX_HEADER_SIZE) {
    throw new Error(`encodeSafetensors: the header would be ${n} bytes, over the format's ${SAFETENSORS_MAX_HEADER_SIZE}-byte limit`);
  }
  const head = new Uint8Array(8 + n).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
  head.set(json, 8);
  const chunks: Uint8Array[] = [head];
  for (const [, t] of items) {
    if (t.data.byteLength > 0) chunks.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return chunks;
}

/** Write atomically (temp file in the same folder, then rename). */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------
// 16-bit floats

/**
 * IEEE half → float32, exact for every value (subnormals, ±0, ±inf); NaNs keep their
 * sign and payload (shifted into the top of the float32 significand), as NumPy does.
 */
export function float16ToFloat32(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer); // written as bits: a NaN's payload survives
  for (let i = 0; i < u16.length; i++) {
    const h = u16[i];
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) {
      bits[i] = sign | 0x7f800000 | (mant << 13);
    } else if (exp !== 0) {
      bits[i] = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant === 0) {
      bits[i] = sign;
    } else {
      // subnormal half: normalise (mant · 2^-24 has its leading one at 2^(e-24))
      let e = 113;
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      bits[i] = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
  }
  return out;
}

/** bfloat16 → float32: exact (bfloat16 is the top 16 bits of a float32). */
export function bfloat16ToFloat32(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) bits[i] = u16[i] << 16;
  return out;
}

/**
 * float32 → IEEE half bit patterns, rounding to nearest, ties to even, as NumPy's
 * `astype(np.float16)`: values from 65520 up overflow to ±inf, tiny ones go to subnormals
 * or ±0; NaNs keep their sign and the top 10 payload bits (at least one set, so a NaN
 * stays a NaN).
 */
export function float32ToFloat16(f32: Float32Array): Uint16Array {
  const out = new Uint16Array(f32.length);
  // Read as bits: a JS number made from a Float32Array NaN need not keep its payload.
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  for (let i = 0; i < f32.length; i++) {
    const f = bits[i];
    const sign = (f >>> 16) & 0x8000;
    const a = f & 0x7fffffff;
    let h: number;
    if (a >= 0x7f800000) {
      const payload = (a >>> 13) & 0x3ff;
      h = a === 0x7f800000 ? 0x7c00 : 0x7c00 | (payload === 0 ? 1 : payload);
    } else if (a >= 0x477ff000) {
      // ≥ 65520, halfway between 65504 (odd significand) and 65536: to infinity (the
      // normal branch would get there too, by the carry, up to 65536)
      h = 0x7c00;
    } else if (a >= 0x38800000) {
      // normal half: drop 13 significand bits, round to nearest even; a carry into the
      // exponent is the right result
      h = (((a >>> 23) - 112) << 10) | ((a >>> 13) & 0x3ff);
      const rest = a & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    } else {
      // subnormal half or zero: the result counts units of 2^-24. The float32 value is
      // sig · 2^(E-150) (E ≥ 1), i.e. sig / 2^(126-E) units.
      const e = a >>> 23;
      const shift = 126 - e;
      if (e === 0 || shift > 24) {
        h = 0; // below 2^-25 (half the smallest subnormal): rounds to zero
      } else {
        const sig = 0x800000 | (a & 0x7fffff);
        h = sig >>> shift;
        const rest = sig & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        if (rest > half || (rest === half && (h & 1) === 1)) h++;
      }
    }
    out[i] = sign | h;
  }
  return out;
}
