/**
 * CRC-32 (ISO-HDLC, the polynomial of zip, gzip and PNG). Node's native zlib.crc32
 * (≥ 20.15) checks gigabytes per second, which matters because every zip entry read or
 * written is checksummed in full; older Nodes fall back to a table-driven loop.
 */
import * as zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

const native = (zlib as { crc32?: Crc32Fn }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function crc32Js(bytes: Uint8Array, seed: number): number {
  const t = crcTable();
  let c = ~seed >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-32 of `bytes`; pass the previous result as `seed` to continue over a further chunk
 * (crc32(b, crc32(a)) === crc32(a ++ b)). Returns an unsigned 32-bit integer.
 */
export function crc32(bytes: Uint8Array, seed = 0): number {
  // Node's zlib.crc32 returns 0, not the seed, for an empty view of an empty ArrayBuffer
  if (bytes.length === 0) return seed >>> 0;
  return native ? native(bytes, seed) >>> 0 : crc32Js(bytes, seed >>> 0);
}

/** The portable implementation, exported for tests that compare it with the native one. */
export const crc32Portable = (bytes: Uint8Array, seed = 0): number => crc32Js(bytes, seed >>> 0);
