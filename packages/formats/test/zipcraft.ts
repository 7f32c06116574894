/**
 * A tiny zip builder that shares no code with src/, so tests can produce any archive,
 * including malformed ones: every header field can be overridden.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';
import { xorshift32 } from '@mmmi/test-utils';

export interface CraftEntry {
  name: string;
  /** The uncompressed content. */
  data?: Uint8Array;
  /** 0 stores `data`; 8 deflates it unless `payload` is given. */
  method?: number;
  /** The bytes placed after the local header (default: `data`, deflated for method 8). */
  payload?: Uint8Array;
  flags?: number;
  crc?: number;
  size?: number;
  csize?: number;
  /** Written in the local header (default: the central values, or 0xFFFFFFFF with zip64Local). */
  localSize?: number;
  localCsize?: number;
  localName?: string;
  localExtra?: Uint8Array;
  centralExtra?: Uint8Array;
  /** Put this in the central directory instead of the real local header offset. */
  offset?: number;
  /** Omit the local header and data (for entries that only exist in the directory). */
  noLocal?: boolean;
  /** Write sizes as 0xFFFFFFFF plus a ZIP64 extra field in the local and central headers. */
  zip64?: boolean;
}

export interface CraftOptions {
  /** Overrides of the end record (or, with zip64, of the ZIP64 end record). */
  count?: number;
  cdOffset?: number;
  cdSize?: number;
  comment?: Uint8Array;
  /** Write a ZIP64 end record and locator, with 0xFFFF/0xFFFFFFFF placeholders in the classic one. */
  zip64?: boolean;
  /** Bytes placed before the first entry (offsets are then wrong by that much, as in self-extracting stubs). */
  prefix?: Uint8Array;
}

const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

export function zip64Extra(...values: number[]): Buffer {
  return Buffer.concat([u16(1), u16(values.length * 8), ...values.map(u64)]);
}

/** An extra field of `total` bytes (≥ 4) with an unknown id, as PyTorch pads local headers. */
export function paddingExtra(total: number, id = 0x4246): Buffer {
  return Buffer.concat([u16(id), u16(total - 4), Buffer.alloc(total - 4, 0x5a)]);
}

export function craftZip(entries: CraftEntry[], options: CraftOptions = {}): Uint8Array {
  const parts: Buffer[] = [];
  let pos = 0;
  const push = (b: Uint8Array) => {
    parts.push(Buffer.from(b));
    pos += b.length;
  };
  if (options.prefix) push(options.prefix);
  const central: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? new Uint8Array(0);
    const method = e.method ?? 0;
    const payload = e.payload ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = e.crc ?? crc32(data);
    const size = e.size ?? data.length;
    const csize = e.csize ?? payload.length;
    const name = Buffer.from(e.name);
    const offset = e.offset ?? pos - (options.prefix?.length ?? 0);
    if (!e.noLocal) {
      const localName = Buffer.from(e.localName ?? e.name);
      const extra = e.localExtra ?? (e.zip64 ? zip64Extra(size, csize) : Buffer.alloc(0));
      push(
        Buffer.concat([
          u32(0x04034b50),
          u16(e.zip64 ? 45 : 20),
          u16(e.flags ?? 0),
          u16(method),
          u16(0),
          u16(0x21),
          u32(crc),
          u32(e.localCsize ?? (e.zip64 ? 0xffffffff : csize)),
          u32(e.localSize ?? (e.zip64 ? 0xffffffff : size)),
          u16(localName.length),
          u16(extra.length),
          localName,
          extra,
          payload,
        ]),
      );
    }
    const cExtra = e.centralExtra ?? (e.zip64 ? zip64Extra(size, csize, offset) : Buffer.alloc(0));
    central.push(
      Buffer.concat([
        u32(0x02014b50),
        u16(0x031e),
        u16(e.zip64 ? 45 : 20),
        u16(e.flags ?? 0),
        u16(method),
        u16(0),
        u16(0x21),
        u32(crc),
        u32(e.zip64 ? 0xffffffff : csize),
        u32(e.zip64 ? 0xffffffff : size),
        u16(name.length),
        u16(cExtra.length),
        u16(0),
        u16(0),
        u16(0),
        u32(0),
        u32(e.zip64 ? 0xffffffff : offset),
        name,
        cExtra,
      ]),
    );
  }
  const cdOffset = pos - (options.prefix?.length ?? 0);
  for (const c of central) push(c);
  const cdSize = pos - (options.prefix?.length ?? 0) - cdOffset;
  const count = options.count ?? entries.length;
  const comment = options.comment ?? new Uint8Array(0);
  if (options.zip64) {
    const recOffset = pos;
    push(
      Buffer.concat([
        u32(0x06064b50),
        u64(44),
        u16(0x032d),
        u16(45),
        u32(0),
        u32(0),
        u64(count),
        u64(count),
        u64(options.cdSize ?? cdSize),
        u64(options.cdOffset ?? cdOffset),
      ]),
    );
    push(Buffer.concat([u32(0x07064b50), u32(0), u64(recOffset), u32(1)]));
  }
  const z = options.zip64;
  push(
    Buffer.concat([
      u32(0x06054b50),
      u16(0),
      u16(0),
      u16(z ? 0xffff : count),
      u16(z ? 0xffff : count),
      u32(z ? 0xffffffff : (options.cdSize ?? cdSize)),
      u32(z ? 0xffffffff : (options.cdOffset ?? cdOffset)),
      u16(comment.length),
      Buffer.from(comment),
    ]),
  );
  return Buffer.concat(parts);
}

/** Deterministic pseudo-random bytes (xorshift32 modulo `mod`), compressible when `mod` is small. */
export function noise(n: number, seed = 1, mod = 256): Uint8Array {
  const next = xorshift32(seed);
  return Uint8Array.from({ length: n }, () => next() % mod);
}

/**
 * A ZIP64 archive with a huge stored entry as a sparse file (no real disk): a stored entry `big` of 5 GiB whose
 * data is zeros but for `bigPrefix` and a few marked bytes, then `tailName` after it (past
 * 4 GiB). Returns the absolute offset of `big`'s data.
 */
export function writeSparseZip64(
  path: string,
  bigName: string,
  bigPrefix: Uint8Array,
  bigSize: number,
  marks: [number, Uint8Array][],
  tail: Uint8Array,
  tailName = 'tail.bin',
): number {
  const localOf = (bytes: Uint8Array) => bytes.subarray(0, Buffer.from(bytes).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
  const bigLocal = localOf(craftZip([{ name: bigName, zip64: true, size: bigSize, csize: bigSize, crc: 0, payload: bigPrefix }]));
  const bigDataStart = bigLocal.length - bigPrefix.length;
  const tailOffset = bigDataStart + bigSize;
  const tailLocal = localOf(craftZip([{ name: tailName, data: tail, zip64: true }]));
  const cdOffset = tailOffset + tailLocal.length;
  const dir = craftZip(
    [
      { name: bigName, noLocal: true, zip64: true, size: bigSize, csize: bigSize, crc: 0, offset: 0 },
      { name: tailName, noLocal: true, zip64: true, data: tail, offset: tailOffset },
    ],
    { zip64: true, cdOffset },
  );
  // the locator points at the ZIP64 end record, which craftZip placed at the directory's size
  const view = new DataView(dir.buffer, dir.byteOffset, dir.byteLength);
  const loc = dir.length - 22 - 20;
  view.setBigUint64(loc + 8, view.getBigUint64(loc + 8, true) + BigInt(cdOffset), true);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, bigLocal, 0, bigLocal.length, 0);
    for (const [at, bytes] of marks) writeSync(fd, bytes, 0, bytes.length, bigDataStart + at);
    writeSync(fd, tailLocal, 0, tailLocal.length, tailOffset);
    writeSync(fd, dir, 0, dir.length, cdOffset);
  } finally {
    closeSync(fd);
  }
  return bigDataStart;
}
