/**
 * A streaming tar reader: POSIX ustar, GNU tar (long names 'L', base-256 sizes, the "ustar  "
 * magic) and pax extended headers ('x': path and size; 'g' is ignored). Only regular files
 * are yielded; directories, links, devices and FIFOs are skipped. Entry names are checked:
 * absolute paths and `..` components are refused (FormatError), a leading `./` is dropped.
 *
 * Works over any byte stream; readTarGz opens a file and gunzips it when it starts with the
 * gzip magic (a plain .tar works too). Nothing is held in memory but the entry being read.
 *
 *   for await (const entry of readTarGz('x.tar.gz')) {
 *     if (entry.name.endsWith('.bin')) use(await entry.bytes());   // else skipped
 *   }
 *
 * `bytes()` must be called before the loop advances (afterwards the data is gone).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { FormatError } from './errors.js';

export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading './'. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Permission bits. */
  readonly mode: number;
  /** Modification time, seconds since the epoch. */
  readonly mtime: number;
  /** The entry's data; only before the iteration moves on, and at most once. */
  bytes(): Promise<Uint8Array>;
}

export interface TarReadOptions {
  /** Largest entry bytes() will read (default 2^31 − 1). Larger entries can still be skipped. */
  maxEntryBytes?: number;
}

const BLOCK = 512;
/** Cap on pax / GNU long-name header data. */
const MAX_META_BYTES = 1 << 20;

/** Pulls exact byte counts out of an async chunk iterator. */
class ByteReader {
  private chunks: Uint8Array[] = [];
  private head = 0; // offset into chunks[0]
  private avail = 0;
  private ended = false;
  /** Bytes consumed so far (archive offset). */
  offset = 0;

  constructor(
    private readonly it: AsyncIterator<Uint8Array>,
    private readonly file: string | undefined,
  ) {}

  private async fill(n: number): Promise<void> {
    while (this.avail < n && !this.ended) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.it.next();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && code.startsWith('Z_')) {
          throw new FormatError('tar', this.file, `corrupt or truncated gzip stream: ${(e as Error).message}`, { cause: e });
        }
        throw e;
      }
      if (r.done) this.ended = true;
      else if (r.value.length > 0) {
        this.chunks.push(r.value);
        this.avail += r.value.length;
      }
    }
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Uint8Array> {
    await this.fill(n);
    const take = Math.min(n, this.avail);
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first !== undefined && first.length - this.head >= take) {
      out = first.subarray(this.head, this.head + take);
      this.head += take;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    } else {
      out = new Uint8Array(take);
      let pos = 0;
      while (pos < take) {
        const c = this.chunks[0];
        const k = Math.min(c.length - this.head, take - pos);
        out.set(c.subarray(this.head, this.head + k), pos);
        pos += k;
        this.head += k;
        if (this.head === c.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    this.avail -= take;
    this.offset += take;
    return out;
  }

  /** Discard n bytes; returns how many were there. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const got = (await this.read(Math.min(left, 1 << 20))).length;
      if (got === 0) break;
      left -= got;
    }
    return n - left;
  }
}

const ascii = (b: Uint8Array): string => {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  return Buffer.from(b.buffer, b.byteOffset, end).toString('utf8');
};

function parseNumber(field: Uint8Array, what: string, fail: (reason: string) => never): number {
  if (field[0] & 0x80) {
    // GNU base-256: big-endian two's complement, first byte's top bit is the marker
    if (field[0] & 0x40) fail(`negative ${what}`);
    let v = field[0] & 0x3f;
    for (let i = 1; i < field.length; i++) {
      v = v * 256 + field[i];
      if (v > Number.MAX_SAFE_INTEGER) fail(`${what} too large`);
    }
    return v;
  }
  const s = ascii(field).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) fail(`${what} field is not octal: ${JSON.stringify(s)}`);
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) fail(`${what} too large`);
  return v;
}

function checksumOk(h: Uint8Array, stored: number): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += b;
    signed += b >= 128 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Parse pax records "<len> <key>=<value>\n". */
function parsePax(data: Uint8Array, fail: (reason: string) => never): Map<string, string> {
  const out = new Map<string, string>();
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break; // padding some writers leave
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0) fail('malformed pax header (no length)');
    const lenStr = buf.toString('latin1', pos, sp);
    if (!/^\d+$/.test(lenStr)) fail(`malformed pax record length ${JSON.stringify(lenStr)}`);
    const len = Number(lenStr);
    if (len <= sp - pos + 1 || pos + len > buf.length || buf[pos + len - 1] !== 0x0a) fail('malformed pax record (bad length)');
    const rec = buf.toString('utf8', sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq < 0) fail('malformed pax record (no "=")');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** Normalised safe entry name, or a FormatError. */
function safeName(raw: string, fail: (reason: string) => never): string {
  if (raw === '') fail('entry with an empty name');
  if (raw.includes('\0')) fail(`entry name with a NUL byte: ${JSON.stringify(raw)}`);
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) fail(`absolute path in archive: ${JSON.stringify(raw)}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) fail(`path with '..' in archive: ${JSON.stringify(raw)}`);
  if (parts.length === 0) fail(`entry name names no file: ${JSON.stringify(raw)}`);
  return parts.join('/');
}

const isZeroBlock = (b: Uint8Array): boolean => b.every((x) => x === 0);

/**
 * Entries of a tar stream. `file` labels errors. Truncation, bad checksums, bad numbers and
 * unsafe names throw FormatError; a stream that ends cleanly at a block boundary without the
 * two zero blocks is accepted (as GNU tar does, with a warning there).
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, file?: string, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const maxEntryBytes = options.maxEntryBytes ?? 2 ** 31 - 1;
  const it = source[Symbol.asyncIterator]();
  const r = new ByteReader(it, file);
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  try {
    for (;;) {
      const at = r.offset;
      const fail = (reason: string): never => {
        throw new FormatError('tar', file, `${reason} (header at byte ${at})`);
      };
      const h = await r.read(BLOCK);
      if (h.length === 0) {
        if (longName !== undefined || pax !== undefined) fail('archive ends after an extended header');
        return;
      }
      if (h.length < BLOCK) fail(`truncated: a ${h.length}-byte partial header`);
      if (isZeroBlock(h)) return; // end of archive (the second zero block and padding are not needed)
      const stored = parseNumber(h.subarray(148, 156), 'checksum', fail);
      if (!checksumOk(h, stored)) fail('header checksum mismatch: not a tar archive, or corrupt');
      const magic = ascii(h.subarray(257, 263));
      let size = parseNumber(h.subarray(124, 136), 'size', fail);
      const type = String.fromCharCode(h[156] || 0x30);
      let name = ascii(h.subarray(0, 100));
      if (magic === 'ustar') {
        const prefix = ascii(h.subarray(345, 500));
        if (prefix !== '') name = `${prefix}/${name}`;
      }
      const padded = Math.ceil(size / BLOCK) * BLOCK;

      if (type === 'L' || type === 'x' || type === 'g' || type === 'K') {
        if (size > MAX_META_BYTES) fail(`extended header of ${size} bytes`);
        const data = await r.read(padded);
        if (data.length < padded) fail('truncated extended header');
        const body = data.subarray(0, size);
        if (type === 'L') longName = ascii(body);
        else if (type === 'x') pax = new Map([...(pax ?? []), ...parsePax(body, fail)]);
        continue; // 'g' (global) and 'K' (long link name) are not needed
      }

      if (pax?.has('path')) name = pax.get('path')!;
      else if (longName !== undefined) name = longName;
      if (pax?.has('size')) {
        const s = pax.get('size')!;
        if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) fail(`bad pax size ${JSON.stringify(s)}`);
        size = Number(s);
      }
      longName = undefined;
      pax = undefined;
      const dataPadded = Math.ceil(size / BLOCK) * BLOCK;
      const regular = type === '0' || type === '7';
      if (!regular) {
        // directories, links, devices, FIFOs: skipped (hard/sym links carry no data)
        const skipped = type === '1' || type === '2' ? 0 : dataPadded;
        if ((await r.skip(skipped)) < skipped) fail('truncated entry data');
        continue;
      }
      const safe = safeName(name, fail);
      let state: 'fresh' | 'read' | 'gone' = 'fresh';
      const entryFail = (reason: string): never => {
        throw new FormatError('tar', file, `${safe}: ${reason}`);
      };
      const entry: TarEntry = {
        name: safe,
        size,
        mode: parseNumber(h.subarray(100, 108), 'mode', fail),
        mtime: parseNumber(h.subarray(136, 148), 'mtime', fail),
        bytes: async () => {
          if (state === 'read') entryFail('bytes() was already called');
          if (state === 'gone') entryFail('bytes() called after the iteration moved on');
          if (size > maxEntryBytes) entryFail(`${size} bytes, more than the ${maxEntryBytes}-byte limit`);
          state = 'read';
          const data = await r.read(size);
          if (data.length < size) entryFail(`truncated: ${data.length} of ${size} bytes`);
          if ((await r.skip(dataPadded - size)) < dataPadded - size) entryFail('truncated padding');
          // copy when it is a view into a shared chunk, so callers may keep it
          return data.byteLength === data.buffer.byteLength ? data : data.slice();
        },
      };
      yield entry;
      if (state === 'fresh' && (await r.skip(dataPadded)) < dataPadded) fail(`${safe}: truncated entry data`);
      state = 'gone';
    }
  } finally {
    await it.return?.();
  }
}

/** Entries of a `.tar.gz` / `.tgz` (or a plain `.tar`: gzip is detected from the magic bytes). */
export async function* readTarGz(path: string, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const fh = await open(path, 'r');
  let magic: Uint8Array;
  try {
    magic = new Uint8Array(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    magic = magic.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const gz = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (gz) raw.on('error', (e) => stream.destroy(e));
  try {
    yield* readTar(stream, path, options);
  } finally {
    raw.destroy();
    stream.destroy();
  }
}
