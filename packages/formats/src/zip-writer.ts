/**
 * Streaming ZIP writer. The archive is written to a temp file beside the target and
 * renamed over it by close() (src/atomic.ts), so no reader ever sees half an archive.
 *
 * Entries are stored or deflated. Data may arrive in chunks of unknown total size:
 * because the temp file is seekable, the local header is written first and patched with
 * the CRC and sizes once the entry ends (no data descriptors, so even readers that trust
 * local headers are served). A streamed entry's local header reserves 20 bytes for a
 * ZIP64 extra field; if the entry stays under 4 GiB they become an inert padding field.
 * ZIP64 records are written automatically wherever a size, offset or count needs them,
 * or everywhere with `zip64: 'always'` (what np.savez does for local headers; handy to
 * test ZIP64 readers on small files).
 *
 * Memory stays flat whatever the entry size: writes go through one 1 MiB buffer, and
 * deflate compresses 1 MiB blocks independently (each sync-flushed, the last one
 * finished; together one valid deflate stream), which costs well under 1% of
 * compression ratio compared to one stream and lets up to 4 blocks of a large chunk be
 * compressed in parallel on libuv's thread pool (pigz's trick).
 * Every entry gets the same timestamp (1980-01-01, as np.savez), so equal contents give
 * byte-identical archives.
 */
import { promisify } from 'node:util';
import { constants, deflateRaw, type ZlibOptions } from 'node:zlib';
import { AtomicFile } from './atomic.js';
import { crc32 } from './crc32.js';
import * as Z from './zip-records.js';

export interface ZipWriterOptions {
  /** 'auto' (default): ZIP64 records only where a value exceeds its 16/32-bit field. 'always': in every header. */
  zip64?: 'auto' | 'always';
}

export interface ZipEntryOptions {
  /** Deflate the entry (default false: stored). */
  compress?: boolean;
  /** zlib level 1-9 when compressing; default 6, zlib's and NumPy's default. */
  level?: number;
}

export interface ZipEntryWriter {
  readonly name: string;
  /** Append bytes; once the promise resolves the chunk is no longer referenced and may be reused. */
  write(chunk: Uint8Array): Promise<void>;
  /** Finish the entry (patches its local header); the archive then takes the next entry. */
  end(): Promise<void>;
}

const BLOCK = 1 << 20;
/** Deflate blocks compressed at once: libuv's default thread pool size. */
const PARALLEL = 4;
const ZIP64_LOCAL_EXTRA = 20; // id, length, size, compressed size
const deflateRawAsync = promisify<Uint8Array, ZlibOptions, Buffer>(deflateRaw);

/** What the central directory needs to know about a finished entry. */
interface Finished {
  nameBytes: Uint8Array;
  flags: number;
  method: number;
  crc: number;
  size: number;
  csize: number;
  offset: number;
  /** The local header used ZIP64, so the entry needs version 4.5 to extract. */
  zip64Local: boolean;
}

const needs64 = (v: number) => v >= Z.U32_SENTINEL;

function zip64Extra(values: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(Z.EXTRA_ZIP64, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

function localHeader(e: Omit<Finished, 'offset'>, extra: Uint8Array): Buffer {
  const b = Buffer.alloc(Z.LOCAL_SIZE + e.nameBytes.length + extra.length);
  b.writeUInt32LE(Z.SIG_LOCAL, 0);
  b.writeUInt16LE(e.zip64Local ? Z.VERSION_ZIP64 : Z.VERSION_DEFAULT, 4);
  b.writeUInt16LE(e.flags, 6);
  b.writeUInt16LE(e.method, 8);
  b.writeUInt16LE(Z.DOS_TIME_EPOCH, 10);
  b.writeUInt16LE(Z.DOS_DATE_EPOCH, 12);
  b.writeUInt32LE(e.crc, 14);
  b.writeUInt32LE(e.zip64Local ? Z.U32_SENTINEL : e.csize, 18);
  b.writeUInt32LE(e.zip64Local ? Z.U32_SENTINEL : e.size, 22);
  b.writeUInt16LE(e.nameBytes.length, 26);
  b.writeUInt16LE(extra.length, 28);
  b.set(e.nameBytes, Z.LOCAL_SIZE);
  b.set(extra, Z.LOCAL_SIZE + e.nameBytes.length);
  return b;
}

/** The local extra field of an entry whose sizes are final: ZIP64 sizes, or `padTo` bytes of padding. */
function finalLocalExtra(e: Omit<Finished, 'offset'>, padTo: number): Uint8Array {
  if (e.zip64Local) return zip64Extra([e.size, e.csize]);
  if (padTo === 0) return new Uint8Array(0);
  const b = Buffer.alloc(padTo);
  b.writeUInt16LE(Z.EXTRA_PADDING, 0);
  b.writeUInt16LE(padTo - 4, 2);
  return b;
}

function centralHeader(e: Finished, always: boolean): Buffer {
  const big = [e.size, e.csize, e.offset].map((v) => always || needs64(v));
  const extra = big.includes(true) ? zip64Extra([e.size, e.csize, e.offset].filter((_, i) => big[i])) : new Uint8Array(0);
  const version = e.zip64Local || big.includes(true) ? Z.VERSION_ZIP64 : Z.VERSION_DEFAULT;
  const isDir = e.nameBytes[e.nameBytes.length - 1] === 0x2f;
  const mode = isDir ? 0o40755 : 0o100644;
  const b = Buffer.alloc(Z.CENTRAL_SIZE + e.nameBytes.length + extra.length);
  b.writeUInt32LE(Z.SIG_CENTRAL, 0);
  b.writeUInt16LE(Z.MADE_BY_UNIX | version, 4);
  b.writeUInt16LE(version, 6);
  b.writeUInt16LE(e.flags, 8);
  b.writeUInt16LE(e.method, 10);
  b.writeUInt16LE(Z.DOS_TIME_EPOCH, 12);
  b.writeUInt16LE(Z.DOS_DATE_EPOCH, 14);
  b.writeUInt32LE(e.crc, 16);
  b.writeUInt32LE(big[1] ? Z.U32_SENTINEL : e.csize, 20);
  b.writeUInt32LE(big[0] ? Z.U32_SENTINEL : e.size, 24);
  b.writeUInt16LE(e.nameBytes.length, 28);
  b.writeUInt16LE(extra.length, 30);
  // comment length, disk number start, internal attributes: 0
  b.writeUInt32LE((mode * 0x10000 + (isDir ? 0x10 : 0)) >>> 0, 38); // Unix mode in the high half, MS-DOS dir bit
  b.writeUInt32LE(big[2] ? Z.U32_SENTINEL : e.offset, 42);
  b.set(e.nameBytes, Z.CENTRAL_SIZE);
  b.set(extra, Z.CENTRAL_SIZE + e.nameBytes.length);
  return b;
}

function endRecords(count: number, cdOffset: number, cdSize: number, always: boolean): Buffer {
  const use64 = always || count >= Z.U16_SENTINEL || needs64(cdOffset) || needs64(cdSize);
  const eocd = Buffer.alloc(Z.EOCD_SIZE);
  eocd.writeUInt32LE(Z.SIG_EOCD, 0);
  // disk numbers: 0
  eocd.writeUInt16LE(always ? Z.U16_SENTINEL : Math.min(count, Z.U16_SENTINEL), 8);
  eocd.writeUInt16LE(always ? Z.U16_SENTINEL : Math.min(count, Z.U16_SENTINEL), 10);
  eocd.writeUInt32LE(always ? Z.U32_SENTINEL : Math.min(cdSize, Z.U32_SENTINEL), 12);
  eocd.writeUInt32LE(always ? Z.U32_SENTINEL : Math.min(cdOffset, Z.U32_SENTINEL), 16);
  if (!use64) return eocd;
  const rec = Buffer.alloc(Z.ZIP64_EOCD_SIZE);
  rec.writeUInt32LE(Z.SIG_ZIP64_EOCD, 0);
  rec.writeBigUInt64LE(BigInt(Z.ZIP64_EOCD_SIZE - 12), 4); // size of the rest of the record
  rec.writeUInt16LE(Z.MADE_BY_UNIX | Z.VERSION_ZIP64, 12);
  rec.writeUInt16LE(Z.VERSION_ZIP64, 14);
  rec.writeBigUInt64LE(BigInt(count), 24);
  rec.writeBigUInt64LE(BigInt(count), 32);
  rec.writeBigUInt64LE(BigInt(cdSize), 40);
  rec.writeBigUInt64LE(BigInt(cdOffset), 48);
  const loc = Buffer.alloc(Z.ZIP64_LOCATOR_SIZE);
  loc.writeUInt32LE(Z.SIG_ZIP64_LOCATOR, 0);
  loc.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8); // the ZIP64 record follows the directory
  loc.writeUInt32LE(1, 16);
  return Buffer.concat([rec, loc, eocd]);
}

/** Sequential writes through one buffer, plus in-place patches of what is already written. */
class Output {
  /** Logical end of the file, including buffered bytes. */
  pos = 0;
  private readonly buf = Buffer.allocUnsafe(BLOCK);
  private fill = 0;

  constructor(readonly file: AtomicFile) {}

  async append(bytes: Uint8Array): Promise<void> {
    if (this.fill + bytes.length <= BLOCK) {
      this.buf.set(bytes, this.fill);
      this.fill += bytes.length;
    } else {
      await this.flush();
      if (bytes.length >= BLOCK) await this.file.writeAt(bytes, this.pos - this.fill);
      else {
        this.buf.set(bytes, 0);
        this.fill = bytes.length;
      }
    }
    this.pos += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.fill === 0) return;
    await this.file.writeAt(this.buf.subarray(0, this.fill), this.pos - this.fill);
    this.fill = 0;
  }

  async patch(bytes: Uint8Array, position: number): Promise<void> {
    await this.flush();
    await this.file.writeAt(bytes, position);
  }
}

function encodeName(name: string): Uint8Array {
  if (typeof name !== 'string' || name.length === 0) throw new Error('ZipWriter: entry names must be non-empty strings');
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > 0xffff) throw new Error(`ZipWriter: entry name of ${bytes.length} bytes exceeds the format's 65535`);
  return bytes;
}

function checkLevel(options: ZipEntryOptions): number {
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new Error(`ZipWriter: compression level must be 1-9, got ${level}`);
  return level;
}

type State = { kind: 'open' } | { kind: 'closed' } | { kind: 'aborted' } | { kind: 'failed'; error: unknown };

export class ZipWriter {
  private readonly out: Output;
  private readonly done: Finished[] = [];
  private readonly names = new Set<string>();
  private current: EntryStream | undefined;
  private state: State = { kind: 'open' };
  private busy = false;

  /** What an open entry may use of its writer. */
  private readonly host: EntryHost;

  private constructor(
    file: AtomicFile,
    private readonly always: boolean,
  ) {
    this.out = new Output(file);
    this.host = {
      out: this.out,
      always,
      guarded: (check, io) => this.guarded(check, io),
      isCurrent: (entry) => this.current === entry,
      finish: (entry, finished) => {
        if (this.current !== entry) throw new Error('ZipWriter: internal error: finishing an entry that is not open');
        this.done.push(finished);
        this.current = undefined;
      },
    };
  }

  /** Open a temp file beside `path`; nothing appears at `path` until close(). */
  static async create(path: string, options: ZipWriterOptions = {}): Promise<ZipWriter> {
    const zip64 = options.zip64 ?? 'auto';
    if (zip64 !== 'auto' && zip64 !== 'always') throw new Error(`ZipWriter: zip64 must be 'auto' or 'always', got '${String(zip64)}'`);
    return new ZipWriter(await AtomicFile.open(path), zip64 === 'always');
  }

  get path(): string {
    return this.out.file.path;
  }

  /** Add a whole entry; `data` may be given in parts, which are written one after another. */
  async addEntry(name: string, data: Uint8Array | readonly Uint8Array[], options: ZipEntryOptions = {}): Promise<void> {
    const parts = data instanceof Uint8Array ? [data] : data;
    if (!Array.isArray(parts) || !parts.every((p) => p instanceof Uint8Array)) throw new Error('ZipWriter.addEntry: data must be Uint8Array(s)');
    if (options.compress) {
      const entry = await this.beginEntry(name, options);
      for (const part of parts) await entry.write(part);
      await entry.end();
      return;
    }
    let nameBytes: Uint8Array = new Uint8Array(0);
    await this.guarded(
      () => {
        nameBytes = this.checkNewEntry(name);
      },
      async () => {
        let crc = 0;
        let size = 0;
        for (const p of parts) {
          crc = crc32(p, crc);
          size += p.length;
        }
        const e = { nameBytes, flags: flagsFor(name), method: Z.METHOD_STORED, crc, size, csize: size, zip64Local: this.always || needs64(size) };
        const offset = this.out.pos;
        await this.out.append(localHeader(e, finalLocalExtra(e, 0)));
        for (const p of parts) await this.out.append(p);
        this.names.add(name);
        this.done.push({ ...e, offset });
      },
    );
  }

  /** Start an entry whose data is given by write() calls; only one entry can be open at a time. */
  async beginEntry(name: string, options: ZipEntryOptions = {}): Promise<ZipEntryWriter> {
    let nameBytes: Uint8Array = new Uint8Array(0);
    let level = 0;
    return this.guarded(
      () => {
        nameBytes = this.checkNewEntry(name);
        if (options.compress) level = checkLevel(options);
      },
      async () => {
        const entry = new EntryStream(this.host, name, nameBytes, options.compress ? level : 0, this.out.pos);
        await this.out.append(localHeader(entry.summary(), new Uint8Array(ZIP64_LOCAL_EXTRA)));
        this.names.add(name);
        this.current = entry;
        return entry;
      },
    );
  }

  /** Write the central directory and rename the temp file onto the target path. */
  async close(): Promise<void> {
    await this.guarded(
      () => {
        if (this.current) throw new Error(`ZipWriter ${this.path}: entry '${this.current.name}' is still open; end() it before close()`);
      },
      async () => {
        const cdOffset = this.out.pos;
        for (const e of this.done) await this.out.append(centralHeader(e, this.always));
        await this.out.append(endRecords(this.done.length, cdOffset, this.out.pos - cdOffset, this.always));
        await this.out.flush();
        await this.out.file.commit();
        this.state = { kind: 'closed' };
      },
    );
  }

  /** Remove the temp file and leave the target untouched. Safe to call at any time, repeatedly; does nothing after close(). */
  async abort(): Promise<void> {
    if (this.state.kind === 'closed') return;
    if (this.state.kind === 'open') this.state = { kind: 'aborted' };
    await this.out.file.abort();
  }

  /** Checks first, one call at a time, and any I/O failure discards the archive. */
  private async guarded<T>(check: () => void, io: () => Promise<T>): Promise<T> {
    const s = this.state;
    if (s.kind === 'failed') {
      throw new Error(`ZipWriter ${this.path}: an earlier write failed (${(s.error as Error)?.message ?? String(s.error)}); the archive was discarded`);
    }
    if (s.kind !== 'open') throw new Error(`ZipWriter ${this.path}: the writer is already ${s.kind}`);
    if (this.busy) throw new Error(`ZipWriter ${this.path}: a previous call is still running; await each call before the next`);
    check();
    this.busy = true;
    try {
      return await io();
    } catch (err) {
      if (this.state.kind === 'open') this.state = { kind: 'failed', error: err };
      await this.out.file.abort();
      throw err;
    } finally {
      this.busy = false;
    }
  }

  private checkNewEntry(name: string): Uint8Array {
    const bytes = encodeName(name);
    if (this.current) throw new Error(`ZipWriter ${this.path}: entry '${this.current.name}' is still open; end() it before adding '${name}'`);
    if (this.names.has(name)) throw new Error(`ZipWriter ${this.path}: duplicate entry name '${name}'`);
    return bytes;
  }
}

function flagsFor(name: string): number {
  // ASCII names need no flag (as in Python's zipfile); anything else is declared UTF-8
  return /^[\x20-\x7e]*$/.test(name) ? 0 : Z.FLAG_UTF8;
}

interface EntryHost {
  readonly out: Output;
  readonly always: boolean;
  guarded<T>(check: () => void, io: () => Promise<T>): Promise<T>;
  isCurrent(entry: EntryStream): boolean;
  finish(entry: EntryStream, finished: Finished): void;
}

class EntryStream implements ZipEntryWriter {
  private crc = 0;
  private size = 0;
  private csize = 0;
  /** Deflate input waiting for a full block (allocated on first use). */
  private staged: Buffer | undefined;
  private fill = 0;

  constructor(
    private readonly host: EntryHost,
    readonly name: string,
    private readonly nameBytes: Uint8Array,
    /** 0 = stored, otherwise the deflate level. */
    private readonly level: number,
    private readonly offset: number,
  ) {}

  summary(): Omit<Finished, 'offset'> {
    return {
      nameBytes: this.nameBytes,
      flags: flagsFor(this.name),
      method: this.level ? Z.METHOD_DEFLATE : Z.METHOD_STORED,
      crc: this.crc,
      size: this.size,
      csize: this.csize,
      zip64Local: this.host.always || needs64(this.size) || needs64(this.csize),
    };
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.host.guarded(
      () => {
        this.checkOpen('write');
        if (!(chunk instanceof Uint8Array)) throw new Error(`ZipWriter entry '${this.name}': chunks must be Uint8Array`);
      },
      async () => {
        this.crc = crc32(chunk, this.crc);
        this.size += chunk.length;
        if (this.level === 0) {
          await this.host.out.append(chunk);
          this.csize += chunk.length;
          return;
        }
        // Whole blocks go to zlib straight from the chunk (a partial one is staged first);
        // the remainder waits in `staged` for the next write.
        let off = 0;
        const blocks: Uint8Array[] = [];
        if (this.fill > 0) {
          off = Math.min(BLOCK - this.fill, chunk.length);
          this.staged!.set(chunk.subarray(0, off), this.fill);
          this.fill += off;
          if (this.fill < BLOCK) return;
          blocks.push(this.staged!);
        }
        for (; chunk.length - off >= BLOCK; off += BLOCK) blocks.push(chunk.subarray(off, off + BLOCK));
        await this.deflateBlocks(blocks);
        this.fill = 0;
        if (off < chunk.length) {
          this.staged ??= Buffer.allocUnsafe(BLOCK);
          this.staged.set(chunk.subarray(off), 0);
          this.fill = chunk.length - off;
        }
      },
    );
  }

  async end(): Promise<void> {
    await this.host.guarded(
      () => this.checkOpen('end'),
      async () => {
        if (this.level) {
          const out = await deflateRawAsync((this.staged ?? Buffer.alloc(0)).subarray(0, this.fill), { level: this.level });
          await this.host.out.append(out);
          this.csize += out.length;
        }
        this.staged = undefined;
        const e = this.summary();
        await this.host.out.patch(localHeader(e, finalLocalExtra(e, ZIP64_LOCAL_EXTRA)), this.offset);
        this.host.finish(this, { ...e, offset: this.offset });
      },
    );
  }

  /**
   * Deflate whole blocks, each independently and sync-flushed (byte-aligned, not final),
   * so they can run PARALLEL at a time on libuv's thread pool; appended in order.
   */
  private async deflateBlocks(blocks: readonly Uint8Array[]): Promise<void> {
    const options: ZlibOptions = { level: this.level, finishFlush: constants.Z_SYNC_FLUSH };
    for (let i = 0; i < blocks.length; i += PARALLEL) {
      const outs = await Promise.all(blocks.slice(i, i + PARALLEL).map((b) => deflateRawAsync(b, options)));
      for (const out of outs) {
        await this.host.out.append(out);
        this.csize += out.length;
      }
    }
  }

  private checkOpen(what: string): void {
    if (!this.host.isCurrent(this)) throw new Error(`ZipWriter entry '${this.name}': ${what}() after end()`);
  }
}
