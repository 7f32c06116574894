import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '@mmmi/formats';
import { downloadFile, DownloadError, stderrDownloadProgress, type DownloadProgress } from '../src/download.js';
import {
  DOWNLOAD_COMMAND,
  ensureWeights,
  FID_WEIGHTS_BYTES,
  FID_WEIGHTS_FILE_NAME,
  FID_WEIGHTS_FILES,
  fidCacheDir,
  locateWeights,
  WeightsNotFoundError,
} from '../src/weights.js';

const body = randomBytes(300_000);
const bodySha = createHash('sha256').update(body).digest('hex');
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/file') {
      res.writeHead(200, { 'content-length': String(body.length) });
      // several chunks, so progress is reported more than once
      for (let off = 0; off < body.length; off += 64 * 1024) res.write(body.subarray(off, off + 64 * 1024));
      res.end();
    } else if (url === '/chunked') {
      res.writeHead(200); // no content-length: chunked
      res.end(body);
    } else if (url === '/redirect') {
      res.writeHead(302, { location: '/file' });
      res.end();
    } else if (url === '/redirect2') {
      res.writeHead(301, { location: `${base}/redirect` }); // absolute, then relative
      res.end();
    } else if (url === '/loop') {
      res.writeHead(307, { location: '/loop' });
      res.end();
    } else if (url === '/truncated') {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 1000), () => res.socket?.destroy());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const quiet = () => {};
const tmp = () => tempDir('fid-dl-');
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.part'));

describe('downloadFile (local HTTP server)', () => {
  it('downloads, hashes and reports progress', async () => {
    const dir = tmp();
    const dest = join(dir, 'sub', 'f.bin');
    const seen: DownloadProgress[] = [];
    const r = await downloadFile(`${base}/file`, dest, { sha256: bodySha, onProgress: (p) => seen.push(p) });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(r).toMatchObject({ path: dest, bytes: body.length, sha256: bodySha, finalUrl: `${base}/file` });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toMatchObject({ received: body.length, total: body.length, done: true });
    expect(seen.every((p) => p.rate >= 0)).toBe(true);
    expect(leftovers(join(dir, 'sub'))).toEqual([]);
  });

  it('follows redirects (absolute and relative) and accepts a SHA-256 prefix', async () => {
    const dir = tmp();
    const r = await downloadFile(`${base}/redirect2`, join(dir, 'f'), { sha256Prefix: bodySha.slice(0, 8), onProgress: quiet });
    expect(r.finalUrl).toBe(`${base}/file`);
    expect((await sha256File(join(dir, 'f'))).sha256).toBe(bodySha);
  });

  it('handles a body without content-length', async () => {
    const dir = tmp();
    const r = await downloadFile(`${base}/chunked`, join(dir, 'f'), { sha256: bodySha, onProgress: quiet });
    expect(r.bytes).toBe(body.length);
  });

  it('fails clearly on HTTP errors, redirect loops and unsupported schemes', async () => {
    const dir = tmp();
    await expect(downloadFile(`${base}/missing`, join(dir, 'f'), { onProgress: quiet })).rejects.toThrow(/HTTP 404/);
    await expect(downloadFile(`${base}/loop`, join(dir, 'f'), { onProgress: quiet, maxRedirects: 3 })).rejects.toThrow(/more than 3 redirects/);
    await expect(downloadFile('ftp://127.0.0.1/x', join(dir, 'f'), { onProgress: quiet })).rejects.toThrow(/unsupported URL scheme/);
    await expect(downloadFile('http://127.0.0.1:1/x', join(dir, 'f'), { onProgress: quiet })).rejects.toThrow(DownloadError);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects a truncated body and deletes the temp file', async () => {
    const dir = tmp();
    const err = await downloadFile(`${base}/truncated`, join(dir, 'f'), { onProgress: quiet }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/closed early after \d+ of 300000 bytes|truncated/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects a wrong checksum, deletes the temp file and leaves an existing destination alone', async () => {
    const dir = tmp();
    const dest = join(dir, 'f');
    writeFileSync(dest, 'old');
    const wrong = '0'.repeat(64);
    await expect(downloadFile(`${base}/file`, dest, { sha256: wrong, onProgress: quiet })).rejects.toThrow(
      new RegExp(`checksum: SHA-256 ${bodySha}, expected 0{64}; the file was deleted`),
    );
    await expect(downloadFile(`${base}/file`, dest, { sha256Prefix: 'abcdef01', onProgress: quiet })).rejects.toThrow(/expected abcdef01…/);
    expect(readFileSync(dest, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['f']);
    await expect(downloadFile(`${base}/file`, dest, { sha256: 'xyz', onProgress: quiet })).rejects.toThrow(/hex digits/);
  });

  it('draws bytes, rate and ETA on a stream', () => {
    const lines: string[] = [];
    const report = stderrDownloadProgress('download w', { write: (s: string) => lines.push(s), isTTY: false });
    report({ received: 1024, total: 4096, rate: 1024, etaS: 3, done: false });
    report({ received: 4096, total: 4096, rate: 4096, etaS: 0, done: true });
    const text = lines.join('');
    expect(text).toMatch(/download w: 1\.0 KiB\/4\.0 KiB \(25\.0%\), .*\/s/);
    expect(text).toMatch(/download w: downloaded, 4\.0 KiB in/);
  });
});

describe('weights: cache folder, locating, ensuring', () => {
  it('uses $MMMI_CACHE, else ~/.cache/mmmi/fid', () => {
    expect(fidCacheDir({ MMMI_CACHE: '/x/y' })).toBe('/x/y');
    expect(fidCacheDir({})).toMatch(/\.cache\/mmmi\/fid$/);
  });

  it('names the download command and the manual location when the weights are missing', () => {
    const dir = tmp();
    const e = (() => {
      try {
        locateWeights({ env: { MMMI_CACHE: dir } });
      } catch (err) {
        return err as Error;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(WeightsNotFoundError);
    expect(e!.message).toContain(DOWNLOAD_COMMAND);
    expect(DOWNLOAD_COMMAND).toBe('npx mmmi-fid download-weights');
    expect(e!.message).toContain(join(dir, FID_WEIGHTS_FILE_NAME));
    expect(e!.message).toContain(FID_WEIGHTS_FILES[0].url);
    expect(() => locateWeights({ weightsPath: join(dir, 'nope.pth'), env: { MMMI_CACHE: dir } })).toThrow(
      /--weights .*no such file[\s\S]*npx mmmi-fid download-weights/,
    );
  });

  it("finds either project's file name in the cache, checking the size", () => {
    const dir = tmp();
    const p = join(dir, FID_WEIGHTS_FILES[1].fileName); // pytorch-fid's name
    writeFileSync(p, '');
    expect(() => locateWeights({ env: { MMMI_CACHE: dir } })).toThrow(/0 bytes.*Delete it and run npx mmmi-fid download-weights/);
    truncateSync(p, FID_WEIGHTS_BYTES); // sparse: cheap
    expect(locateWeights({ env: { MMMI_CACHE: dir } })).toBe(p);
    const explicit = join(dir, 'mine.pth');
    writeFileSync(explicit, 'x');
    expect(locateWeights({ weightsPath: explicit, env: { MMMI_CACHE: dir } })).toBe(explicit);
  });

  it('ensureWeights keeps what is there and refuses files with the wrong checksum', async () => {
    const dir = tmp();
    const logs: string[] = [];
    const err = await ensureWeights({ env: { MMMI_CACHE: dir }, urls: [`${base}/missing`, `${base}/file`], log: (m) => logs.push(m), onProgress: quiet }).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(/could not download the FID weights:[\s\S]*HTTP 404[\s\S]*checksum: SHA-256/);
    expect(existsSync(join(dir, FID_WEIGHTS_FILE_NAME))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(logs.join('\n')).toContain(`downloading ${base}/missing`);
    writeFileSync(join(dir, FID_WEIGHTS_FILE_NAME), '');
    truncateSync(join(dir, FID_WEIGHTS_FILE_NAME), FID_WEIGHTS_BYTES);
    expect(await ensureWeights({ env: { MMMI_CACHE: dir }, urls: [`${base}/missing`], log: quiet })).toEqual({
      path: join(dir, FID_WEIGHTS_FILE_NAME),
      downloaded: false,
    });
  });
});
