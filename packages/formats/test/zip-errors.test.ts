/** Hostile and broken archives must fail fast with a FormatError naming the file and the cause. */
import { deflateRawSync, constants } from 'node:zlib';
import { xorshift32 } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { encodeNpy, FormatError, parseNpz, readZip, type ZipArchive } from '../src/index.js';
import { craftZip, zip64Extra, type CraftEntry, type CraftOptions } from './zipcraft.js';

const text = (s: string) => new TextEncoder().encode(s);

/** The FormatError reason of opening `bytes` and reading every entry. */
function reasonOf(bytes: Uint8Array, file: string | undefined = 'bad.zip'): string {
  try {
    const z: ZipArchive = readZip(bytes, file);
    for (const e of z.entries) z.read(e.name);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    expect(e.file).toBe(file);
    expect(e.message).toContain(file ?? '(in-memory bytes)');
    expect(e.message.startsWith('zip ')).toBe(true);
    return e.reason;
  }
  throw new Error('expected the archive to be rejected');
}

const craft = (entries: CraftEntry[], options?: CraftOptions) => craftZip(entries, options);
const payload = text('some data that is long enough to matter '.repeat(10));

describe('not a zip at all', () => {
  it('empty, tiny, random, .npy and pickle bytes', () => {
    expect(reasonOf(new Uint8Array(0))).toMatch(/not a zip file: 0 bytes is too short.*\(empty file\)/);
    expect(reasonOf(text('PK\x03\x04abc'))).toMatch(/too short.*probably truncated/);
    expect(reasonOf(text('hello world, this is plain text and definitely not zip'))).toMatch(/no end-of-central-directory record/);
    expect(reasonOf(encodeNpy({ shape: [3], data: new Float64Array(3) }))).toMatch(/single \.npy array/);
    expect(reasonOf(Uint8Array.from([0x80, 2, ...new Array(40).fill(0x4b)]))).toMatch(/pickle/);
  });
});

describe('truncation', () => {
  it('every truncation of a valid archive is a FormatError', () => {
    const good = craft([
      { name: 'a.npy', data: payload },
      { name: 'b.npy', data: payload, method: 8 },
    ]);
    readZip(good).read('b.npy');
    for (let n = 0; n < good.length; n++) expect(reasonOf(good.subarray(0, n))).toBeTruthy();
  });
});

describe('structural lies', () => {
  it('central directory pointing past the end', () => {
    expect(reasonOf(craft([{ name: 'a', data: payload }], { cdOffset: 1_000_000 }))).toMatch(
      /central directory \(offset 1000000, size \d+\) extends past the end record/,
    );
    expect(reasonOf(craft([{ name: 'a', data: payload }], { cdSize: 0xfffffff0 }))).toMatch(/extends past the end record/);
    expect(reasonOf(craft([{ name: 'a', data: payload }], { zip64: true, cdOffset: 2 ** 40 }))).toMatch(/extends past/);
    expect(reasonOf(craft([{ name: 'a', data: payload }], { zip64: true, cdOffset: 2 ** 60 }))).toMatch(/impossibly large/);
  });

  it('a ZIP64 locator pointing nowhere', () => {
    const bytes = Buffer.from(craft([{ name: 'a', data: payload }], { zip64: true }));
    const loc = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
    bytes.writeBigUInt64LE(123456789n, loc + 8);
    expect(reasonOf(bytes)).toMatch(/ZIP64 end record offset 123456789 points past its locator/);
    bytes.writeBigUInt64LE(0n, loc + 8);
    expect(reasonOf(bytes)).toMatch(/no ZIP64 end record at offset 0/);
  });

  it('a million declared entries in a tiny file fail at once', () => {
    const t0 = performance.now();
    expect(reasonOf(craft([{ name: 'a', data: payload }], { zip64: true, count: 1_000_000 }))).toMatch(
      /declares 1000000 entries, but a central directory of \d+ bytes has room for at most 1/,
    );
    expect(reasonOf(craft([{ name: 'a', data: payload }], { count: 65535 }))).toMatch(/declares 65535 entries/);
    expect(reasonOf(craft([{ name: 'a', data: payload }], { zip64: true, count: 2 ** 53 - 1 }))).toMatch(/declares/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('entry sizes beyond the file', () => {
    const r = reasonOf(craft([{ name: 'archive/data.pkl', data: payload, csize: 1e9, size: 1e9 }]), '/m/model.pt');
    expect(r).toMatch(/entry 'archive\/data.pkl' extends past the end of the file \(offset 0, size 1000000000, file size \d+\)/);
    expect(reasonOf(craft([{ name: 'a', data: payload, zip64: true, size: 2 ** 50, csize: 2 ** 50 }], { zip64: true }))).toMatch(
      /extends past the end of the file/,
    );
    expect(reasonOf(craft([{ name: 'a', data: payload, offset: 1e6 }]))).toMatch(/extends past the end of the file \(offset 1000000/);
  });

  it('a declared size above 2 GiB is refused before anything is allocated', () => {
    const data = text('tiny');
    const r = reasonOf(craft([{ name: 'huge', data, method: 8, size: 0xffffffff, centralExtra: zip64Extra(3 * 2 ** 30) }], { zip64: false }));
    expect(r).toMatch(/'huge' declares 3221225472 bytes, more than the 2147483648/);
  });

  it('overlapping entries (the "better zip bomb" layout) are rejected', () => {
    const bytes = craft([
      { name: 'a', data: payload },
      { name: 'b', data: payload, noLocal: true, offset: 0 },
    ]);
    expect(reasonOf(bytes)).toMatch(/entries '(a|b)' .* and '(a|b)' .* overlap: a corrupt archive or a zip bomb/);
  });

  it('an entry running into the central directory', () => {
    const bytes = craft([{ name: 'a', data: payload, csize: payload.length + 10 }]);
    expect(reasonOf(bytes)).toMatch(/runs into the central directory/);
  });

  it('ZIP64 placeholders without a ZIP64 extra field, or with a short one', () => {
    expect(reasonOf(craft([{ name: 'a', data: payload, zip64: true, centralExtra: new Uint8Array(0) }]))).toMatch(
      /placeholder sizes\/offset \(0xFFFFFFFF\) but no ZIP64 extra field/,
    );
    expect(reasonOf(craft([{ name: 'a', data: payload, zip64: true, centralExtra: zip64Extra(payload.length) }]))).toMatch(
      /ZIP64 extra field \(8 bytes\) lacks the compressed size/,
    );
  });

  it('bad central directory signatures and lengths', () => {
    const bytes = Buffer.from(craft([{ name: 'a', data: payload }]));
    const cd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const broken = Buffer.from(bytes);
    broken[cd + 3] = 0x09;
    expect(reasonOf(broken)).toMatch(/central directory entry #0 at offset \d+ has a bad signature \[50 4b 01 09\]/);
    const long = Buffer.from(bytes);
    long.writeUInt16LE(5000, cd + 28);
    expect(reasonOf(long)).toMatch(/runs past the directory's end/);
  });

  it('multi-disk archives', () => {
    const bytes = Buffer.from(craft([{ name: 'a', data: payload }], { zip64: true }));
    const loc = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
    bytes.writeUInt32LE(3, loc + 16);
    expect(reasonOf(bytes)).toMatch(/multi-disk/);
  });
});

describe('entry data', () => {
  it('a deflate entry whose real size exceeds the declared one errors without inflating it all', () => {
    // 1 GiB of zeros as 64 sync-flushed copies of a 16 MiB block: about 1 MB compressed
    const block = deflateRawSync(Buffer.alloc(16 << 20), { finishFlush: constants.Z_SYNC_FLUSH });
    const bomb = Buffer.concat([...new Array(64).fill(block), deflateRawSync(Buffer.alloc(0))]);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const r = reasonOf(craft([{ name: 'bomb', method: 8, payload: bomb, size: 1000, crc: 0 }]));
    expect(r).toMatch(/entry 'bomb' inflates to more than its declared size of 1000 bytes/);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(200 << 20);
  });

  it('inflating to less than declared, corrupt deflate data, bad CRC', () => {
    expect(reasonOf(craft([{ name: 'a', data: payload, method: 8, size: payload.length + 1 }]))).toMatch(
      /'a' inflates to only 400 bytes, the archive declares 401/,
    );
    const z = deflateRawSync(payload);
    expect(reasonOf(craft([{ name: 'a', data: payload, method: 8, payload: z.subarray(0, z.length - 3) }]))).toMatch(
      /'a' has corrupt deflate data \(zlib: .*\)/,
    );
    expect(reasonOf(craft([{ name: 'a', data: payload, method: 8, payload: Buffer.from([0xff, 0xff, 0xff, 0xff]) }]))).toMatch(/corrupt deflate data/);
    expect(reasonOf(craft([{ name: 'a', data: payload, crc: 0x12345678 }]))).toMatch(
      /'a' is corrupt: its CRC-32 is 0x[0-9a-f]{8}, the archive declares 0x12345678/,
    );
    expect(reasonOf(craft([{ name: 'a', data: payload, method: 8, crc: 1 }]))).toMatch(/CRC-32/);
  });

  it('stored entries whose sizes disagree', () => {
    expect(reasonOf(craft([{ name: 'a', data: payload, size: 10 }]))).toMatch(/stored entry 'a' declares size 10 but compressed size 400/);
  });

  it('local headers that are missing or disagree', () => {
    const bytes = Buffer.from(craft([{ name: 'a', data: payload }]));
    bytes[0] = 0x51;
    expect(reasonOf(bytes)).toMatch(/entry 'a': no local file header at offset 0 \[51 4b 03 04\]/);
    expect(reasonOf(craft([{ name: 'a', data: payload, localName: 'b' }]))).toMatch(/entry 'a': its local header names it 'b'/);
    const longExtra = Buffer.from(craft([{ name: 'a', data: payload }]));
    longExtra.writeUInt16LE(60000, 28); // the local extra field's length
    expect(reasonOf(longExtra)).toMatch(/entry 'a' extends past the end of the file \(offset 60031, size 400, file size \d+\)/);
    const overlapping = Buffer.from(craft([{ name: 'a', data: payload }]));
    overlapping.writeUInt16LE(20, 28); // data would run into the central directory
    expect(reasonOf(overlapping)).toMatch(/'a': its local header's extra field \(20 bytes\) pushes its data \(size 400\) past the next record at offset 431/);
  });

  it('unsupported features say what they are', () => {
    expect(reasonOf(craft([{ name: 'a', data: payload, method: 12, payload }]))).toMatch(/'a' uses compression method 12 \(bzip2\)/);
    expect(reasonOf(craft([{ name: 'a', data: payload, method: 99, payload }]))).toMatch(/AES/);
    expect(reasonOf(craft([{ name: 'a', data: payload, flags: 1 }]))).toMatch(/'a' is encrypted/);
  });

  it('reading a missing entry lists what is there', () => {
    const z = readZip(craft([{ name: 'x.npy', data: payload }]), 'f.npz');
    expect(() => z.read('archive/data.pkl')).toThrow(/zip file f\.npz: no entry 'archive\/data\.pkl' \(the archive has 1: 'x\.npy'\)/);
  });

  it('a bad array inside an .npz names the archive and the entry', () => {
    const bytes = craft([{ name: 'x.npy', data: text('\x93NUMPY garbage') }]);
    expect(() => parseNpz(bytes, '/d/set.npz')).toThrow(/npy file \/d\/set\.npz\/x\.npy: /);
  });
});

describe('fuzzing', () => {
  it('random corruption of valid archives gives success or a FormatError, never anything else', () => {
    const bases = [
      craft([
        { name: 'a.npy', data: encodeNpy({ shape: [20], data: new Float64Array(20).fill(1.5) }) },
        { name: 'b.npy', data: encodeNpy({ shape: [2, 3], data: new Int32Array(6) }), method: 8 },
      ]),
      craft([{ name: 'z', data: payload, method: 8, zip64: true }], { zip64: true }),
    ];
    const next = xorshift32(12345);
    const rand = (n: number) => next() % n;
    let failures = 0;
    const t0 = performance.now();
    for (let iter = 0; iter < 4000; iter++) {
      const bytes = Buffer.from(bases[iter % bases.length]);
      const flips = 1 + rand(4);
      for (let k = 0; k < flips; k++) {
        const at = rand(bytes.length);
        bytes[at] = rand(3) === 0 ? 0xff : rand(256);
      }
      try {
        const z = readZip(bytes, 'fuzz.zip');
        for (const e of z.entries) z.read(e.name);
        parseNpz(bytes, 'fuzz.npz');
      } catch (e) {
        if (!(e instanceof FormatError)) throw new Error(`iteration ${iter}: ${String(e)}`, { cause: e });
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(1000);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
