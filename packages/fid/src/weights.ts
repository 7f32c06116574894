/**
 * The FID Inception-v3 weight file: where it is cached, how it is found, verified and
 * downloaded.
 *
 * The network is the 2015-12-05 TensorFlow Inception graph of the original FID code
 * (TTUR), ported to PyTorch. Two projects publish the same state dict:
 *
 *   torch-fidelity  weights-inception-2015-12-05-6726825d.pth   (used by torchmetrics' FID)
 *                   https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/…
 *   pytorch-fid     pt_inception-2015-12-05-6726825d.pth
 *                   https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/…
 *
 * "6726825d" is torch.hub's naming convention: the first 8 hex digits of the file's SHA-256.
 * The full SHA-256 below is the one published for both files (see README.md, "Weights").
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readTorchCheckpoint, sha256File, stateDictTensors, type TorchTensor } from '@mmmi/formats';
import { downloadFile, type DownloadOptions, type DownloadResult } from './download.js';

export const FID_WEIGHTS_SHA256 = '6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2';
export const FID_WEIGHTS_SHA256_PREFIX = '6726825d';
/** Size in bytes of the published file. */
export const FID_WEIGHTS_BYTES = 95_628_359;

export interface KnownWeightsFile {
  fileName: string;
  url: string;
  source: string;
}

/** In download order: torch-fidelity's file first (torchmetrics' reference), pytorch-fid's as the mirror. */
export const FID_WEIGHTS_FILES: readonly KnownWeightsFile[] = [
  {
    fileName: 'weights-inception-2015-12-05-6726825d.pth',
    url: 'https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth',
    source: 'torch-fidelity v0.2.0',
  },
  {
    fileName: 'pt_inception-2015-12-05-6726825d.pth',
    url: 'https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth',
    source: 'pytorch-fid',
  },
];

/** The name the downloader saves under. */
export const FID_WEIGHTS_FILE_NAME = FID_WEIGHTS_FILES[0].fileName;

export const DOWNLOAD_COMMAND = 'npx mmmi-fid download-weights';

type Env = Record<string, string | undefined>;

/** `$MMMI_CACHE` when set, else `~/.cache/mmmi/fid`. */
export function fidCacheDir(env: Env = process.env): string {
  const v = env.MMMI_CACHE;
  return v && v.trim() !== '' ? resolve(v) : join(homedir(), '.cache', 'mmmi', 'fid');
}

export class WeightsNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsNotFoundError';
  }
}

function missingMessage(dir: string): string {
  return [
    'the FID Inception weights are not there.',
    `  Download them (${(FID_WEIGHTS_BYTES / 2 ** 20).toFixed(0)} MiB, SHA-256 checked) with:  ${DOWNLOAD_COMMAND}`,
    `  or download ${FID_WEIGHTS_FILES[0].url}`,
    `  (or ${FID_WEIGHTS_FILES[1].url}, the same file)`,
    `  yourself and save it as ${join(dir, FID_WEIGHTS_FILE_NAME)}`,
    `  (the folder is $MMMI_CACHE if set, else ~/.cache/mmmi/fid), or pass --weights <path>.`,
  ].join('\n');
}

export interface LocateOptions {
  /** An explicit file (--weights); it must exist. */
  weightsPath?: string;
  env?: Env;
}

/**
 * Path of the weight file: the explicit one, else the first known file name present in the
 * cache folder. Throws {@link WeightsNotFoundError} (naming the download command and the
 * manual location) when there is none. Cheap: checks existence and size, not the hash.
 */
export function locateWeights(options: LocateOptions = {}): string {
  if (options.weightsPath !== undefined) {
    const p = resolve(options.weightsPath);
    if (!existsSync(p)) {
      throw new WeightsNotFoundError(`--weights ${options.weightsPath}: no such file.\n${missingMessage(fidCacheDir(options.env))}`);
    }
    return p;
  }
  const dir = fidCacheDir(options.env);
  for (const f of FID_WEIGHTS_FILES) {
    const p = join(dir, f.fileName);
    if (!existsSync(p)) continue;
    const size = statSync(p).size;
    if (size !== FID_WEIGHTS_BYTES) {
      throw new WeightsNotFoundError(
        `${p} has ${size} bytes, the published file ${FID_WEIGHTS_BYTES}: an incomplete or different file. ` + `Delete it and run ${DOWNLOAD_COMMAND}.`,
      );
    }
    return p;
  }
  throw new WeightsNotFoundError(`${missingMessage(dir)}\n  (looked in ${dir})`);
}

export interface VerifyResult {
  sha256: string;
  /** The full published SHA-256 matches. */
  ok: boolean;
}

/** Hash a weight file (about 0.3 s for the 91 MiB file) and compare with the published SHA-256. */
export async function verifyWeights(path: string): Promise<VerifyResult> {
  const { sha256 } = await sha256File(path);
  return { sha256, ok: sha256 === FID_WEIGHTS_SHA256 };
}

export interface EnsureWeightsOptions {
  env?: Env;
  /** Download even if a file is present. */
  force?: boolean;
  /** Try these URLs instead of the published ones (mirrors); the checksum is the same. */
  urls?: readonly string[];
  onProgress?: DownloadOptions['onProgress'];
  /** One line per attempt (default: stderr). */
  log?: (message: string) => void;
}

/**
 * Download the weights into the cache folder unless they are there; returns the path.
 * Each URL is tried in turn; a file is kept only when its full SHA-256 matches.
 */
export async function ensureWeights(options: EnsureWeightsOptions = {}): Promise<{ path: string; downloaded: boolean; result?: DownloadResult }> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const dir = fidCacheDir(options.env);
  if (!options.force) {
    try {
      return { path: locateWeights({ env: options.env }), downloaded: false };
    } catch (e) {
      if (!(e instanceof WeightsNotFoundError)) throw e;
      // a wrong-size file is replaced below
    }
  }
  const dest = join(dir, FID_WEIGHTS_FILE_NAME);
  const urls = options.urls ?? FID_WEIGHTS_FILES.map((f) => f.url);
  const failures: string[] = [];
  for (const url of urls) {
    log(`fid: downloading ${url}\n      → ${dest}`);
    try {
      const result = await downloadFile(url, dest, { sha256: FID_WEIGHTS_SHA256, onProgress: options.onProgress });
      log(`fid: saved ${dest} (${result.bytes} bytes, SHA-256 ${result.sha256} verified)`);
      return { path: dest, downloaded: true, result };
    } catch (e) {
      failures.push((e as Error).message);
      log(`fid: ${(e as Error).message}`);
    }
  }
  throw new Error(
    `could not download the FID weights:\n  ${failures.join('\n  ')}\n` + `Download ${FID_WEIGHTS_FILES[0].url} by other means and save it as ${dest}.`,
  );
}

/** Read the checkpoint into a state dict (`'Conv2d_1a_3x3.conv.weight'` → tensor). */
export async function loadWeights(path: string): Promise<Map<string, TorchTensor>> {
  return stateDictTensors(await readTorchCheckpoint(path));
}
