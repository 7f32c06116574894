/** The streaming tar reader against archives written by Python's tarfile (ustar, GNU, pax). */
import { gzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasPython, runPython, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError, readTar, readTarGz, type TarEntry } from '../src/index.js';

const dir = tempDir('mmmi-formats-tar-');

/** Writes an archive with Python's tarfile; files: name → size (content: bytes i*7+len(name) mod 256). */
const MAKE = `
import io, sys, tarfile, json
out, fmt, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
mode = 'w:gz' if out.endswith('.gz') else 'w'
f = {'ustar': tarfile.USTAR_FORMAT, 'gnu': tarfile.GNU_FORMAT, 'pax': tarfile.PAX_FORMAT}[fmt]
with tarfile.open(out, mode, format=f) as t:
    for name, size in spec:
        if size < 0:
            ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; t.addfile(ti); continue
        if size == -0.5: continue
        data = bytes((i * 7 + len(name)) % 256 for i in range(size))
        ti = tarfile.TarInfo(name); ti.size = size; ti.mtime = 1600000000; ti.mode = 0o640
        t.addfile(ti, io.BytesIO(data))
    ti = tarfile.TarInfo('link'); ti.type = tarfile.SYMTYPE; ti.linkname = 'a'; t.addfile(ti)
`;

const content = (name: string, size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + name.length) % 256);

async function collect(gen: AsyncGenerator<TarEntry>): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of gen) {
    const b = await e.bytes();
    expect(b.length).toBe(e.size);
    out.set(e.name, b);
  }
  return out;
}

const longName = `deep/${'x'.repeat(120)}/${'é'.repeat(60)}.bin`;
const spec: [string, number][] = [
  ['top/', -1],
  ['top/a.bin', 0],
  ['top/b.bin', 511],
  ['top/c.bin', 512],
  ['top/d.bin', 100_000],
  [longName, 1234],
];

describe.skipIf(!hasPython())('readTarGz (archives made by Python tarfile)', () => {
  for (const fmt of ['ustar', 'gnu', 'pax'] as const) {
    for (const ext of ['.tar', '.tar.gz']) {
      it(`${fmt}${ext}: regular files with their bytes, directories and links skipped`, async () => {
        const p = join(dir, `${fmt}${ext}`);
        const s = fmt === 'ustar' ? spec.filter(([n]) => Buffer.byteLength(n) < 200 && !n.includes('é')) : spec;
        runPython(MAKE, [p, fmt, JSON.stringify(s)]);
        const got = await collect(readTarGz(p));
        const files = s.filter(([, n]) => n >= 0);
        expect([...got.keys()]).toEqual(files.map(([n]) => n));
        for (const [n, size] of files) expect(Buffer.from(got.get(n)!).equals(Buffer.from(content(n, size)))).toBe(true);
      });
    }
  }

  it('skips the data of entries whose bytes() is not called, and refuses late calls', async () => {
    const p = join(dir, 'skip.tar.gz');
    runPython(MAKE, [p, 'gnu', JSON.stringify(spec)]);
    const names: string[] = [];
    let held: TarEntry | undefined;
    for await (const e of readTarGz(p)) {
      names.push(e.name);
      if (e.name === 'top/c.bin') held = e;
      if (e.name === longName) expect(Buffer.from(await e.bytes()).equals(Buffer.from(content(longName, 1234)))).toBe(true);
    }
    expect(names).toEqual(['top/a.bin', 'top/b.bin', 'top/c.bin', 'top/d.bin', longName]);
    await expect(held!.bytes()).rejects.toThrow(/after the iteration moved on/);
  });

  it('stops reading when the loop breaks', async () => {
    const p = join(dir, 'break.tar.gz');
    runPython(MAKE, [p, 'pax', JSON.stringify(spec)]);
    for await (const e of readTarGz(p)) {
      expect(e.name).toBe('top/a.bin');
      break;
    }
  });

  it('refuses absolute paths and ..', async () => {
    for (const bad of ['/etc/passwd', 'a/../../b', '../x']) {
      const p = join(dir, 'bad.tar');
      runPython(MAKE, [p, 'gnu', JSON.stringify([[bad, 3]])]);
      await expect(collect(readTarGz(p))).rejects.toThrow(/absolute path|'\.\.'/);
    }
  });

  it('gives FormatErrors for truncated, corrupt and non-tar input', async () => {
    const p = join(dir, 'full.tar');
    runPython(MAKE, [p, 'gnu', JSON.stringify(spec)]);
    const full = readFileSync(p);
    for (const cut of [100, 512 + 300, 512 * 5 + 17, 512 * 7 + 5000]) {
      const q = join(dir, `cut${cut}.tar`);
      writeFileSync(q, full.subarray(0, cut));
      await expect(collect(readTarGz(q)), `cut at ${cut}`).rejects.toThrow(FormatError);
    }
    const gz = gzipSync(full);
    const q = join(dir, 'cut.tar.gz');
    writeFileSync(q, gz.subarray(0, gz.length >> 1));
    await expect(collect(readTarGz(q))).rejects.toThrow(/gzip|truncated/);
    const bad = Buffer.from(full);
    bad[10] ^= 0xff;
    writeFileSync(q, gzipSync(bad));
    await expect(collect(readTarGz(q))).rejects.toThrow(/checksum/);
    writeFileSync(q, gzipSync(Buffer.from('hello, this is not a tar file'.repeat(40))));
    await expect(collect(readTarGz(q))).rejects.toThrow(FormatError);
    const gzBad = Buffer.from(gz);
    gzBad[gzBad.length >> 1] ^= 0xff;
    gzBad[(gzBad.length >> 1) + 1] ^= 0xff;
    writeFileSync(q, gzBad);
    await expect(collect(readTarGz(q))).rejects.toThrow(FormatError);
  });
});

describe('readTar over an in-memory stream', () => {
  it('reads a hand-made ustar archive with a prefix field and a base-256 size', async () => {
    const header = (name: string, prefix: string, size: number, base256 = false) => {
      const h = new Uint8Array(512);
      const put = (s: string, off: number) => h.set(Buffer.from(s, 'latin1'), off);
      put(name, 0);
      put('0000644\0', 100);
      if (base256) {
        h[124] = 0x80;
        h[135] = size & 0xff;
        h[134] = size >> 8;
      } else put(`${size.toString(8).padStart(11, '0')}\0`, 124);
      put('00000000000\0', 136);
      h[156] = 0x30;
      put('ustar\x0000', 257);
      put(prefix, 345);
      put('        ', 148);
      const sum = h.reduce((a, b) => a + b, 0);
      put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return h;
    };
    const data = Uint8Array.from({ length: 700 }, (_, i) => i % 251);
    const pad = new Uint8Array(1024 - 700);
    const parts = [header('file.txt', 'some/dir', 700), data, pad, header('./b', '', 700, true), data, pad, new Uint8Array(1024)];
    async function* chunks() {
      // awkward chunk sizes
      const all = Buffer.concat(parts);
      for (let i = 0; i < all.length; i += 333) yield all.subarray(i, i + 333);
    }
    const got = await collect(readTar(chunks()));
    expect([...got.keys()]).toEqual(['some/dir/file.txt', 'b']);
    expect(Buffer.from(got.get('b')!).equals(Buffer.from(data))).toBe(true);
  });
});

beforeAll(() => undefined);
