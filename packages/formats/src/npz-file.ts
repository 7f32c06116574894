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
import { crc32 } from './crc32.js';

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
  /** CRC-32 of the entry's .npy header bytes, and the archive's CRC-32 of the whole entry. */
  headerCrc: number;
  entryCrc: number;
}

/**
 * The CRC-32 of a stored array's ZIP entry, checked while the array is read in order by
 * readElements (pass the check to each call): the .npy header's bytes are counted when the
 * check is made, each range as it is read; the read that completes the entry compares the
 * result with the archive's CRC-32 and throws a FormatError naming the file and entry on a
 * mismatch. A read that does not continue where the previous one stopped abandons the
 * check: a pass that starts later, skips or repeats verifies nothing.
 */
export class EntryCrcCheck {
  private crc: number;
  private next: number;
  state: 'reading' | 'verified' | 'abandoned' = 'reading';

  /** @internal made by NpzFile.crcCheck */
  constructor(
    readonly label: string,
    headerCrc: number,
    dataOffset: number,
    private readonly end: number,
    private readonly expected: number,
  ) {
    this.crc = headerCrc;
    this.next = dataOffset;
  }

  /** The entry's bytes [offset, offset + bytes.length), as stored. */
  feed(offset: number, bytes: Uint8Array): void {
    if (this.state !== 'reading') return;
    if (offset !== this.next) {
      this.state = 'abandoned';
      return;
    }
    this.crc = crc32(bytes, this.crc);
    this.next += bytes.length;
    if (this.next < this.end) return;
    if (this.crc !== this.expected) {
      this.state = 'abandoned';
      const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
      throw new FormatError('npz', this.label, `corrupt: the CRC-32 of its bytes is ${hex(this.crc)}, the archive declares ${hex(this.expected)}`);
    }
    this.state = 'verified';
  }

  /** Where the next read must start to keep the check going. */
  get nextOffset(): number {
    return this.next;
  }
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

  /** A CRC-32 check of array `name`'s entry, for reading it in order with readElements. */
  crcCheck(name: string): EntryCrcCheck {
    const m = this.member(name);
    return new EntryCrcCheck(`${this.path}/${m.entry}`, m.headerCrc, m.header.dataOffset, m.entrySize, m.entryCrc);
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
  async readElements(name: string, start: number, count: number, check?: EntryCrcCheck): Promise<NpyData> {
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
    const offset = header.dataOffset + start * size;
    let raw = await this.zip.readRange(m.entry, offset, count * size);
    if (check) {
      check.feed(offset, raw);
      // bytes after the data (none as NumPy writes) complete the entry once the data are read
      const dataEnd = header.dataOffset + info.byteLength;
      if (check.state === 'reading' && check.nextOffset === dataEnd && m.entrySize > dataEnd)
        check.feed(dataEnd, await this.zip.readRange(m.entry, dataEnd, m.entrySize - dataEnd));
    }
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
    headerCrc: crc32(bytes.subarray(0, header.dataOffset)),
    entryCrc: entry.crc32,
  };
}
