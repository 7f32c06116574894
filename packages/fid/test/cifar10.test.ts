/**
 * Named sources cifar10-train / cifar10-test: data resolution, the MD5-checked download
 * (local HTTP server), the statistics cache and the CLI, with a fake feature extractor.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CIFAR10_CLASSES, cifar10RecordsToHwc, encodePng } from '@mmmi/formats';
import { hasPythonModule, runPython, tempDir } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CIFAR10_BINARY_MD5,
  cifar10DataDir,
  cifar10ImageSource,
  cifar10ReferenceStats,
  ensureCifar10Data,
  locateCifar10Data,
  namedSourceSplit,
  referenceStatsCachePath,
} from '../src/cifar10.js';
import { computeSourceStats, main, type FeatureFn } from '../src/cli.js';
import { downloadFile } from '../src/download.js';
import { readStats } from '../src/stats.js';

const hasPython = hasPythonModule('tarfile');

const tmp = () => tempDir('fid-cifar-');
const quiet = () => {};

/** Per image: mean and mean square of each channel (6 features) of the network input. */
const fakeExtract: FeatureFn = async (x, n) => {
  const per = x.length / n;
  const f = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < per; j++) {
      const v = x[i * per + j];
      f[i * 6 + (j % 3)] += v / (per / 3);
      f[i * 6 + 3 + (j % 3)] += (v * v) / (per / 3);
    }
  }
  return f;
};

// A fake binary release: 5 train batches of 2 records, a test batch of 3.
const fixtures = tempDir('fid-cifar-fx-');
const releaseTar = join(fixtures, 'cifar-10-binary.tar.gz');
const jpegTar = join(fixtures, 'cifar10-jpeg.tar.gz');
let releaseBytes: Buffer;
let releaseMd5: string;
const records: Record<string, Uint8Array> = {};

function pyTar(out: string, root: string) {
  runPython(`import sys, tarfile\nwith tarfile.open(sys.argv[1], 'w:gz') as t:\n    for n in sorted(sys.argv[3:]): t.add(sys.argv[2] + '/' + n, arcname=n)`, [
    out,
    root,
    ...listRel(root),
  ]);
}
function listRel(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? listRel(root, p) : [p];
  });
}

let server: Server;
let base: string;
const hits: string[] = [];
beforeAll(async () => {
  if (hasPython) {
    const bin = join(fixtures, 'bin', 'cifar-10-batches-bin');
    mkdirSync(bin, { recursive: true });
    for (const [name, n] of [
      ['data_batch_1', 2],
      ['data_batch_2', 2],
      ['data_batch_3', 2],
      ['data_batch_4', 2],
      ['data_batch_5', 2],
      ['test_batch', 3],
    ] as const) {
      const r = new Uint8Array(randomBytes(n * 3073));
      for (let i = 0; i < n; i++) r[i * 3073] %= 10;
      records[name] = r;
      writeFileSync(join(bin, `${name}.bin`), r);
    }
    writeFileSync(join(bin, 'batches.meta.txt'), CIFAR10_CLASSES.join('\n'));
    pyTar(releaseTar, join(fixtures, 'bin'));
    releaseBytes = readFileSync(releaseTar);
    releaseMd5 = createHash('md5').update(releaseBytes).digest('hex');
    const jdir = join(fixtures, 'jpg');
    for (const cls of ['cat', 'dog']) {
      mkdirSync(join(jdir, 'train', cls), { recursive: true });
      // the JPEG layout's reader takes PNG files too (format from the magic bytes)
      writeFileSync(join(jdir, 'train', cls, '0000.png'), encodePng({ width: 32, height: 32, data: new Uint8Array(randomBytes(32 * 32 * 3)) }));
    }
    pyTar(jpegTar, jdir);
  }
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/cifar-10-binary.tar.gz') {
      res.writeHead(200, { 'content-length': String(releaseBytes.length) });
      res.end(releaseBytes);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function cli(argv: string[], env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env, progressStream: null, extract: fakeExtract });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('downloadFile with an MD5', () => {
  it('verifies the MD5 and deletes the file on a mismatch', async () => {
    const dir = tmp();
    const r = await downloadFile(`${base}/cifar-10-binary.tar.gz`, join(dir, 'a'), { md5: releaseMd5, onProgress: quiet });
    expect(r.md5).toBe(releaseMd5);
    await expect(downloadFile(`${base}/cifar-10-binary.tar.gz`, join(dir, 'b'), { md5: CIFAR10_BINARY_MD5, onProgress: quiet })).rejects.toThrow(
      new RegExp(`MD5 ${releaseMd5}, expected ${CIFAR10_BINARY_MD5}; the file was deleted`),
    );
    expect(readdirSync(dir)).toEqual(['a']);
    await expect(downloadFile(`${base}/x`, join(dir, 'c'), { md5: 'abc' })).rejects.toThrow(/32 hex digits/);
  });
});

describe.skipIf(!hasPython)('cifar10 named sources', () => {
  it('names and default folder', () => {
    expect(namedSourceSplit('cifar10-train')).toBe('train');
    expect(namedSourceSplit('cifar10-test')).toBe('test');
    expect(namedSourceSplit('toString')).toBeUndefined();
    expect(cifar10DataDir({ MMMI_CACHE: '/x/y' })).toBe('/x/y/cifar10');
    expect(cifar10DataDir({})).toMatch(/\.cache\/mmmi\/cifar10$/);
    expect(referenceStatsCachePath('train', 'binary', 'abcdef0123', { MMMI_CACHE: '/c' })).toBe('/c/cifar10-train-abcdef01.npz');
    expect(referenceStatsCachePath('test', 'jpeg', 'abcdef0123', { MMMI_CACHE: '/c' })).toBe('/c/cifar10-test-jpeg-abcdef01.npz');
  });

  it('locates the archive or the extracted folder, downloads (MD5 checked) when neither is there', async () => {
    const cache = tmp();
    const env = { MMMI_CACHE: cache };
    expect(await locateCifar10Data(undefined, env)).toBeUndefined();
    const n0 = hits.length;
    const d = await ensureCifar10Data({ env, url: `${base}/cifar-10-binary.tar.gz`, md5: releaseMd5, onProgress: quiet, log: quiet });
    expect(d).toMatchObject({ layout: 'binary', container: 'tar', downloaded: true, official: true, path: join(cache, 'cifar10', 'cifar-10-binary.tar.gz') });
    expect(hits.length).toBe(n0 + 1);
    const again = await ensureCifar10Data({ env, url: `${base}/nothing`, md5: releaseMd5, log: quiet });
    expect(again).toMatchObject({ downloaded: false, official: true });
    expect(hits.length).toBe(n0 + 1);
    // the extracted folder, via --data-path
    expect(await locateCifar10Data(join(fixtures, 'bin'))).toMatchObject({
      layout: 'binary',
      container: 'folder',
      path: join(fixtures, 'bin', 'cifar-10-batches-bin'),
    });
    expect(await locateCifar10Data(jpegTar)).toMatchObject({ layout: 'jpeg', container: 'tar' });
    await expect(locateCifar10Data(join(cache, 'nope.tar.gz'))).rejects.toThrow(/no such file/);
    // the published MD5 is what a plain download checks
    const other = tmp();
    await expect(ensureCifar10Data({ dataPath: other, url: `${base}/cifar-10-binary.tar.gz`, onProgress: quiet, log: quiet })).rejects.toThrow(
      new RegExp(`expected ${CIFAR10_BINARY_MD5}`),
    );
    expect(readdirSync(other)).toEqual([]);
  });

  it('feeds the uint8 images to the network path and caches the statistics', async () => {
    const src = cifar10ImageSource({ layout: 'binary', container: 'tar', path: releaseTar }, 'test');
    const batches = [];
    for await (const b of src.batches(2)) batches.push(b);
    expect(batches.map((b) => b.n)).toEqual([2, 1]);
    expect(Buffer.from(batches[0].bytes!).equals(Buffer.from(cifar10RecordsToHwc(records.test_batch.subarray(0, 2 * 3073)).images))).toBe(true);

    const cache = tmp();
    mkdirSync(join(cache, 'cifar10'));
    copyFileSync(releaseTar, join(cache, 'cifar10', 'cifar-10-binary.tar.gz'));
    let computed = 0;
    const opts = {
      split: 'train' as const,
      env: { MMMI_CACHE: cache },
      md5: releaseMd5,
      weightsSha256: 'feedbeef'.repeat(8),
      log: quiet,
      compute: async (s: typeof src, label: string) => {
        computed++;
        return computeSourceStats(s, fakeExtract, { batchSize: 3, label, progressStream: null });
      },
    };
    const first = await cifar10ReferenceStats(opts);
    expect(first).toMatchObject({ cached: false, layout: 'binary', cachePath: join(cache, 'cifar10-train-feedbeef.npz') });
    expect(first.stats.count).toBe(10);
    const second = await cifar10ReferenceStats(opts);
    expect(second.cached).toBe(true);
    expect(computed).toBe(1);
    expect(Array.from(second.stats.mu)).toEqual(Array.from(first.stats.mu));
    // the same statistics as the images through the float path
    const all = new Uint8Array(
      Buffer.concat(['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5'].map((b) => cifar10RecordsToHwc(records[b]).images)),
    );
    const viaFloats = await computeSourceStats(
      {
        description: 'floats',
        count: 10,
        async *batches() {
          yield { data: Float32Array.from(all, (v) => v / 255), n: 10, height: 32, width: 32 };
        },
      },
      fakeExtract,
      { batchSize: 10, label: 'x', progressStream: null },
    );
    first.stats.mu.forEach((v, i) => expect(v).toBeCloseTo(viaFloats.mu[i], 5));
  });
});

describe.skipIf(!hasPython)('mmmi-fid stats cifar10-train', () => {
  const fakeWeights = () => {
    const p = join(tmp(), 'w.pth');
    writeFileSync(p, 'fake weights');
    return p;
  };

  it('reports the missing weights before touching the data or the network', async () => {
    const cache = tmp();
    const n0 = hits.length;
    const r = await cli(['stats', 'cifar10-train', '-o', join(cache, 'o.npz'), '--url', `${base}/cifar-10-binary.tar.gz`], { MMMI_CACHE: cache });
    expect(r.code).toBe(2);
    expect(r.err).toContain('npx mmmi-fid download-weights');
    expect(hits.length).toBe(n0);
    expect(existsSync(join(cache, 'cifar10'))).toBe(false);
  });

  it('downloads with the published MD5 (a wrong file is refused and deleted)', async () => {
    const cache = tmp();
    const r = await cli(['stats', 'cifar10-train', '-o', join(cache, 'o.npz'), '--weights', fakeWeights(), '--url', `${base}/cifar-10-binary.tar.gz`], {
      MMMI_CACHE: cache,
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/downloading the official binary release/);
    expect(r.err).toContain(`expected ${CIFAR10_BINARY_MD5}`);
    expect(readdirSync(join(cache, 'cifar10'))).toEqual([]);
  });

  it('computes from the data folder, writes -o, caches unless the archive is not the official one', async () => {
    const cache = tmp();
    const w = fakeWeights();
    const env = { MMMI_CACHE: cache };
    // an archive with another MD5: computed, warned about, not cached
    mkdirSync(join(cache, 'cifar10'));
    copyFileSync(releaseTar, join(cache, 'cifar10', 'cifar-10-binary.tar.gz'));
    const a = await cli(['stats', 'cifar10-train', '-o', join(cache, 'a.npz'), '--weights', w, '--json'], env);
    expect(a.code, a.err).toBe(0);
    expect(a.err).toMatch(/does not have the MD5 of the official release/);
    expect(JSON.parse(a.out)).toMatchObject({ count: 10, dim: 6, cached: false, cache: null, layout: 'binary' });
    expect((await readStats(join(cache, 'a.npz'))).mu.length).toBe(6);
    // the extracted folder: cached, then reused
    const b = await cli(['stats', 'cifar10-test', '--data-path', join(fixtures, 'bin'), '-o', join(cache, 'b.npz'), '--weights', w, '--json'], env);
    expect(b.code, b.err).toBe(0);
    const jb = JSON.parse(b.out);
    expect(jb).toMatchObject({ count: 3, cached: false, layout: 'binary' });
    expect(existsSync(jb.cache)).toBe(true);
    const c = await cli(['stats', 'cifar10-test', '--data-path', join(fixtures, 'bin'), '-o', join(cache, 'c.npz'), '--weights', w, '--json'], env);
    expect(JSON.parse(c.out)).toMatchObject({ cached: true, cache: jb.cache });
    expect(Array.from((await readStats(join(cache, 'c.npz'))).sigma)).toEqual(Array.from((await readStats(join(cache, 'b.npz'))).sigma));
    // FID of a named source against a statistics file: 0 against itself
    const f = await cli(['cifar10-test', join(cache, 'b.npz'), '--data-path', join(fixtures, 'bin'), '--weights', w], env);
    expect(f.code, f.err).toBe(0);
    expect(Math.abs(Number(f.out))).toBeLessThan(1e-6);
  });

  it('accepts the JPEG copy and says it is not comparable', async () => {
    const cache = tmp();
    const r = await cli(['stats', 'cifar10-train', '--data-path', jpegTar, '-o', join(cache, 'j.npz'), '--weights', fakeWeights(), '--json'], {
      MMMI_CACHE: cache,
    });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/JPEG copy of CIFAR-10.*not comparable/);
    expect(JSON.parse(r.out)).toMatchObject({ count: 2, layout: 'jpeg' });
    expect(JSON.parse(r.out).cache).toMatch(/cifar10-train-jpeg-[0-9a-f]{8}\.npz$/);
  });

  it('refuses --data-path without a named source', async () => {
    const r = await cli(['stats', tmp(), '-o', 'x.npz', '--data-path', 'd'], {});
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--data-path applies to the named sources/);
  });
});
