/**
 * ZipFile, the file-backed lazy reader: it must agree with readZip (same entries, same
 * bytes, same FormatError reasons on hostile input) while reading only what it needs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasPython, runPython, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError, NpzWriter, readZip, ZipFile } from '../src/index.js';
import { craftZip, noise, writeSparseZip64, type CraftEntry, type CraftOptions } from './zipcraft.js';

const text = (s: string) => new TextEncoder().encode(s);
const tmp = tempDir('mmmi-formats-zipfile-');
let counter = 0;
function toFile(bytes: Uint8Array, name = `f${counter++}.zip`): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

/** The FormatError reason of fn, or 'ok'. */
async function reasonOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return e.reason;
  }
}

/** Open `bytes` with both readers and read every entry: they must agree, outcome and message. */
async function parity(bytes: Uint8Array): Promise<string> {
  const path = toFile(bytes);
  const inMemory = await reasonOf(() => {
    const z = readZip(bytes, path);
    for (const e of z.entries) z.read(e.name);
  });
  const fromFile = await reasonOf(async () => {
    const z = await ZipFile.open(path);
    try {
      for (const e of z.entries) await z.read(e.name);
    } finally {
      await z.close();
    }
  });
  expect(fromFile).toBe(inMemory);
  return fromFile;
}

const payload = text('some data that is long enough to matter '.repeat(10));
/** `bytes` with the u16 at `at` set to `value`. */
function patched(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const b = Buffer.from(bytes);
  b.writeUInt16LE(value, at);
  return b;
}
const craft = (entries: CraftEntry[], options?: CraftOptions) => craftZip(entries, options);

describe('agrees with readZip', () => {
  it('reads stored, deflated and ZIP64 entries identically, and ranges of stored ones', async () => {
    const entries: CraftEntry[] = [
      { name: 'a.npy', data: payload },
      { name: 'b.bin', data: noise(5000), method: 8 },
      { name: 'dir/θ.txt', data: text('unicode name'), zip64: true },
      { name: 'a.npy', data: text('the later duplicate wins') },
      { name: 'empty', data: new Uint8Array(0) },
    ];
    const bytes = craft(entries, { zip64: true, comment: text('a comment') });
    const path = toFile(bytes);
    const mem = readZip(bytes, path);
    const z = await ZipFile.open(path);
    try {
      expect(z.size).toBe(bytes.length);
      expect(z.path).toBe(path);
      expect(z.entries).toEqual(mem.entries);
      expect(z.has('b.bin') && !z.has('nope')).toBe(true);
      for (const e of z.entries) expect(await z.read(e.name)).toEqual(mem.read(e.name));
      const off = await z.dataOffset('a.npy');
      expect(Uint8Array.from(bytes.subarray(off, off + 24))).toEqual(text('the later duplicate wins'));
      expect(await z.readRange('a.npy', 4, 5)).toEqual(text('later'));
      expect(await z.readRange('a.npy', 24, 0)).toEqual(new Uint8Array(0));
      expect(await z.readStart('b.bin', 100)).toEqual(noise(100));
      expect(await z.readStart('b.bin', 1e6)).toEqual(noise(5000));
      expect(await z.readStart('a.npy', 3)).toEqual(text('the'));
      await expect(z.readRange('a.npy', 20, 5)).rejects.toThrow(RangeError);
      await expect(z.readRange('a.npy', -1, 1)).rejects.toThrow(RangeError);
      await expect(z.readRange('a.npy', 0.5, 1)).rejects.toThrow(RangeError);
      await expect(z.readRange('b.bin', 0, 1)).rejects.toThrow(/deflate-compressed.*use read\(\)/);
      await expect(z.dataOffset('b.bin')).rejects.toThrow(/deflate-compressed/);
      await expect(z.read('nope')).rejects.toThrow(/no entry 'nope' \(the archive has 4: /);
    } finally {
      await z.close();
    }
    await expect(z.read('a.npy')).rejects.toThrow(/closed/);
    await z.close(); // twice is fine
  });

  it('streamed NpzWriter output with ZIP64 forced', async () => {
    const path = join(tmp, 'streamed.npz');
    const w = await NpzWriter.create(path, { zip64: 'always' });
    const s = await w.beginArray('x', { dtype: '|u1', shape: [3, 1000] });
    for (let i = 0; i < 3; i++) await s.write(noise(1000, i + 1));
    await s.end();
    await w.addArray('y', { shape: [2], data: new Float64Array([1.5, -2]) });
    await w.close();
    const bytes = readFileSync(path);
    const z = await ZipFile.open(path);
    try {
      expect(z.entries).toEqual(readZip(bytes).entries);
      const x = await z.read('x.npy');
      expect(x).toEqual(readZip(bytes).read('x.npy'));
      const head = x.length - 3000;
      expect(await z.readRange('x.npy', head + 1000, 1000)).toEqual(noise(1000, 2));
      expect((await z.dataOffset('x.npy')) + head + 2000).toBe(bytes.indexOf(Buffer.from(noise(1000, 3))));
    } finally {
      await z.close();
    }
  });

  it.skipIf(!hasPython())("Python's zipfile: force_zip64, deflate, a comment, data descriptors", async () => {
    const path = join(tmp, 'py.zip');
    runPython(
      String.raw`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.comment = b'made by python'
    with z.open('big.npy', 'w', force_zip64=True) as f:
        f.write(bytes(range(256)) * 40)
    z.writestr(zipfile.ZipInfo('small.txt'), b'hello', compress_type=zipfile.ZIP_DEFLATED)
    with z.open('streamed.bin', 'w') as f:
        f.write(b'x' * 10000)
`,
      [path],
    );
    const bytes = readFileSync(path);
    const z = await ZipFile.open(path);
    try {
      expect(z.entries).toEqual(readZip(bytes).entries);
      for (const e of z.entries) expect(await z.read(e.name)).toEqual(readZip(bytes).read(e.name));
      expect(await z.readRange('big.npy', 250, 8)).toEqual(Uint8Array.from([250, 251, 252, 253, 254, 255, 0, 1]));
    } finally {
      await z.close();
    }
  });
});

describe('hostile input: the same FormatErrors as readZip', () => {
  it('every truncation of a valid archive', async () => {
    const good = craft(
      [
        { name: 'a.npy', data: payload },
        { name: 'b.npy', data: payload, method: 8 },
      ],
      { zip64: true },
    );
    expect(await parity(good)).toBe('ok');
    for (let n = 0; n < good.length; n += 7) expect(await parity(good.subarray(0, n))).not.toBe('ok');
  });

  it('directories and entries past the end, lying sizes, overlaps, bad CRCs, encryption', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [craft([{ name: 'a', data: payload }], { cdOffset: 10_000 }), /central directory .* extends past the end record/],
      [craft([{ name: 'a', data: payload }], { zip64: true, cdOffset: 2 ** 40 }), /central directory .* extends past/],
      [craft([{ name: 'a', data: payload }], { zip64: true, count: 1_000_000 }), /declares 1000000 entries/],
      [craft([{ name: 'a', data: payload, offset: 5000 }]), /extends past the end of the file/],
      [craft([{ name: 'a', data: payload, noLocal: true, offset: 0, zip64: true, size: 2 ** 40, csize: 2 ** 40 }]), /extends past the end of the file/],
      [
        craft([
          { name: 'a', data: payload },
          { name: 'b', data: payload, offset: 0 },
        ]),
        /overlap/,
      ],
      [craft([{ name: 'a', data: payload, crc: 1234 }]), /CRC-32/],
      [craft([{ name: 'a', data: payload, flags: 1 }]), /encrypted/],
      [craft([{ name: 'a', data: payload, localName: 'b' }]), /local header names it 'b'/],
      [patched(craft([{ name: 'a', data: payload }]), 28, 20), /pushes its data \(size 400\) past the next record at offset 431/],
      [patched(craft([{ name: 'a', data: payload }]), 28, 60000), /entry 'a' extends past the end of the file \(offset 60031/],
      [patched(craft([{ name: 'a', data: payload }]), 0, 0x4b51), /no local file header at offset 0 \[51 4b 03 04\]/],
      [craft([{ name: 'a', data: payload, method: 12 }]), /method 12 \(bzip2\)/],
      [craft([{ name: 'a', data: payload, size: 10 }]), /stored entry 'a' declares size 10/],
      [craft([{ name: 'a', data: noise(3000, 1, 4), method: 8, size: 1000 }]), /inflates to more than/],
      [craft([{ name: 'a', zip64: true, centralExtra: new Uint8Array(0), data: payload }]), /no ZIP64 extra field/],
      [text('hello world, this is plain text and definitely not zip'), /no end-of-central-directory record/],
      [new Uint8Array(0), /0 bytes is too short.*\(empty file\)/],
    ];
    for (const [bytes, re] of cases) expect(await parity(bytes)).toMatch(re);
  });

  it('random mutations of a ZIP64 archive', async () => {
    const good = craft(
      [
        { name: 'a.npy', data: payload, zip64: true },
        { name: 'b', data: noise(400), method: 8 },
      ],
      { zip64: true },
    );
    const rand = noise(600, 99);
    for (let i = 0; i < 200; i++) {
      const bad = Uint8Array.from(good);
      const pos = (rand[i] * 256 + rand[i + 200]) % bad.length;
      bad[pos] ^= 1 << (rand[i + 400] % 8);
      await parity(bad);
    }
  });

  it('a file that shrinks after open() gives a FormatError', async () => {
    const path = toFile(craft([{ name: 'a', data: payload }]));
    const z = await ZipFile.open(path);
    try {
      writeFileSync(path, new Uint8Array(10));
      await expect(z.read('a')).rejects.toThrow(/the file ended at offset/);
    } finally {
      await z.close();
    }
  });
});

describe('beyond 4 GiB (sparse file)', () => {
  const big = 5 * 2 ** 30;
  let path = '';
  let start = 0;
  beforeAll(() => {
    path = join(tmp, 'sparse.zip');
    start = writeSparseZip64(path, 'big', text('BEGIN'), big, [[big - 3, text('END')]], text('the tail entry'));
  });

  it('reads the directory, ranges past 4 GiB and an entry that starts past 4 GiB', async () => {
    const z = await ZipFile.open(path);
    try {
      expect(z.size).toBeGreaterThan(big);
      expect(z.entries.map((e) => [e.name, e.size])).toEqual([
        ['big', big],
        ['tail.bin', 14],
      ]);
      expect(z.entries[1].localHeaderOffset).toBeGreaterThan(2 ** 32);
      expect(await z.dataOffset('big')).toBe(start);
      expect(await z.readRange('big', 0, 5)).toEqual(text('BEGIN'));
      expect(await z.readRange('big', big - 4, 4)).toEqual(text('\0END'));
      expect(await z.read('tail.bin')).toEqual(text('the tail entry'));
      await expect(z.read('big')).rejects.toThrow(/declares 5368709120 bytes, more than the 2147483648/);
      await expect(z.readRange('big', big - 3, 4)).rejects.toThrow(RangeError);
    } finally {
      await z.close();
    }
  });

  it.skipIf(!hasPython())("Python's zipfile agrees with the layout", () => {
    const out = runPython(
      String.raw`
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print([(i.filename, i.file_size, i.header_offset) for i in z.infolist()], z.read('tail.bin'))
`,
      [path],
    );
    expect(out).toContain("('big', 5368709120, 0)");
    expect(out).toContain("b'the tail entry'");
  });
});
