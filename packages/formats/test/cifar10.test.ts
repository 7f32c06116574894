/** CIFAR-10 readers on small fake releases (binary and JPEG layouts, archives and folders). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { hasPython, mulberry32, runPython, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, cifar10RecordsToHwc, decodeImageRgb, detectCifar10, FormatError, readCifar10, type Cifar10Batch } from '../src/index.js';

const dir = tempDir('mmmi-formats-cifar10-');

/** tar (gz) `files` (path on disk → name in archive, in this order) with Python's tarfile. */
const TAR = `
import sys, tarfile, json
out, files = sys.argv[1], json.loads(sys.argv[2])
with tarfile.open(out, 'w:gz' if out.endswith('gz') else 'w', format=tarfile.GNU_FORMAT) as t:
    for path, name in files:
        t.add(path, arcname=name, recursive=False)
`;
const tar = (out: string, files: [string, string][]) => runPython(TAR, [out, JSON.stringify(files)]);

const rnd = mulberry32(12345);

/** A fake binary batch: n records with labels and random pixels. */
function fakeRecords(n: number): Uint8Array {
  const r = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    r[i * 3073] = (i * 3 + n) % 10;
    for (let j = 1; j < 3073; j++) r[i * 3073 + j] = Math.floor(rnd() * 256);
  }
  return r;
}

async function all(gen: AsyncGenerator<Cifar10Batch>): Promise<{ images: Uint8Array; labels: Uint8Array; sizes: number[] }> {
  const imgs: Uint8Array[] = [];
  const labels: number[] = [];
  const sizes: number[] = [];
  for await (const b of gen) {
    expect(b.images.length).toBe(b.n * 3072);
    expect(b.labels.length).toBe(b.n);
    imgs.push(b.images);
    labels.push(...b.labels);
    sizes.push(b.n);
  }
  return { images: new Uint8Array(Buffer.concat(imgs)), labels: Uint8Array.from(labels), sizes };
}

const binDir = join(dir, 'bin');
const batchesDir = join(binDir, 'cifar-10-batches-bin');
const records: Record<string, Uint8Array> = {};
const counts: Record<string, number> = { data_batch_1: 3, data_batch_2: 4, data_batch_3: 2, data_batch_4: 3, data_batch_5: 1, test_batch: 5 };

beforeAll(() => {
  mkdirSync(batchesDir, { recursive: true });
  for (const [b, n] of Object.entries(counts)) {
    records[b] = fakeRecords(n);
    writeFileSync(join(batchesDir, `${b}.bin`), records[b]);
  }
  writeFileSync(join(batchesDir, 'batches.meta.txt'), `${CIFAR10_CLASSES.join('\n')}\n\n`);
});

const expected = (names: string[]) => {
  const hwc = names.map((b) => cifar10RecordsToHwc(records[b]));
  return { images: new Uint8Array(Buffer.concat(hwc.map((h) => h.images))), labels: new Uint8Array(Buffer.concat(hwc.map((h) => h.labels))) };
};
const trainNames = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5'];

describe('cifar10RecordsToHwc', () => {
  it('moves R, G, B planes to HWC', () => {
    const r = new Uint8Array(2 * 3073);
    r[0] = 7;
    r[3073] = 2;
    for (let p = 0; p < 1024; p++) {
      r[1 + p] = p % 256; // R
      r[1 + 1024 + p] = 1; // G
      r[1 + 2048 + p] = 255 - (p % 256); // B
    }
    const b = cifar10RecordsToHwc(r);
    expect(b.n).toBe(2);
    expect([...b.labels]).toEqual([7, 2]);
    const p = 5 * 32 + 9; // y=5, x=9
    expect([...b.images.subarray(p * 3, p * 3 + 3)]).toEqual([p % 256, 1, 255 - (p % 256)]);
  });

  it('refuses partial records and bad labels', () => {
    expect(() => cifar10RecordsToHwc(new Uint8Array(3074), 'x.bin')).toThrow(/not a whole number of 3073-byte records/);
    const r = new Uint8Array(3073);
    r[0] = 10;
    expect(() => cifar10RecordsToHwc(r)).toThrow(/label 10/);
  });
});

describe.skipIf(!hasPython())('readCifar10: binary release', () => {
  it('reads the extracted folder (the folder above or the batches folder itself), in batch order', async () => {
    for (const src of [binDir, batchesDir]) {
      expect(await detectCifar10(src)).toMatchObject({ layout: 'binary', container: 'folder' });
      const got = await all(readCifar10(src, 'train', { batchSize: 5 }));
      const want = expected(trainNames);
      expect(got.sizes).toEqual([5, 5, 3]);
      expect(got.labels).toEqual(want.labels);
      expect(Buffer.from(got.images).equals(Buffer.from(want.images))).toBe(true);
      const test = await all(readCifar10(src, 'test'));
      expect(test.labels).toEqual(expected(['test_batch']).labels);
    }
  });

  it('reads the .tar.gz straight, batches in order even when the archive is not', async () => {
    const order = ['batches.meta.txt', 'data_batch_3.bin', 'data_batch_1.bin', 'test_batch.bin', 'data_batch_2.bin', 'data_batch_5.bin', 'data_batch_4.bin'];
    const p = join(dir, 'cifar-10-binary.tar.gz');
    tar(p, [[batchesDir, 'cifar-10-batches-bin'], ...order.map((f): [string, string] => [join(batchesDir, f), `cifar-10-batches-bin/${f}`])]);
    expect(await detectCifar10(p)).toEqual({ layout: 'binary', container: 'tar', path: p });
    const got = await all(readCifar10(p, 'train', { batchSize: 4 }));
    const want = expected(trainNames);
    expect(got.labels).toEqual(want.labels);
    expect(Buffer.from(got.images).equals(Buffer.from(want.images))).toBe(true);
    expect((await all(readCifar10(p, 'test'))).labels).toEqual(expected(['test_batch']).labels);
    // a folder holding the archive
    const holder = join(dir, 'holder');
    mkdirSync(holder);
    writeFileSync(join(holder, 'cifar-10-binary.tar.gz'), readFileSync(p));
    expect(await detectCifar10(holder)).toMatchObject({ layout: 'binary', container: 'tar' });
  });

  it('FormatErrors: missing batches, partial records, not CIFAR-10', async () => {
    const p = join(dir, 'missing.tar.gz');
    tar(
      p,
      ['data_batch_1.bin', 'data_batch_2.bin', 'test_batch.bin'].map((f) => [join(batchesDir, f), `cifar-10-batches-bin/${f}`]),
    );
    await expect(all(readCifar10(p, 'train'))).rejects.toThrow(/missing batch files: data_batch_3.bin, data_batch_4.bin, data_batch_5.bin/);
    expect((await all(readCifar10(p, 'test'))).labels.length).toBe(5);

    const odd = join(dir, 'odd');
    mkdirSync(join(odd, 'cifar-10-batches-bin'), { recursive: true });
    writeFileSync(join(odd, 'cifar-10-batches-bin', 'test_batch.bin'), new Uint8Array(3073 * 2 + 5));
    const oddTar = join(dir, 'odd.tar.gz');
    tar(oddTar, [[join(odd, 'cifar-10-batches-bin', 'test_batch.bin'), 'cifar-10-batches-bin/test_batch.bin']]);
    for (const src of [odd, oddTar]) {
      await expect(all(readCifar10(src, 'test'))).rejects.toThrow(/not a whole number of 3073-byte records/);
      await expect(all(readCifar10(src, 'train'))).rejects.toThrow(/missing batch files/);
    }

    const other = join(dir, 'other.tar.gz');
    tar(other, [[join(batchesDir, 'batches.meta.txt'), 'readme.txt']]);
    await expect(all(readCifar10(other, 'train'))).rejects.toThrow(/not a CIFAR-10 archive/);
    mkdirSync(join(dir, 'empty'));
    await expect(all(readCifar10(join(dir, 'empty'), 'train'))).rejects.toThrow(FormatError);
    await expect(all(readCifar10(join(dir, 'empty'), 'train'))).rejects.toThrow(/no CIFAR-10 data in this folder/);
    await expect(all(readCifar10(batchesDir, 'valid' as 'train'))).rejects.toThrow(/split/);
  });
});

describe.skipIf(!hasPython())('readCifar10: JPEG folder layout', () => {
  const jpgDir = join(dir, 'jpg');
  const want = new Map<string, { label: number; data: Uint8Array }>();
  beforeAll(() => {
    for (const split of ['train', 'test']) {
      for (const [label, cls] of [
        [0, 'airplane'],
        [3, 'cat'],
        [9, 'truck'],
      ] as const) {
        mkdirSync(join(jpgDir, split, cls), { recursive: true });
        for (let k = 0; k < (split === 'train' ? 3 : 1); k++) {
          const data = Buffer.alloc(32 * 32 * 4, 255);
          for (let i = 0; i < 32 * 32; i++) for (let c = 0; c < 3; c++) data[i * 4 + c] = (i + 40 * c + 17 * k + label * 9) % 256;
          const bytes = jpeg.encode({ data, width: 32, height: 32 }, 95).data;
          const name = `${split}/${cls}/${String(k).padStart(4, '0')}.jpg`;
          writeFileSync(join(jpgDir, name), bytes);
          want.set(name, { label, data: decodeImageRgb(bytes).data });
        }
      }
    }
  });

  const expectSplit = (got: { images: Uint8Array; labels: Uint8Array }, split: string) => {
    const names = [...want.keys()].filter((n) => n.startsWith(`${split}/`));
    expect([...got.labels]).toEqual(names.map((n) => want.get(n)!.label));
    names.forEach((n, i) => expect(Buffer.from(got.images.subarray(i * 3072, (i + 1) * 3072)).equals(Buffer.from(want.get(n)!.data))).toBe(true));
  };

  it('reads the folder and the .tar.gz', async () => {
    expect(await detectCifar10(jpgDir)).toMatchObject({ layout: 'jpeg', container: 'folder' });
    expectSplit(await all(readCifar10(jpgDir, 'train', { batchSize: 4 })), 'train');
    expectSplit(await all(readCifar10(jpgDir, 'test')), 'test');

    const p = join(dir, 'cifar10-jpeg.tar.gz');
    const entries: [string, string][] = [];
    for (const split of ['train', 'test']) {
      entries.push([join(jpgDir, split), split]);
      for (const cls of ['airplane', 'cat', 'truck']) {
        entries.push([join(jpgDir, split, cls), `${split}/${cls}`]);
        for (const n of want.keys()) if (n.startsWith(`${split}/${cls}/`)) entries.push([join(jpgDir, n), n]);
      }
    }
    tar(p, entries);
    expect(await detectCifar10(p)).toEqual({ layout: 'jpeg', container: 'tar', path: p });
    const train = await all(readCifar10(p, 'train', { batchSize: 4 }));
    expect(train.sizes).toEqual([4, 4, 1]);
    expectSplit(train, 'train');
    expectSplit(await all(readCifar10(p, 'test')), 'test');
  });

  it('refuses unknown class folders and images that are not 32×32', async () => {
    const bad = join(dir, 'badjpg');
    mkdirSync(join(bad, 'train', 'airplane'), { recursive: true });
    mkdirSync(join(bad, 'train', 'zebra'), { recursive: true });
    writeFileSync(join(bad, 'train', 'zebra', '0.jpg'), readFileSync(join(jpgDir, 'train/cat/0000.jpg')));
    await expect(all(readCifar10(bad, 'train'))).rejects.toThrow(/unknown class folder 'zebra'/);
    await expect(all(readCifar10(bad, 'test'))).rejects.toThrow(/no test\/ folder/);
    const big = join(dir, 'bigjpg');
    mkdirSync(join(big, 'test', 'dog'), { recursive: true });
    writeFileSync(join(big, 'test', 'dog', '0.jpg'), jpeg.encode({ data: Buffer.alloc(8 * 4 * 4), width: 8, height: 4 }, 90).data);
    await expect(all(readCifar10(big, 'test'))).rejects.toThrow(/8×4 image/);
  });
});

const REAL = '/work/shared/datasets/cifar10-jpeg.tar.gz';
describe.skipIf(!existsSync(REAL))('readCifar10 on the real JPEG copy (when present)', () => {
  it('reads the first 10 training images', async () => {
    for await (const b of readCifar10(REAL, 'train', { batchSize: 10 })) {
      expect(b.n).toBe(10);
      expect(b.images.length).toBe(10 * 3072);
      expect([...b.labels]).toEqual(new Array(10).fill(0)); // airplane/ comes first
      const mean = b.images.reduce((a, v) => a + v, 0) / b.images.length;
      expect(mean).toBeGreaterThan(20);
      expect(mean).toBeLessThan(235);
      break;
    }
  });
});
