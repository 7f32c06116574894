/** The zip reader on hand-made archives, and writer → reader round trips; no Python needed. */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { crc32Portable } from '../src/crc32.js';
import { crc32, readZip, ZipWriter } from '../src/index.js';
import { hex } from './helpers.js';
import { craftZip, noise, paddingExtra, zip64Extra } from './zipcraft.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  it('matches the standard check values, native and portable, and chains', () => {
    for (const f of [crc32, crc32Portable]) {
      expect(f(text('123456789'))).toBe(0xcbf43926);
      expect(f(new Uint8Array(0))).toBe(0);
      expect(f(text('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
      const a = noise(1000, 7);
      expect(f(a.subarray(300), f(a.subarray(0, 300)))).toBe(f(a));
    }
    // an empty view of an empty buffer keeps the running value (Node's native crc32 returns 0 there)
    expect(crc32(new Uint8Array(new Float64Array(0).buffer), 0x12345678)).toBe(0x12345678);
    const big = noise(100_003, 3);
    expect(crc32Portable(big)).toBe(crc32(big));
  });
});

describe('readZip on hand-made archives', () => {
  it('reads stored and deflated entries, with UTF-8 names and a trailing comment', () => {
    const a = noise(5000, 1, 7);
    const bytes = craftZip(
      [
        { name: 'stored.bin', data: a },
        { name: 'deflated.bin', data: a, method: 8 },
        { name: 'dir/ünïcødé θ.txt', data: text('hi'), flags: 0x800 },
        { name: 'empty', data: new Uint8Array(0), method: 8 },
      ],
      { comment: text('a comment that contains PK\x05\x06 for good measure') },
    );
    const z = readZip(bytes, 'hand.zip');
    expect(z.entries.map((e) => [e.name, e.method, e.size])).toEqual([
      ['stored.bin', 0, 5000],
      ['deflated.bin', 8, 5000],
      ['dir/ünïcødé θ.txt', 0, 2],
      ['empty', 8, 0],
    ]);
    expect(z.entries[1].compressedSize).toBeLessThan(5000);
    expect(hex(z.read('stored.bin'))).toBe(hex(a));
    expect(hex(z.read('deflated.bin'))).toBe(hex(a));
    expect(Buffer.isBuffer(z.read('deflated.bin'))).toBe(false);
    expect(new TextDecoder().decode(z.read('dir/ünïcødé θ.txt'))).toBe('hi');
    expect(z.read('empty').length).toBe(0);
    expect(z.has('stored.bin')).toBe(true);
    expect(z.has('nope')).toBe(false);
  });

  it('reads PyTorch-style archives: any top folder, stored data aligned by local padding extras', () => {
    for (const top of ['archive', 'my_model-v2']) {
      const storage = new Float32Array([1.5, -2, 3.25, 4]);
      const names = [`${top}/data.pkl`, `${top}/data/0`, `${top}/version`];
      const contents = [noise(77, 5), new Uint8Array(storage.buffer), text('3\n')];
      // pad every local header so the data starts at a multiple of 64, as torch.save does
      let pos = 0;
      const entries = names.map((name, i) => {
        const base = pos + 30 + name.length + 4;
        const pad = (64 - (base % 64)) % 64;
        const extra = paddingExtra(4 + pad);
        pos += 30 + name.length + extra.length + contents[i].length;
        return { name, data: contents[i], localExtra: extra };
      });
      const bytes = craftZip(entries);
      const z = readZip(bytes);
      expect(z.entries.map((e) => e.name)).toEqual(names);
      const data = z.read(`${top}/data/0`);
      expect(data.buffer).toBe(bytes.buffer); // a view, so zero-copy typed arrays are possible
      expect(Buffer.isBuffer(bytes) && !Buffer.isBuffer(data)).toBe(true); // plain Uint8Array: slice() copies
      expect((data.byteOffset - bytes.byteOffset) % 64).toBe(0);
      expect(Array.from(new Float32Array(data.buffer, data.byteOffset, 4))).toEqual([1.5, -2, 3.25, 4]);
      expect(hex(z.read(`${top}/data.pkl`))).toBe(hex(contents[0]));
    }
  });

  it('reads ZIP64 extras and end records, in the central directory or the local header only', () => {
    const a = noise(3000, 9);
    const bytes = craftZip(
      [
        { name: 'a', data: a, zip64: true },
        { name: 'b', data: a, method: 8, zip64: true },
        // np.savez style: ZIP64 sizes in the local header only
        { name: 'c', data: a, localSize: 0xffffffff, localCsize: 0xffffffff, localExtra: zip64Extra(3000, 3000) },
      ],
      { zip64: true },
    );
    const z = readZip(bytes);
    expect(z.entries.map((e) => [e.name, e.size, e.compressedSize === e.size])).toEqual([
      ['a', 3000, true],
      ['b', 3000, false],
      ['c', 3000, true],
    ]);
    for (const n of ['a', 'b', 'c']) expect(hex(z.read(n))).toBe(hex(a));
  });

  it('of duplicate names, the last one wins (as in Python zipfile / np.load); entries lists both', () => {
    const z = readZip(
      craftZip([
        { name: 'x', data: text('first') },
        { name: 'x', data: text('second') },
      ]),
    );
    expect(z.entries.map((e) => e.name)).toEqual(['x', 'x']);
    expect(new TextDecoder().decode(z.read('x'))).toBe('second');
  });

  it('reads entries with data descriptors (sizes from the central directory)', () => {
    const a = noise(1000, 2, 3);
    const z = readZip(craftZip([{ name: 'dd', data: a, method: 8, flags: 0x8, localSize: 0, localCsize: 0 }]));
    expect(hex(z.read('dd'))).toBe(hex(a));
  });

  it('decodes non-UTF-8 names as CP437', () => {
    const raw = Buffer.from(craftZip([{ name: 'caf?', data: text('1') }]));
    // replace '?' (0x3f) in both headers by 0x82, CP437 'é' and not valid UTF-8 alone
    for (let i = raw.indexOf('caf?'); i >= 0; i = raw.indexOf('caf?', i + 1)) raw[i + 3] = 0x82;
    const z2 = readZip(raw);
    expect(z2.entries[0].name).toBe('café');
    expect(new TextDecoder().decode(z2.read('café'))).toBe('1');
  });
});

describe('ZipWriter → readZip', () => {
  const tmp = tempDir('mmmi-formats-zip-');

  const big = noise(3 * (1 << 20) + 12345, 11, 16); // crosses the 1 MiB block size, compressible

  for (const zip64 of ['auto', 'always'] as const) {
    it(`round-trips whole and streamed, stored and deflated entries (zip64: ${zip64})`, async () => {
      const path = join(tmp, `rt-${zip64}.zip`);
      const w = await ZipWriter.create(path, { zip64 });
      await w.addEntry('whole-stored', big);
      await w.addEntry('whole-deflate', big, { compress: true });
      await w.addEntry('parts', [text('ab'), new Uint8Array(0), text('cd')]);
      await w.addEntry('empty-stored', new Uint8Array(0));
      await w.addEntry('empty-deflate', new Uint8Array(0), { compress: true });
      for (const compress of [false, true]) {
        const e = await w.beginEntry(`streamed-${compress}`, { compress, level: 1 });
        // odd chunk sizes: tiny, block-crossing, larger than a block; one buffer reused throughout
        const scratch = new Uint8Array(1 << 21);
        for (let off = 0, k = 0; off < big.length; k++) {
          const n = Math.min([1, 1000, 1 << 20, (1 << 21) - 3, 77777][k % 5], big.length - off);
          scratch.set(big.subarray(off, off + n));
          await e.write(scratch.subarray(0, n));
          scratch.fill(0xee); // reusing the chunk after write() resolves must be safe
          off += n;
        }
        await e.end();
      }
      const empty = await w.beginEntry('streamed-empty', { compress: true });
      await empty.end();
      await w.addEntry('naïve/θ.txt', text('utf-8 name'));
      expect(existsSync(path)).toBe(false); // nothing at the target before close()
      await w.close();
      expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      const bytes = readFileSync(path);
      const z = readZip(bytes, path);
      const names = z.entries.map((e) => e.name);
      expect(names).toEqual([
        'whole-stored',
        'whole-deflate',
        'parts',
        'empty-stored',
        'empty-deflate',
        'streamed-false',
        'streamed-true',
        'streamed-empty',
        'naïve/θ.txt',
      ]);
      for (const n of ['whole-stored', 'whole-deflate', 'streamed-false', 'streamed-true']) expect(hex(z.read(n)), n).toBe(hex(big));
      expect(z.entries.find((e) => e.name === 'streamed-true')!.compressedSize).toBeLessThan(big.length * 0.7);
      expect(new TextDecoder().decode(z.read('parts'))).toBe('abcd');
      expect(z.read('empty-deflate').length).toBe(0);
      expect(z.read('streamed-empty').length).toBe(0);
      expect(new TextDecoder().decode(z.read('naïve/θ.txt'))).toBe('utf-8 name');
      // ZIP64 end records exist exactly when forced (or needed, which these sizes never are)
      const hasLocator = bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
      expect(hasLocator).toBe(zip64 === 'always');
    });
  }

  it('writes byte-identical archives for identical input', async () => {
    const make = async (p: string) => {
      const w = await ZipWriter.create(p);
      await w.addEntry('a', big.subarray(0, 5000), { compress: true });
      const e = await w.beginEntry('b');
      await e.write(big.subarray(0, 100));
      await e.end();
      await w.close();
      return readFileSync(p);
    };
    expect((await make(join(tmp, 'd1.zip'))).equals(await make(join(tmp, 'd2.zip')))).toBe(true);
  });

  it('abort() leaves no file and keeps an existing target; misuse throws without spoiling the archive', async () => {
    const path = join(tmp, 'abort.zip');
    writeFileSync(path, 'old content');
    const w = await ZipWriter.create(path);
    await w.addEntry('a', text('1'));
    await expect(w.addEntry('a', text('2'))).rejects.toThrow(/duplicate entry name 'a'/);
    await expect(w.addEntry('', text('2'))).rejects.toThrow(/non-empty/);
    const e = await w.beginEntry('b');
    await expect(w.addEntry('c', text('3'))).rejects.toThrow(/'b' is still open/);
    await expect(w.close()).rejects.toThrow(/'b' is still open/);
    await expect(w.beginEntry('c', { compress: true, level: 12 })).rejects.toThrow(/'b' is still open/);
    await e.write(text('x'));
    await e.end();
    await expect(e.write(text('y'))).rejects.toThrow(/after end/);
    await expect(w.beginEntry('c', { compress: true, level: 12 })).rejects.toThrow(/level must be 1-9/);
    await w.abort();
    await w.abort();
    expect(readFileSync(path, 'utf8')).toBe('old content');
    expect(readdirSync(tmp).filter((f) => f.startsWith('.abort'))).toEqual([]);
    await expect(w.addEntry('d', text('4'))).rejects.toThrow(/already aborted/);
  });

  it('the archive survives misuse: after rejected calls it still closes into a valid zip', async () => {
    const path = join(tmp, 'misuse.zip');
    const w = await ZipWriter.create(path);
    await w.addEntry('a', text('1'));
    await expect(w.addEntry('a', text('2'))).rejects.toThrow(/duplicate/);
    const e = await w.beginEntry('b', { compress: true });
    const p1 = e.write(text('hello '));
    await expect(e.write(text('world'))).rejects.toThrow(/await each call/);
    await p1;
    await e.write(text('world'));
    await e.end();
    await w.close();
    await w.abort(); // after close: does nothing
    const z = readZip(readFileSync(path));
    expect(new TextDecoder().decode(z.read('b'))).toBe('hello world');
    await expect(w.addEntry('c', text('3'))).rejects.toThrow(/already closed/);
  });

  it('I/O failures pass through as Node errors, and a failed writer refuses further calls', async () => {
    await expect(ZipWriter.create(join(tmp, 'no-such-dir', 'x.zip'))).rejects.toThrow(/ENOENT/);
    const dir = join(tmp, 'vanishing');
    mkdirSync(dir);
    const w = await ZipWriter.create(join(dir, 'x.zip'));
    await w.addEntry('a', text('1'));
    rmSync(dir, { recursive: true });
    await expect(w.close()).rejects.toThrow(/ENOENT/); // the rename cannot happen
    await expect(w.addEntry('b', text('2'))).rejects.toThrow(/an earlier write failed.*ENOENT.*discarded/);
    await w.abort();
  });

  it('handles 70 000 entries (ZIP64 end records by count)', async () => {
    const path = join(tmp, 'many.zip');
    const w = await ZipWriter.create(path);
    for (let i = 0; i < 70_000; i++) await w.addEntry(`f${i}`, text(String(i)));
    await w.close();
    const z = readZip(readFileSync(path));
    expect(z.entries.length).toBe(70_000);
    expect(new TextDecoder().decode(z.read('f69999'))).toBe('69999');
  });

  it('blockwise deflate compresses within 1% of one-shot deflate', async () => {
    const path = join(tmp, 'blocks.zip');
    const w = await ZipWriter.create(path);
    const e = await w.beginEntry('x', { compress: true });
    await e.write(big);
    await e.end();
    await w.close();
    const z = readZip(readFileSync(path));
    const entry = z.entries[0];
    expect(hex(z.read('x'))).toBe(hex(big));
    expect(entry.compressedSize / deflateRawSync(big).length).toBeLessThan(1.01);
  });
});
