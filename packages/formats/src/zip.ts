/**
 * ZIP archives (the container of NumPy .npz and PyTorch .pt/.pth files), read from bytes
 * in memory; the streaming writer lives in zip-writer.ts and is re-exported here.
 *
 * Reading follows what Python's zipfile does, so that a file means the same thing here as
 * in NumPy and PyTorch: the central directory is authoritative for names, sizes and
 * CRCs; a local header contributes only the lengths of its own name and extra field
 * (PyTorch pads those extra fields to align stored data to 64 bytes, NumPy puts ZIP64
 * sizes there), so any extra field works. ZIP64 end records and extra fields are read.
 * Of duplicate names the LAST entry wins, as in zipfile and hence np.load; `entries` still
 * lists them all.
 *
 * Files are hostile until proven otherwise: every offset and length is checked against
 * the buffer before use, the declared entry count must fit the central directory,
 * entries may not overlap (the trick behind "overlapping" zip bombs), nothing is
 * allocated from a declared size above MAX_ENTRY_SIZE, and inflation stops at the
 * declared size. Every failure is a FormatError naming the file and the cause.
 *
 * Not supported (clear error): encryption, compression other than stored/deflate,
 * multi-disk archives, data prepended before the first entry (self-extracting stubs).
 */
import { inflateRawSync } from 'node:zlib';
import { crc32 } from './crc32.js';
import { FormatError, hexPreview } from './errors.js';
import * as Z from './zip-records.js';

export { crc32 } from './crc32.js';
export { ZipWriter, type ZipEntryOptions, type ZipEntryWriter, type ZipWriterOptions } from './zip-writer.js';

export interface ZipEntry {
  /** Path inside the archive, '/'-separated, decoded as UTF-8 (CP437 if not valid UTF-8). */
  name: string;
  /** 0 = stored, 8 = deflate; archives using anything else are rejected. */
  method: 0 | 8;
  compressedSize: number;
  /** Uncompressed size in bytes. */
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

export interface ZipArchive {
  /** Every entry in central-directory order, duplicates included. */
  entries: ZipEntry[];
  has(name: string): boolean;
  /**
   * The entry's uncompressed bytes, CRC-checked. Stored entries come back as views into
   * the archive's bytes (no copy: copy before mutating); deflated ones as fresh buffers.
   */
  read(name: string): Uint8Array;
}

/**
 * Largest uncompressed entry read() returns. Beyond it nothing is allocated: a larger
 * declared size is refused up front, and inflation never produces more than declared.
 */
export const MAX_ENTRY_SIZE = 2 ** 31;

const METHOD_NAMES: Record<number, string> = { 1: 'shrink', 6: 'implode', 9: 'deflate64', 12: 'bzip2', 14: 'LZMA', 93: 'zstd', 95: 'xz', 99: 'AES encryption' };

const CP437_HIGH = 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 (what the flag-11 bit promises and what every modern writer uses); CP437, the format's historical default, for bytes that are not valid UTF-8. */
function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return Array.from(bytes, (b) => (b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80])).join('');
  }
}

function magicHint(bytes: Uint8Array): string {
  if (bytes[0] === 0x93 && bytes[1] === 0x4e && bytes[2] === 0x55) return ' (this looks like a single .npy array, not an .npz archive)';
  if (bytes[0] === 0x80) return ' (this looks like a bare Python pickle, e.g. a legacy torch.save file, not a zip archive)';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return ' (this looks like a gzip file, not a zip archive)';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return ' (it starts like a zip archive, so it is probably truncated)';
  return '';
}

/** @internal An entry as the parser found it in the central directory. */
export interface Located {
  entry: ZipEntry;
  flags: number;
  /** The name's raw bytes, to compare with the local header's copy. */
  nameBytes: Uint8Array;
  /** Where the next entry (or the central directory) starts: the entry's data must end by then. */
  limit: number;
}

/** @internal */
export interface Directory {
  count: number;
  offset: number;
  size: number;
  /** Where the central directory must end: the first end record. */
  limit: number;
}

/**
 * @internal Where a Parser's bytes sit in the file. A parser over a whole file in memory
 * has base 0 and size = bytes.length; the file-backed reader (zip-file.ts) parses windows
 * of a file (its tail, the central directory, one local header) with the same code, every
 * offset absolute. `head` (the file's first bytes) only feeds error messages.
 */
export interface ParserWindow {
  base: number;
  fileSize: number;
  head: Uint8Array;
}

/**
 * @internal The one ZIP parser, shared by readZip and ZipFile. It works on `bytes`, which
 * hold the file's bytes [base, base + bytes.length); offsets passed to it are absolute file
 * offsets. Each step documents which bytes its window must hold.
 */
export class Parser {
  private readonly view: DataView;
  readonly base: number;
  readonly fileSize: number;
  private readonly head: Uint8Array;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string | undefined,
    window?: ParserWindow,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.base = window?.base ?? 0;
    this.fileSize = window?.fileSize ?? bytes.length;
    this.head = window?.head ?? bytes;
  }

  /** The window's bytes [off, off + len) (clipped to the window), absolute offsets. */
  slice(off: number, len: number): Uint8Array {
    const from = Math.max(0, off - this.base);
    return this.bytes.subarray(from, Math.max(from, Math.min(this.bytes.length, off - this.base + len)));
  }

  /** Whether the window holds the file's bytes [off, off + len). */
  holds(off: number, len: number): boolean {
    return off >= this.base && off + len <= this.base + this.bytes.length;
  }

  fail(reason: string): never {
    throw new FormatError('zip', this.file, reason);
  }

  u16(off: number): number {
    return this.view.getUint16(off - this.base, true);
  }

  u32(off: number): number {
    return this.view.getUint32(off - this.base, true);
  }

  /** A 64-bit field as a number, refusing values beyond 2^53 (no real file has them). */
  u64(off: number, what: string): number {
    const v = this.view.getBigUint64(off - this.base, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is impossibly large (${v})`);
    return Number(v);
  }

  /**
   * Last end-of-central-directory signature whose record (and comment) fits the file.
   * The window must end at the end of the file and hold its last EOCD_SIZE + MAX_COMMENT +
   * ZIP64_LOCATOR_SIZE bytes (or all of it).
   */
  findEocd(): number {
    const { bytes, head, fileSize } = this;
    if (fileSize < Z.EOCD_SIZE) {
      this.fail(`not a zip file: ${fileSize} bytes is too short for the end-of-central-directory record [${hexPreview(head)}]${magicHint(head)}`);
    }
    const stop = Math.max(0, fileSize - Z.EOCD_SIZE - Z.MAX_COMMENT);
    for (let pos = fileSize - Z.EOCD_SIZE; pos >= stop; pos--) {
      if (bytes[pos - this.base] === 0x50 && this.u32(pos) === Z.SIG_EOCD && pos + Z.EOCD_SIZE + this.u16(pos + 20) <= fileSize) return pos;
    }
    this.fail(`not a zip file: no end-of-central-directory record in its last ${fileSize - stop} bytes [${hexPreview(head)}]${magicHint(head)}`);
  }

  /** The offset of the ZIP64 end record if a ZIP64 locator precedes the end record (window as for findEocd). */
  zip64Locator(eocd: number): number | undefined {
    const loc = eocd - Z.ZIP64_LOCATOR_SIZE;
    if (loc < 0 || this.u32(loc) !== Z.SIG_ZIP64_LOCATOR) return undefined;
    const disks = this.u32(loc + 16);
    if (disks > 1) this.fail(`multi-disk (split) archives are not supported (${disks} disks)`);
    const rec = this.u64(loc + 8, 'ZIP64 end record offset');
    if (rec + Z.ZIP64_EOCD_SIZE > loc) {
      this.fail(`the ZIP64 end record offset ${rec} points past its locator at ${loc} (file size ${this.fileSize})`);
    }
    return rec;
  }

  /** The directory the ZIP64 end record at `rec` declares (the window must hold its ZIP64_EOCD_SIZE bytes). */
  zip64Directory(rec: number): Directory {
    if (this.u32(rec) !== Z.SIG_ZIP64_EOCD) this.fail(`no ZIP64 end record at offset ${rec} [${hexPreview(this.slice(rec, 4), 4)}]`);
    return {
      count: this.u64(rec + 32, 'ZIP64 entry count'),
      size: this.u64(rec + 40, 'ZIP64 central directory size'),
      offset: this.u64(rec + 48, 'ZIP64 central directory offset'),
      limit: rec,
    };
  }

  /** The directory the classic end record declares. */
  classicDirectory(eocd: number): Directory {
    return { count: this.u16(eocd + 10), size: this.u32(eocd + 12), offset: this.u32(eocd + 16), limit: eocd };
  }

  /** For a window holding the whole file. */
  directory(eocd: number): Directory {
    const rec = this.zip64Locator(eocd);
    return rec === undefined ? this.classicDirectory(eocd) : this.zip64Directory(rec);
  }

  checkDirectory(dir: Directory): void {
    if (dir.offset + dir.size > dir.limit) {
      const z64 = dir.offset === Z.U32_SENTINEL || dir.size === Z.U32_SENTINEL ? ' (ZIP64 placeholders without a ZIP64 locator)' : '';
      this.fail(
        `the central directory (offset ${dir.offset}, size ${dir.size}) extends past the end record at ${dir.limit} (file size ${this.fileSize})${z64}`,
      );
    }
    if (dir.count * Z.CENTRAL_SIZE > dir.size) {
      this.fail(
        `the end record declares ${dir.count} entries, but a central directory of ${dir.size} bytes has room for at most ${Math.floor(dir.size / Z.CENTRAL_SIZE)}`,
      );
    }
  }

  /** Sizes and offset, replacing 0xFFFFFFFF placeholders by the ZIP64 extra field's values, in the order the format fixes. */
  zip64Fields(name: string, extraStart: number, extraEnd: number, size: number, csize: number, offset: number): [number, number, number] {
    const wanted = [size, csize, offset].map((v) => v === Z.U32_SENTINEL);
    if (!wanted.includes(true)) return [size, csize, offset];
    for (let p = extraStart; p + 4 <= extraEnd;) {
      const id = this.u16(p);
      const len = this.u16(p + 2);
      if (p + 4 + len > extraEnd) break;
      if (id === Z.EXTRA_ZIP64) {
        const out = [size, csize, offset];
        let q = p + 4;
        const labels = ['size', 'compressed size', 'local header offset'];
        for (let i = 0; i < 3; i++) {
          if (!wanted[i]) continue;
          if (q + 8 > p + 4 + len) this.fail(`entry '${name}': its ZIP64 extra field (${len} bytes) lacks the ${labels[i]}`);
          out[i] = this.u64(q, `entry '${name}': ZIP64 ${labels[i]}`);
          q += 8;
        }
        return out as [number, number, number];
      }
      p += 4 + len;
    }
    this.fail(`entry '${name}' has ZIP64 placeholder sizes/offset (0xFFFFFFFF) but no ZIP64 extra field`);
  }

  /** The entries of the central directory (the window must hold it). */
  entries(dir: Directory): Located[] {
    const end = dir.offset + dir.size;
    const out: Located[] = [];
    let p = dir.offset;
    for (let i = 0; i < dir.count; i++) {
      if (p + Z.CENTRAL_SIZE > end) this.fail(`central directory entry #${i} at offset ${p} runs past the directory's end at ${end}`);
      if (this.u32(p) !== Z.SIG_CENTRAL) {
        this.fail(`central directory entry #${i} at offset ${p} has a bad signature [${hexPreview(this.slice(p, 4), 4)}]`);
      }
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      const next = p + Z.CENTRAL_SIZE + nameLen + extraLen + commentLen;
      if (next > end) this.fail(`central directory entry #${i} at offset ${p} (name, extra and comment) runs past the directory's end at ${end}`);
      // a copy: a window's buffer must not be kept alive by its entries
      const nameBytes = this.slice(p + Z.CENTRAL_SIZE, nameLen).slice();
      const name = decodeName(nameBytes);
      if (method !== Z.METHOD_STORED && method !== Z.METHOD_DEFLATE) {
        const label = METHOD_NAMES[method] ? ` (${METHOD_NAMES[method]})` : '';
        this.fail(`entry '${name}' uses compression method ${method}${label}; only stored (0) and deflate (8) are supported`);
      }
      const extraStart = p + Z.CENTRAL_SIZE + nameLen;
      const [size, compressedSize, localHeaderOffset] = this.zip64Fields(
        name,
        extraStart,
        extraStart + extraLen,
        this.u32(p + 24),
        this.u32(p + 20),
        this.u32(p + 42),
      );
      const entry: ZipEntry = { name, method, compressedSize, size, crc32: this.u32(p + 16), localHeaderOffset };
      out.push({ entry, flags, nameBytes, limit: dir.offset });
      p = next;
    }
    return out;
  }

  /**
   * Each entry occupies at least its local header, name and compressed data; those spans
   * must lie inside the file, before the central directory, and must not overlap.
   */
  checkLayout(located: Located[], dir: Directory): void {
    const byOffset = [...located].sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
    for (let i = 0; i < byOffset.length; i++) {
      const { entry, nameBytes } = byOffset[i];
      const minEnd = entry.localHeaderOffset + Z.LOCAL_SIZE + nameBytes.length + entry.compressedSize;
      if (minEnd > this.fileSize) {
        this.fail(
          `entry '${entry.name}' extends past the end of the file (offset ${entry.localHeaderOffset}, size ${entry.compressedSize}, file size ${this.fileSize})`,
        );
      }
      const next = byOffset[i + 1]?.entry;
      byOffset[i].limit = next?.localHeaderOffset ?? dir.offset;
      if (next !== undefined && minEnd > next.localHeaderOffset) {
        this.fail(
          `entries '${entry.name}' (offset ${entry.localHeaderOffset}, compressed size ${entry.compressedSize}) and '${next.name}' (offset ${next.localHeaderOffset}) overlap: a corrupt archive or a zip bomb`,
        );
      }
      if (next === undefined && minEnd > dir.offset) {
        this.fail(
          `entry '${entry.name}' (offset ${entry.localHeaderOffset}, compressed size ${entry.compressedSize}) runs into the central directory at offset ${dir.offset}`,
        );
      }
    }
  }

  /**
   * Check the entry's local header and return the absolute offset of its data. The window
   * must hold the local header and the name (LOCAL_SIZE + the central name's length bytes
   * from the entry's offset, which checkLayout guarantees are inside the file).
   */
  dataStart(loc: Located): number {
    const { entry, flags, nameBytes, limit } = loc;
    const { name, localHeaderOffset: off, compressedSize } = entry;
    if (flags & Z.FLAG_ENCRYPTED) this.fail(`entry '${name}' is encrypted, which is not supported`);
    if (this.u32(off) !== Z.SIG_LOCAL) {
      this.fail(`entry '${name}': no local file header at offset ${off} [${hexPreview(this.slice(off, 4), 4)}]`);
    }
    const localNameLen = this.u16(off + 26);
    const localName = this.slice(off + Z.LOCAL_SIZE, localNameLen);
    if (localNameLen !== nameBytes.length || !localName.every((b, i) => b === nameBytes[i])) {
      this.fail(`entry '${name}': its local header names it '${decodeName(localName)}'`);
    }
    const start = off + Z.LOCAL_SIZE + localNameLen + this.u16(off + 28);
    if (start + compressedSize > this.fileSize) {
      this.fail(`entry '${name}' extends past the end of the file (offset ${start}, size ${compressedSize}, file size ${this.fileSize})`);
    }
    if (start + compressedSize > limit) {
      this.fail(
        `entry '${name}': its local header's extra field (${this.u16(off + 28)} bytes) pushes its data (size ${compressedSize}) past the next record at offset ${limit}`,
      );
    }
    return start;
  }

  /** Refuse entries too large to hold in memory, before anything is allocated. */
  checkReadable(entry: ZipEntry): void {
    if (entry.size > MAX_ENTRY_SIZE)
      this.fail(`entry '${entry.name}' declares ${entry.size} bytes, more than the ${MAX_ENTRY_SIZE} that can be read into memory`);
  }

  /** A stored entry must declare equal sizes. */
  checkStored(entry: ZipEntry): void {
    if (entry.compressedSize !== entry.size) this.fail(`stored entry '${entry.name}' declares size ${entry.size} but compressed size ${entry.compressedSize}`);
  }

  /** The uncompressed, CRC-checked contents from the entry's raw (compressed) data. */
  decode(entry: ZipEntry, raw: Uint8Array): Uint8Array {
    const { name, size } = entry;
    let data: Uint8Array;
    if (entry.method === Z.METHOD_STORED) {
      this.checkStored(entry);
      data = raw;
    } else {
      data = this.inflate(name, raw, size);
    }
    const crc = crc32(data);
    if (crc !== entry.crc32) {
      const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
      this.fail(`entry '${name}' is corrupt: its CRC-32 is ${hex(crc)}, the archive declares ${hex(entry.crc32)}`);
    }
    return data;
  }

  /** Read an entry from a window holding the whole file. */
  read(loc: Located): Uint8Array {
    const start = this.dataStart(loc);
    this.checkReadable(loc.entry);
    const { bytes } = this;
    // a plain Uint8Array view even when `bytes` is a Buffer, whose slice() would not copy
    return this.decode(loc.entry, new Uint8Array(bytes.buffer, bytes.byteOffset + start - this.base, loc.entry.compressedSize));
  }

  private inflate(name: string, raw: Uint8Array, size: number): Uint8Array {
    let out: Buffer;
    try {
      // maxOutputLength must be ≥ 1; a 0-byte entry producing 1 byte is caught below.
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, size) });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === 'ERR_BUFFER_TOO_LARGE') this.fail(`entry '${name}' inflates to more than its declared size of ${size} bytes`);
      this.fail(`entry '${name}' has corrupt deflate data (zlib: ${err.message ?? String(e)})`);
    }
    if (out.length !== size) {
      this.fail(`entry '${name}' inflates to ${out.length > size ? 'more than' : 'only'} ${out.length} bytes, the archive declares ${size}`);
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}

/**
 * Parse a zip archive held in memory. The central directory is checked now; each entry's
 * local header and data when it is read. `file` only labels error messages.
 */
export function readZip(bytes: Uint8Array, file?: string): ZipArchive {
  const parser: Parser = new Parser(bytes, file);
  const dir = parser.directory(parser.findEocd());
  parser.checkDirectory(dir);
  const located = parser.entries(dir);
  parser.checkLayout(located, dir);
  const byName = indexByName(located);
  return {
    entries: located.map((l) => l.entry),
    has: (name) => byName.has(name),
    read: (name) => parser.read(lookup(parser, byName, name)),
  };
}

/** @internal Entries by name; of duplicates the last one wins, as in Python's zipfile. */
export function indexByName(located: Located[]): Map<string, Located> {
  const byName = new Map<string, Located>();
  for (const loc of located) byName.set(loc.entry.name, loc);
  return byName;
}

/** @internal The entry called `name`, or a FormatError listing what the archive has. */
export function lookup(parser: Parser, byName: Map<string, Located>, name: string): Located {
  const loc = byName.get(name);
  if (loc === undefined) {
    const names = [...byName.keys()];
    const shown = names
      .slice(0, 10)
      .map((n) => `'${n}'`)
      .join(', ');
    parser.fail(`no entry '${name}' (the archive has ${names.length}: ${shown}${names.length > 10 ? ', …' : ''})`);
  }
  return loc;
}
