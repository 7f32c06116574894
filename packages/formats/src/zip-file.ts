/**
 * ZIP archives read lazily from a file: open() reads only the end records and the central
 * directory; each read then fetches just the bytes it needs (a local header, an entry's
 * data, or a range of a stored entry's data). For archives of any size (dataset shards of
 * many GiB, ZIP64), where readZip would need the whole file in memory.
 *
 * The parsing is readZip's own (the Parser of zip.ts, run over windows of the file with
 * absolute offsets), so both readers accept and reject the same files with the same
 * FormatError messages: the directory and the entries' layout are checked at open(), each
 * local header when its entry is first used.
 *
 * Ranges of stored entries are not CRC-checked (that needs the whole entry); read() is.
 * The file must not change while open (a file that shrinks gives a FormatError).
 */
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { FormatError } from './errors.js';
import { indexByName, lookup, MAX_ENTRY_SIZE, Parser, type Located, type ZipEntry } from './zip.js';
import * as Z from './zip-records.js';

/** Bytes at the end of a file that hold the end record, its comment and the ZIP64 locator. */
const TAIL = Z.EOCD_SIZE + Z.MAX_COMMENT + Z.ZIP64_LOCATOR_SIZE + Z.ZIP64_EOCD_SIZE;
/** fs reads are limited to 2 GiB - 1 each. */
const READ_CHUNK = 1 << 30;
/** Compressed bytes fed to zlib at a time when only the start of a deflated entry is wanted. */
const INFLATE_CHUNK = 1 << 16;

export class ZipFile {
  private closed = false;
  /** Absolute data offsets of entries whose local header has been checked. */
  private readonly starts = new Map<Located, number>();

  private constructor(
    readonly path: string,
    readonly size: number,
    readonly entries: ZipEntry[],
    private readonly fh: FileHandle,
    private readonly parser: Parser,
    private readonly byName: Map<string, Located>,
    private readonly head: Uint8Array,
  ) {}

  /** Open `path` and read its end records and central directory (nothing else). */
  static async open(path: string): Promise<ZipFile> {
    const fh = await openFile(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const tailStart = Math.max(0, size - TAIL);
      const tail = await readAt(fh, path, size, tailStart, size - tailStart);
      const head = tailStart === 0 ? tail : await readAt(fh, path, size, 0, 8);
      const window = (base: number) => ({ base, fileSize: size, head });
      const parser = new Parser(tail, path, window(tailStart));
      const eocd = parser.findEocd();
      const rec = parser.zip64Locator(eocd);
      let dir;
      if (rec === undefined) dir = parser.classicDirectory(eocd);
      else if (parser.holds(rec, Z.ZIP64_EOCD_SIZE)) dir = parser.zip64Directory(rec);
      else dir = new Parser(await readAt(fh, path, size, rec, Z.ZIP64_EOCD_SIZE), path, window(rec)).zip64Directory(rec);
      parser.checkDirectory(dir);
      if (dir.size > MAX_ENTRY_SIZE)
        parser.fail(`the central directory declares ${dir.size} bytes, more than the ${MAX_ENTRY_SIZE} that can be read into memory`);
      const cd = parser.holds(dir.offset, dir.size) ? parser : new Parser(await readAt(fh, path, size, dir.offset, dir.size), path, window(dir.offset));
      const located = cd.entries(dir);
      parser.checkLayout(located, dir);
      // a parser with no bytes of its own: for the checks that need only the file's size
      const checker = new Parser(new Uint8Array(0), path, window(size));
      return new ZipFile(
        path,
        size,
        located.map((l) => l.entry),
        fh,
        checker,
        indexByName(located),
        head,
      );
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The entry called `name` (the last of duplicates, as readZip); a FormatError if there is none. */
  entry(name: string): ZipEntry {
    return this.locate(name).entry;
  }

  /** The whole entry, inflated and CRC-checked, as a fresh buffer; entries over MAX_ENTRY_SIZE are refused. */
  async read(name: string): Promise<Uint8Array> {
    const loc = this.locate(name);
    const start = await this.dataStart(loc);
    this.parser.checkReadable(loc.entry);
    if (loc.entry.compressedSize > MAX_ENTRY_SIZE) {
      this.parser.fail(`entry '${name}' declares ${loc.entry.compressedSize} compressed bytes, more than the ${MAX_ENTRY_SIZE} that can be read into memory`);
    }
    return this.parser.decode(loc.entry, await this.readAt(start, loc.entry.compressedSize));
  }

  /** Absolute file offset of a stored entry's data (its local header checked). */
  async dataOffset(name: string): Promise<number> {
    const loc = this.locate(name);
    this.requireStored(loc.entry, 'dataOffset');
    return this.dataStart(loc);
  }

  /**
   * Bytes [start, start + length) of a stored entry's data, as a fresh buffer (not
   * CRC-checked). A RangeError unless 0 ≤ start ≤ start + length ≤ the entry's size and
   * length ≤ MAX_ENTRY_SIZE.
   */
  async readRange(name: string, start: number, length: number): Promise<Uint8Array> {
    const loc = this.locate(name);
    this.requireStored(loc.entry, 'readRange');
    checkRange(`ZipFile.readRange('${name}')`, start, length, loc.entry.size);
    return this.readAt((await this.dataStart(loc)) + start, length);
  }

  /**
   * The first min(length, size) uncompressed bytes of an entry, stored or deflated (only as
   * much compressed data as needed is read and inflated). Not CRC-checked. For headers.
   */
  async readStart(name: string, length: number): Promise<Uint8Array> {
    const loc = this.locate(name);
    const { entry } = loc;
    checkRange(`ZipFile.readStart('${name}')`, 0, length, Number.MAX_SAFE_INTEGER);
    const n = Math.min(length, entry.size);
    const start = await this.dataStart(loc);
    if (entry.method === Z.METHOD_STORED) {
      this.parser.checkStored(entry);
      return this.readAt(start, n);
    }
    if (n === 0) return new Uint8Array(0);
    const readAt = (offset: number, bytes: number) => this.readAt(offset, bytes);
    async function* compressed() {
      for (let p = 0; p < entry.compressedSize; p += INFLATE_CHUNK) {
        yield Buffer.from(await readAt(start + p, Math.min(INFLATE_CHUNK, entry.compressedSize - p)));
      }
    }
    const inflater = createInflateRaw();
    const feeding = pipeline(Readable.from(compressed()), inflater).catch(() => undefined); // failures surface below
    const parts: Buffer[] = [];
    let got = 0;
    try {
      for await (const piece of inflater as AsyncIterable<Buffer>) {
        parts.push(piece);
        got += piece.length;
        if (got >= n) break;
      }
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
        this.parser.fail(`entry '${name}' has corrupt deflate data (zlib: ${err.message ?? String(e)})`);
      }
      throw e;
    } finally {
      inflater.destroy();
      await feeding;
    }
    if (got < n) this.parser.fail(`entry '${name}' inflates to only ${got} bytes, the archive declares ${entry.size}`);
    const out = new Uint8Array(n);
    let o = 0;
    for (const piece of parts) {
      out.set(piece.subarray(0, n - o), o);
      o += Math.min(piece.length, n - o);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private locate(name: string): Located {
    if (this.closed) throw new Error(`ZipFile ${this.path}: already closed`);
    return lookup(this.parser, this.byName, name);
  }

  private requireStored(entry: ZipEntry, what: string): void {
    if (entry.method !== Z.METHOD_STORED) {
      throw new Error(
        `ZipFile.${what}: entry '${entry.name}' of ${this.path} is deflate-compressed; only stored (uncompressed) entries can be read in ranges (use read())`,
      );
    }
    this.parser.checkStored(entry);
  }

  private async dataStart(loc: Located): Promise<number> {
    let start = this.starts.get(loc);
    if (start === undefined) {
      const off = loc.entry.localHeaderOffset;
      const at = async (len: number) => new Parser(await this.readAt(off, len), this.path, { base: off, fileSize: this.size, head: this.head });
      let window = await at(Z.LOCAL_SIZE + loc.nameBytes.length); // inside the file: checked by checkLayout
      const localNameLen = window.u16(off + 26);
      // a local name of another length: fetch all of it (to the file's end), for readZip's message
      if (localNameLen !== loc.nameBytes.length) window = await at(Math.min(this.size - off, Z.LOCAL_SIZE + localNameLen));
      start = window.dataStart(loc);
      this.starts.set(loc, start);
    }
    return start;
  }

  private readAt(pos: number, length: number): Promise<Uint8Array> {
    return readAt(this.fh, this.path, this.size, pos, length);
  }
}

function checkRange(who: string, start: number, length: number, size: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new RangeError(`${who}: bytes [${start}, ${start} + ${length}) are not within the entry's ${size} bytes`);
  }
  if (length > MAX_ENTRY_SIZE) throw new RangeError(`${who}: ${length} bytes is more than the ${MAX_ENTRY_SIZE} that can be read at once`);
}

/** Exactly `length` bytes at `pos`, in a fresh (unpooled, offset 0) buffer; a FormatError if the file ends first. */
async function readAt(fh: FileHandle, path: string, size: number, pos: number, length: number): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafeSlow(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, Math.min(READ_CHUNK, length - got), pos + got);
    if (bytesRead === 0) {
      throw new FormatError('zip', path, `the file ended at offset ${pos + got} while reading ${length} bytes at ${pos} (its size was ${size} when opened)`);
    }
    got += bytesRead;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}
