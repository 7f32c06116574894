import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpz, writePngSync } from '@mmmi/formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSourceStats, main } from '../src/cli.js';
import { frechetDistance } from '../src/frechet.js';
import { INCEPTION_SIZE, preprocessForInception } from '../src/preprocess.js';
import { npzImageSource } from '../src/sources.js';
import { readStats, StatsAccumulator, writeStats, type GaussianStats } from '../src/stats.js';

const made: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fid-cli-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env, progressStream: null });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function randomStats(d: number, n: number, seed: number, shift: number): GaussianStats {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  const acc = new StatsAccumulator(d);
  const rows = Float64Array.from({ length: n * d }, (_, i) => rnd() + (i % d === 0 ? shift : 0));
  acc.add(rows, n);
  return acc.result();
}

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '11' });
    res.end('not weights');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('mmmi-fid <a> <b> with statistics files (no network)', () => {
  it('prints the Fréchet distance of two pytorch-fid statistics files', async () => {
    const dir = tmp();
    const a = randomStats(6, 40, 3, 0);
    const b = randomStats(6, 30, 11, 0.7);
    await writeStats(join(dir, 'a.npz'), a);
    await writeStats(join(dir, 'b.npz'), b);
    const want = frechetDistance(await readStats(join(dir, 'a.npz')), await readStats(join(dir, 'b.npz')));
    const r = await cli([join(dir, 'a.npz'), join(dir, 'b.npz')], { MMMI_CACHE: join(dir, 'empty-cache') });
    expect(r.code).toBe(0);
    expect(Number(r.out)).toBe(want);
    expect(want).toBeGreaterThan(0.3);
    const j = await cli([join(dir, 'a.npz'), join(dir, 'a.npz'), '--json'], { MMMI_CACHE: join(dir, 'empty-cache') });
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.out);
    expect(Math.abs(parsed.fid)).toBeLessThan(1e-9);
    expect(parsed.dim).toBe(6);
  });

  it('refuses statistics of different dimensions', async () => {
    const dir = tmp();
    await writeStats(join(dir, 'a.npz'), randomStats(3, 10, 1, 0));
    await writeStats(join(dir, 'b.npz'), randomStats(4, 10, 2, 0));
    const r = await cli([join(dir, 'a.npz'), join(dir, 'b.npz')]);
    // the inputs do not go together: exit 2, the rule of every mmmi command (1 before the shared CLI kit)
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/different feature dimensions: 3 and 4/);
  });
});

describe('mmmi-fid errors come before any long work', () => {
  it('names the download command when an image side needs the missing weights', async () => {
    const dir = tmp();
    writePngSync(join(dir, 'x.png'), { width: 2, height: 2, data: new Uint8Array(12) });
    // an image .npz side and a folder side: both need the network
    await writeNpz(join(dir, 'shard.npz'), { X: { dtype: '<f4', shape: [2, 1, 3, 4, 4], data: new Float32Array(96) } });
    await writeStats(join(dir, 's.npz'), randomStats(3, 10, 1, 0));
    for (const side of [join(dir, 'shard.npz'), dir]) {
      const t0 = performance.now();
      const r = await cli([side, join(dir, 's.npz')], { MMMI_CACHE: join(dir, 'cache') });
      expect(r.code).toBe(2);
      expect(r.err).toContain('npx mmmi-fid download-weights');
      expect(r.err).toContain(join(dir, 'cache', 'weights-inception-2015-12-05-6726825d.pth'));
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    const s = await cli(['stats', join(dir, 'shard.npz'), '-o', join(dir, 'out.npz')], { MMMI_CACHE: join(dir, 'cache') });
    expect(s.code).toBe(2);
    expect(s.err).toContain('npx mmmi-fid download-weights');
    expect(existsSync(join(dir, 'out.npz'))).toBe(false);
  });

  it('stats -o: an existing file is refused (kept) without --overwrite, the source never, both before the weights are looked for', async () => {
    const dir = tmp();
    const shard = join(dir, 'shard.npz');
    await writeNpz(shard, { X: { dtype: '<f4', shape: [2, 1, 3, 4, 4], data: new Float32Array(96) } });
    const env = { MMMI_CACHE: join(dir, 'cache') };
    const onSource = await cli(['stats', shard, '-o', join(dir, '.', 'shard.npz'), '--overwrite'], env);
    expect(onSource.code).toBe(2);
    expect(onSource.err).toMatch(/^mmmi-fid: error: -o .*shard\.npz: is the input <source> .*shard\.npz; a command never writes over its input/);
    writeFileSync(join(dir, 'old.npz'), 'statistics of last week');
    const existing = await cli(['stats', shard, '-o', join(dir, 'old.npz')], env);
    expect(existing.code).toBe(2);
    expect(existing.err).toMatch(
      /-o .*old\.npz: exists \(a file of 23 bytes\) and this run did not make it; pass --overwrite to replace it, or choose another -o/,
    );
    expect(readFileSync(join(dir, 'old.npz'), 'utf8')).toBe('statistics of last week');
    // with --overwrite the claim passes: the next check (the missing weights) speaks
    expect((await cli(['stats', shard, '-o', join(dir, 'old.npz'), '--overwrite'], env)).err).toContain('npx mmmi-fid download-weights');
  });

  it('reports usage errors with exit code 2', async () => {
    const dir = tmp();
    expect((await cli([])).code).toBe(2);
    expect((await cli(['--help'])).out).toContain('mmmi-fid download-weights');
    expect((await cli(['only-one'])).err).toMatch(/expected two sides <a> <b>, got 1/);
    expect((await cli(['only-one', dir])).err).toMatch(/only-one: no such file or folder/);
    expect((await cli([dir, dir, '--batch-size', '0'])).err).toMatch(/--batch-size 0 \(command line\): must be ≥ 1/);
    expect((await cli([dir, dir, '--bogus'])).err).toMatch(/unknown flag --bogus/);
    expect((await cli(['stats', dir])).err).toMatch(/stats needs -o/);
    writeFileSync(join(dir, 'a.txt'), 'x');
    expect((await cli([join(dir, 'a.txt'), dir])).err).toMatch(/expected a statistics \.npz, an image \.npz or a folder/);
    await writeStats(join(dir, 's.npz'), randomStats(3, 10, 1, 0));
    expect((await cli(['stats', join(dir, 's.npz'), '-o', join(dir, 'o.npz')])).err).toMatch(/already holds statistics/);
    expect((await cli([dir, dir, '--bogus'])).code).toBe(2);
    // a malformed input file is the input's fault: 2, as every mmmi command says it
    writeFileSync(join(dir, 'bad.npz'), 'not a zip at all');
    const bad = await cli([join(dir, 'bad.npz'), join(dir, 's.npz')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^mmmi-fid: error: .*bad\.npz/);
  });
});

describe('mmmi-fid download-weights', () => {
  it('refuses a file whose checksum is wrong and leaves nothing behind', async () => {
    const dir = tmp();
    const r = await cli(['download-weights', '--url', `${base}/w.pth`], { MMMI_CACHE: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/failed the checksum: SHA-256 [0-9a-f]{64}, expected 6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('computeSourceStats (the image pipeline around the network)', () => {
  it('gives the same statistics for any batch size, from the preprocessed 299×299 input', async () => {
    const n = 7;
    const data = Float32Array.from({ length: n * 3 * 5 * 6 }, (_, i) => ((i * 7919) % 1000) / 999);
    const src = npzImageSource(new Map([['X', { dtype: '<f4', shape: [n, 1, 3, 5, 6], data }]]), 'mem.npz');
    // a stand-in network: per-channel means and the value at the centre pixel (d = 4)
    const seen: number[] = [];
    const extract = async (x: Float32Array, m: number) => {
      seen.push(m);
      expect(x.length).toBe(m * INCEPTION_SIZE * INCEPTION_SIZE * 3);
      const f = new Float32Array(m * 4);
      const per = INCEPTION_SIZE * INCEPTION_SIZE;
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < per; p++) for (let c = 0; c < 3; c++) f[i * 4 + c] += x[(i * per + p) * 3 + c] / per;
        f[i * 4 + 3] = x[(i * per + 149 * INCEPTION_SIZE + 149) * 3];
      }
      return f;
    };
    const s3 = await computeSourceStats(src, extract, { batchSize: 3, label: 't', progressStream: null });
    expect(seen).toEqual([3, 3, 1]);
    const s50 = await computeSourceStats(src, extract, { batchSize: 50, label: 't', progressStream: null });
    expect(s3.count).toBe(n);
    for (let i = 0; i < 4; i++) expect(Math.abs(s3.mu[i] - s50.mu[i])).toBeLessThan(1e-12);
    for (let i = 0; i < 16; i++) expect(Math.abs(s3.sigma[i] - s50.sigma[i])).toBeLessThan(1e-12);
    // the same, computed here directly
    const direct = new StatsAccumulator(4);
    for await (const b of src.batches(n)) direct.add(await extract(preprocessForInception(b.data, b), b.n), b.n);
    const want = direct.result();
    for (let i = 0; i < 4; i++) expect(Math.abs(s3.mu[i] - want.mu[i])).toBeLessThan(1e-12);
  });
});

describe('bin/mmmi-fid.js', () => {
  it('runs the built CLI, or says how to build it', () => {
    const bin = fileURLToPath(new URL('../bin/mmmi-fid.js', import.meta.url));
    const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    if (built) {
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('mmmi-fid stats <source>');
    } else {
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('npx nx run fid:build');
    }
  });
});
