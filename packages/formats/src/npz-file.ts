/**
 * NumPy .npz archives read lazily from a file, for archives too large to hold (dataset
 * shards of many GiB; readNpz stops at 2 GiB). open() reads the ZIP directory and each
 * member's .npy header only; read() loads one array; readElements() loads a run of
 * elements of a stored (np.savez, NpzWriter without compress), C-order numeric array
 * straight from its place in the file.
 *
 * Keys and their order are those of readNpz / np.load (the '.npy' suffix dropped, entries
 * not ending in '.npy' skipped, the last of duplicate names wins). Members are decoded by
 * the same code as readNpz (parseNpyAny, readZip's parser via ZipFile), with the same
 * FormatErrors; a member whose dtype this package cannot hold is listed by open() and
 * fails only when read.
 */
import { DTYPE_CTORS, itemSize, resolveDescr, resolveUnicodeDescr, type NpyData, type NpyDtype } from './npy-dtype.js';
import { byteswapInPlace, parseNpyAny, readHeader, type Header, type NpyAnyArray } from './npy.js';
import { ZipFile } from './zip-file.js';
import { FormatError } from './errors.js';

export interface NpzArrayInfo {
  /** The key (np.load's), without '.npy'. */
  name: string;
  /** As read() returns it: '<f4', '|u1', '<U9', ... (big-endian files report the little-endian name; an unsupported descr as written). */
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** Stored uncompressed (np.savez), so readElements can fetch ranges of it. */
  stored: boolean;
  /** Bytes of data (after the .npy header). */
  byteLength: number;
}

interface Member {
  info: NpzArrayInfo;
  entry: string;
  header: Header;
  entrySize: number;
}

/** Bytes read first for a member's header (NumPy writes 128 for typical arrays). */
const HEADER_PROBE = 256;
/** Larger declared headers are refused (NumPy's own limit is 10 000 bytes). */
const MAX_HEADER = 1 << 20;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class NpzFile {
  private constructor(
    private readonly zip: ZipFile,
    private readonly members: Map<string, Member>,
    readonly arrays: Map<string, NpzArrayInfo>,
  ) {}

  get path(): string {
    return this.zip.path;
  }

  /** Open `path`, reading its ZIP directory and each member's .npy header. */
  static async open(path: string): Promise<NpzFile> {
    const zip = await ZipFile.open(path);
    try {
      const members = new Map<string, Member>();
      for (const { name } of zip.entries) {
        const key = name.slice(0, -'.npy'.length);
        if (!name.endsWith('.npy') || members.has(key)) continue;
        members.set(key, await readMember(zip, key, name));
      }
      return new NpzFile(zip, members, new Map([...members].map(([k, m]) => [k, m.info])));
    } catch (err) {
      await zip.close();
      throw err;
    }
  }

  /** The keys of an .npz (np.load's, in its order), from the ZIP directory alone. */
  static async keys(path: string): Promise<string[]> {
    const zip = await ZipFile.open(path);
    try {
      return [...new Set(zip.entries.filter((e) => e.name.endsWith('.npy')).map((e) => e.name.slice(0, -'.npy'.length)))];
    } finally {
      await zip.close();
    }
  }

  /** One whole array, as readNpz would return it. */
  async read(name: string): Promise<NpyAnyArray> {
    const m = this.member(name);
    return parseNpyAny(await this.zip.read(m.entry), `${this.path}/${m.entry}`);
  }

  /**
   * Elements [start, start + count) in C order of a stored numeric array, as the typed
   * array of its dtype (big-endian data swapped, bools as 0/1). An Error for compressed
   * members and multi-dimensional Fortran-order arrays (use read()), a RangeError for a
   * range outside the array.
   */
  async readElements(name: string, start: number, count: number): Promise<NpyData> {
    const m = this.member(name);
    const { info, header } = m;
    const who = `NpzFile.readElements: array '${name}' of ${this.path}`;
    const resolved = resolveDescr(header.descr);
    if (typeof resolved === 'string') {
      if (resolveUnicodeDescr(header.descr) !== undefined) throw new Error(`${who} holds strings (${info.dtype}); use read()`);
      throw new FormatError('npy', `${this.path}/${m.entry}`, resolved);
    }
    if (!info.stored) throw new Error(`${who} is compressed (np.savez_compressed); only stored arrays can be read in parts: use read(), or save with np.savez`);
    if (info.fortranOrder && info.shape.length > 1) throw new Error(`${who} is in Fortran order; only C-order arrays can be read in parts: use read()`);
    const total = product(info.shape);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > total) {
      throw new RangeError(`${who}: elements [${start}, ${start} + ${count}) are not within its ${total} (shape (${info.shape.join(', ')}))`);
    }
    const { dtype, bigEndian } = resolved;
    const size = itemSize(dtype);
    const available = m.entrySize - header.dataOffset;
    if (available < info.byteLength) {
      throw new FormatError(
        'npy',
        `${this.path}/${m.entry}`,
        `truncated data: shape (${info.shape.join(', ')}) of ${header.descr} needs ${info.byteLength} bytes, file has ${available}`,
      );
    }
    let raw = await this.zip.readRange(m.entry, header.dataOffset + start * size, count * size);
    if (raw.byteOffset !== 0 || raw.buffer.byteLength !== raw.length) raw = raw.slice();
    if (bigEndian) byteswapInPlace(raw, size);
    if (dtype === '|b1') for (let i = 0; i < raw.length; i++) raw[i] = raw[i] === 0 ? 0 : 1;
    return new DTYPE_CTORS[dtype as NpyDtype](raw.buffer as ArrayBuffer);
  }

  async close(): Promise<void> {
    await this.zip.close();
  }

  private member(name: string): Member {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`${this.path}: no array '${name}' (arrays: ${[...this.members.keys()].join(', ') || 'none'})`);
    return m;
  }
}

async function readMember(zip: ZipFile, key: string, entryName: string): Promise<Member> {
  const label = `${zip.path}/${entryName}`;
  const entry = zip.entry(entryName);
  let bytes = await zip.readStart(entryName, HEADER_PROBE);
  // the header's length field, to fetch a header longer than the probe (readHeader checks the rest)
  if (bytes.length >= 12 && bytes[0] === 0x93) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerEnd = bytes[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
    if (headerEnd > MAX_HEADER) throw new FormatError('npy', label, `the header declares ${headerEnd} bytes, more than the ${MAX_HEADER} this reader accepts`);
    if (headerEnd > bytes.length) bytes = await zip.readStart(entryName, headerEnd);
  }
  const header = readHeader(bytes, label);
  const count = product(header.shape);
  const resolved = resolveDescr(header.descr);
  const unicode = resolveUnicodeDescr(header.descr);
  let dtype = header.descr;
  let byteLength = entry.size - header.dataOffset;
  if (typeof resolved !== 'string') {
    dtype = resolved.dtype;
    byteLength = count * itemSize(resolved.dtype);
  } else if (unicode !== undefined) {
    dtype = `<U${unicode.width}`;
    byteLength = count * unicode.width * 4;
  }
  if (!Number.isSafeInteger(byteLength)) throw new FormatError('npy', label, `shape (${header.shape.join(', ')}) is impossibly large`);
  return {
    info: { name: key, dtype, shape: header.shape, fortranOrder: header.fortranOrder, stored: entry.method === 0, byteLength },
    entry: entryName,
    header,
    entrySize: entry.size,
  };
}
