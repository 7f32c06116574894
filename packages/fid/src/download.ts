/**
 * Download one file over HTTPS (or plain HTTP: local mirrors and tests) with node's own
 * client: redirects followed, the body streamed into a temp file beside the destination
 * and hashed (SHA-256) on the way, progress reported, and the temp file renamed over the
 * destination only when the size and checksum match. On any failure the temp file is
 * removed and the destination is left untouched.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hashFile } from '@mmmi/formats';
import { Progress, type ProgressStream } from '@mmmi/cli-kit';

export interface DownloadProgress {
  /** Bytes received so far. */
  received: number;
  /** Content-Length, when the server sent one. */
  total?: number;
  /** Bytes per second since the body started. */
  rate: number;
  /** Seconds left, when the total is known. */
  etaS?: number;
  /** True on the last call, after the body ended (before the checksum is checked). */
  done: boolean;
}

export interface DownloadOptions {
  /** Full expected SHA-256 (hex). */
  sha256?: string;
  /** Expected leading hex digits of the SHA-256 (e.g. torch hub's 8 digits in file names). */
  sha256Prefix?: string;
  /** Expected MD5 (hex), for sites that publish only an MD5 (e.g. the CIFAR-10 release). */
  md5?: string;
  /** Progress callback; default: a progress bar on stderr. Pass `() => {}` for silence. */
  onProgress?: (p: DownloadProgress) => void;
  /** Default 10. */
  maxRedirects?: number;
  /** Abort when no data arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** MD5 of the body (hex). */
  md5: string;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function get(url: URL, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!lib) return Promise.reject(new DownloadError(`unsupported URL scheme '${url.protocol}' in ${url.href}`, url.href));
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { headers: { 'user-agent': 'mmmi-fid (node)', accept: '*/*' } }, resolve);
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data for ${Math.round(idleTimeoutMs / 1000)} s`)));
    req.on('error', reject);
  });
}

/** A stderr progress bar (bytes, rate, ETA) for downloadFile's onProgress. */
export function stderrDownloadProgress(label: string, stream: ProgressStream = process.stderr): (p: DownloadProgress) => void {
  let bar: Progress | undefined;
  return (p) => {
    bar ??= new Progress({ label, total: p.total, unit: 'bytes', stream });
    bar.update(p.received);
    if (p.done) bar.finish('downloaded');
  };
}

function checkDigestSpec(opts: DownloadOptions): void {
  for (const [k, v] of [
    ['sha256', opts.sha256],
    ['sha256Prefix', opts.sha256Prefix],
    ['md5', opts.md5],
  ] as const) {
    if (v !== undefined && !/^[0-9a-fA-F]+$/.test(v)) throw new TypeError(`${k} must be hex digits, got '${v}'`);
  }
  if (opts.sha256 !== undefined && opts.sha256.length !== 64) throw new TypeError(`sha256 must have 64 hex digits, got ${opts.sha256.length}`);
  if (opts.md5 !== undefined && opts.md5.length !== 32) throw new TypeError(`md5 must have 32 hex digits, got ${opts.md5.length}`);
}

export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  checkDigestSpec(opts);
  const maxRedirects = opts.maxRedirects ?? 10;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  const onProgress = opts.onProgress ?? stderrDownloadProgress(`download ${basename(dest)}`);

  // Follow redirects to the response that carries the body.
  let current = new URL(url);
  let res: http.IncomingMessage;
  for (let hops = 0; ; hops++) {
    try {
      res = await get(current, idleTimeoutMs);
    } catch (e) {
      throw e instanceof DownloadError ? e : new DownloadError(`download of ${current.href} failed: ${(e as Error).message}`, current.href);
    }
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      if (hops >= maxRedirects) throw new DownloadError(`download of ${url} failed: more than ${maxRedirects} redirects`, url, status);
      current = new URL(res.headers.location, current);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new DownloadError(`download of ${current.href} failed: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd(), current.href, status);
    }
    break;
  }

  const lengthHeader = res.headers['content-length'];
  const total = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  await mkdir(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
  const hash = createHash('sha256');
  const md5 = createHash('md5');
  let received = 0;
  const t0 = performance.now();
  const report = (done: boolean) => {
    const s = (performance.now() - t0) / 1000;
    const rate = s > 0 ? received / s : 0;
    const etaS = total !== undefined && rate > 0 ? Math.max(0, total - received) / rate : undefined;
    onProgress({ received, total, rate, etaS, done });
  };
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      md5.update(chunk);
      received += chunk.length;
      report(false);
      cb(null, chunk);
    },
  });
  try {
    try {
      await pipeline(res, meter, createWriteStream(tmp, { flags: 'wx' }));
    } catch (e) {
      const why =
        (e as NodeJS.ErrnoException).code === 'ECONNRESET' || /aborted|premature/i.test((e as Error).message)
          ? `the connection closed early after ${received}${total !== undefined ? ` of ${total}` : ''} bytes`
          : (e as Error).message;
      throw new DownloadError(`download of ${current.href} failed: ${why}`, current.href);
    }
    if (total !== undefined && received !== total) {
      throw new DownloadError(`download of ${current.href} failed: truncated, received ${received} of ${total} bytes`, current.href);
    }
    report(true);
    const digest = hash.digest('hex');
    const want = opts.sha256?.toLowerCase();
    const prefix = opts.sha256Prefix?.toLowerCase();
    if ((want !== undefined && digest !== want) || (prefix !== undefined && !digest.startsWith(prefix))) {
      throw new DownloadError(
        `download of ${current.href} failed the checksum: SHA-256 ${digest}, expected ${want ?? `${prefix}…`}; the file was deleted`,
        current.href,
      );
    }
    const md5Digest = md5.digest('hex');
    const wantMd5 = opts.md5?.toLowerCase();
    if (wantMd5 !== undefined && md5Digest !== wantMd5) {
      throw new DownloadError(`download of ${current.href} failed the checksum: MD5 ${md5Digest}, expected ${wantMd5}; the file was deleted`, current.href);
    }
    await rename(tmp, dest);
    return { path: dest, bytes: received, sha256: digest, md5: md5Digest, finalUrl: current.href };
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** MD5 of a file, streamed (hex). */
export const md5File = async (path: string): Promise<string> => (await hashFile(path, 'md5')).digest;
