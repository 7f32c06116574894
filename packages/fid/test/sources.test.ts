import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpz, writeNpz, writePngSync, type RgbImage } from '@mmmi/formats';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { isStatsFile, listImageFiles, listNpzKeys, npzImageSource, openImageSource, type ImageBatch, type ImageSource } from '../src/sources.js';
import { writeStats } from '../src/stats.js';

const tmp = () => tempDir('fid-src-');

function image(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 17) % 256;
  return { width, height, data };
}

async function collect(src: ImageSource, batchSize: number): Promise<ImageBatch[]> {
  const out: ImageBatch[] = [];
  for await (const b of src.batches(batchSize)) out.push(b);
  return out;
}

describe('folder source', () => {
  it('lists PNG/JPEG recursively in sorted order and yields [0,1] NHWC batches that never mix sizes', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'b', 'c'), { recursive: true });
    writePngSync(join(dir, 'b', 'c', 'z.png'), image(4, 3, 1));
    writePngSync(join(dir, 'a.png'), image(4, 3, 2));
    writePngSync(join(dir, 'b', 'a.PNG'), image(4, 3, 3));
    writePngSync(join(dir, 'b', 'x.png'), image(5, 2, 4)); // another size
    writePngSync(join(dir, 'c.png'), image(4, 3, 5));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    const files = await listImageFiles(dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['a.png', 'b/a.PNG', 'b/c/z.png', 'b/x.png', 'c.png']);
    const src = await openImageSource(dir);
    expect(src.count).toBe(5);
    const batches = await collect(src, 4);
    expect(batches.map((b) => [b.n, b.height, b.width])).toEqual([
      [3, 3, 4],
      [1, 2, 5],
      [1, 3, 4],
    ]);
    const first = batches[0];
    const img = image(4, 3, 2);
    for (let j = 0; j < img.data.length; j++) expect(first.data[j]).toBe(Math.fround(img.data[j] / 255));
    const all = await collect(src, 1);
    expect(all.map((b) => b.n)).toEqual([1, 1, 1, 1, 1]);
  });

  it('refuses an empty folder and bad batch sizes', async () => {
    await expect(openImageSource(tmp())).rejects.toThrow(/no \.png\/\.jpg\/\.jpeg images/);
    const dir = tmp();
    writePngSync(join(dir, 'a.png'), image(2, 2, 0));
    const src = await openImageSource(dir);
    await expect(collect(src, 0)).rejects.toThrow(/batch size/);
  });
});

describe('.npz sources', () => {
  it("flattens our shards' X (n, N_mod, 3, H, W) into n·N_mod NHWC images", async () => {
    const dir = tmp();
    const [n, m, h, w] = [3, 2, 4, 5];
    const x = new Float32Array(n * m * 3 * h * w);
    for (let i = 0; i < x.length; i++) x[i] = (i % 97) / 96;
    const file = join(dir, 'shard_000.npz');
    await writeNpz(file, { X: { dtype: '<f4', shape: [n, m, 3, h, w], data: x }, MI_labels: { shape: [1], data: ['I(X; θ)'] } });
    const src = await openImageSource(file);
    expect(src.count).toBe(n * m);
    const batches = await collect(src, 4);
    expect(batches.map((b) => b.n)).toEqual([4, 2]);
    const flat = new Float32Array(n * m * h * w * 3);
    let off = 0;
    for (const b of batches) {
      flat.set(b.data, off);
      off += b.data.length;
    }
    // image k = (sample, modality), pixel (y, x), channel c
    for (let k = 0; k < n * m; k++)
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < w; xx++) {
            expect(flat[((k * h + y) * w + xx) * 3 + c]).toBe(x[((k * 3 + c) * h + y) * w + xx]);
          }
    expect(await listNpzKeys(file)).toEqual(['X', 'MI_labels']);
    expect(await isStatsFile(file)).toBe(false);
    // the same from a compressed shard (read whole) and with two iterations at once (streamed)
    const packed = join(dir, 'shard_packed.npz');
    await writeNpz(packed, { X: { dtype: '<f4', shape: [n, m, 3, h, w], data: x } }, { compress: true });
    const whole = await collect(await openImageSource(packed), 4);
    expect(whole.map((b) => Array.from(b.data))).toEqual(batches.map((b) => Array.from(b.data)));
    const [one, two] = await Promise.all([collect(src, 5), collect(src, 5)]);
    expect(one.map((b) => Array.from(b.data))).toEqual(two.map((b) => Array.from(b.data)));
    expect(one.map((b) => b.n)).toEqual([5, 1]);
  });

  it('reads (n, H, W, 3) uint8 as v/255 and (n, 3, H, W) float64 channel-first', async () => {
    const u8 = Uint8Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => (i * 7) % 256);
    const a = npzImageSource(new Map([['images', { dtype: '|u1', shape: [2, 2, 3, 3], data: u8 }]]), 'u8.npz');
    const [b] = await collect(a, 10);
    expect([b.n, b.height, b.width]).toEqual([2, 2, 3]);
    expect(Array.from(b.data)).toEqual(Array.from(u8, (v) => Math.fround(v / 255)));
    const f64 = Float64Array.from({ length: 1 * 3 * 2 * 2 }, (_, i) => i / 11);
    const c = npzImageSource(new Map([['imgs', { dtype: '<f8', shape: [1, 3, 2, 2], data: f64 }]]), 'f.npz');
    const [d] = await collect(c, 10);
    // pixel p, channel ch ← f64[ch * 4 + p]
    expect(Array.from(d.data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map((i) => Math.fround(i / 11)));
  });

  it('chooses the array by key, X, images, or the only 4-d/5-d one, and explains failures', () => {
    const img = { dtype: '<f4' as const, shape: [1, 2, 2, 3], data: new Float32Array(12) };
    expect(
      npzImageSource(
        new Map([
          ['a', img],
          ['lab', { dtype: '<f4', shape: [1], data: new Float32Array(1) }],
        ]),
        'f',
      ).description,
    ).toContain('f[a]');
    expect(() =>
      npzImageSource(
        new Map([
          ['a', img],
          ['b', img],
        ]),
        'f.npz',
      ),
    ).toThrow(/cannot tell which array holds the images/);
    expect(() => npzImageSource(new Map([['a', img]]), 'f.npz', 'zz')).toThrow(/no array 'zz'/);
    expect(() => npzImageSource(new Map([['X', { dtype: '<f4', shape: [1, 4, 4, 4], data: new Float32Array(64) }]]), 'f.npz')).toThrow(
      /no axis of 3 colour channels/,
    );
    expect(() => npzImageSource(new Map([['X', { dtype: '<i4', shape: [1, 2, 2, 3], data: new Int32Array(12) }]]), 'f.npz')).toThrow(
      /expected uint8, float32 or float64/,
    );
  });

  it('tells statistics files from image files by their ZIP directory (ZIP64 too)', async () => {
    const dir = tmp();
    const s = join(dir, 'stats.npz');
    await writeStats(s, { mu: new Float64Array(3), sigma: new Float64Array(9) });
    expect(await isStatsFile(s)).toBe(true);
    await expect(openImageSource(s)).rejects.toThrow(/holds statistics/);
    const z = join(dir, 'z64.npz');
    await writeNpz(
      z,
      { mu: { shape: [2], data: new Float64Array(2) }, sigma: { shape: [2, 2], data: new Float64Array(4) } },
      { zip64: 'always', compress: true },
    );
    expect(await listNpzKeys(z)).toEqual([...(await readNpz(z)).keys()]);
    expect(await isStatsFile(z)).toBe(true);
    const bad = join(dir, 'bad.npz');
    writeFileSync(bad, 'not a zip at all');
    await expect(listNpzKeys(bad)).rejects.toThrow(/not a \.npz/);
  });
});
