/**
 * Named reference sources `cifar10-train` / `cifar10-test`: the CIFAR-10 images as the
 * paper's trainer feeds them to torchmetrics' FID (normalize=True): uint8 → TF1 resize →
 * (x − 128)/128, the same path as every other source (the images are uint8 already, so they
 * skip the [0, 1] round trip).
 *
 * Data: `--data-path` (default `$MMMI_CACHE/cifar10`, else `~/.cache/mmmi/cifar10`) holding
 * the official binary release `cifar-10-binary.tar.gz` or its extracted
 * `cifar-10-batches-bin/`; when neither is there, the release is downloaded from the
 * official page (MD5 checked, as published there). `--data-path` may also name a `.tar.gz`
 * or folder of the JPEG layout (`train/<class>/*.jpg`); its pixels differ slightly from the
 * official release, so statistics from it are not comparable with the official ones.
 *
 * Statistics are cached beside the weights: `<fid cache>/cifar10-<split>-<weights sha8>.npz`
 * (`cifar10-<split>-jpeg-<weights sha8>.npz` for the JPEG layout).
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CIFAR10_COUNTS, detectCifar10, FormatError, readCifar10, type Cifar10SourceInfo, type Cifar10Split } from '@mmmi/formats';
import { downloadFile, md5File, type DownloadProgress } from './download.js';
import type { ImageSource } from './sources.js';
import { readStats, writeStats, type GaussianStats } from './stats.js';
import { fidCacheDir } from './weights.js';

export const CIFAR10_BINARY_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** The MD5 published on https://www.cs.toronto.edu/~kriz/cifar.html for the binary version. */
export const CIFAR10_BINARY_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_BINARY_FILE = 'cifar-10-binary.tar.gz';
/** About 162 MiB. */
export const CIFAR10_BINARY_APPROX_BYTES = 170_052_171;

export const NAMED_SOURCES = { 'cifar10-train': 'train', 'cifar10-test': 'test' } as const satisfies Record<string, Cifar10Split>;
export type NamedSource = keyof typeof NAMED_SOURCES;

/** The split of a named source, or undefined when `name` is not one. */
export function namedSourceSplit(name: string): Cifar10Split | undefined {
  return Object.hasOwn(NAMED_SOURCES, name) ? NAMED_SOURCES[name as NamedSource] : undefined;
}

type Env = Record<string, string | undefined>;

/** `$MMMI_CACHE/cifar10` when MMMI_CACHE is set, else `~/.cache/mmmi/cifar10`. */
export function cifar10DataDir(env: Env = process.env): string {
  const v = env.MMMI_CACHE;
  return v && v.trim() !== '' ? join(resolve(v), 'cifar10') : join(homedir(), '.cache', 'mmmi', 'cifar10');
}

export interface Cifar10Data extends Cifar10SourceInfo {
  /** Downloaded by this call. */
  downloaded: boolean;
  /** true: the official archive (MD5 checked); false: an archive with another MD5; undefined: a folder (not checked). */
  official?: boolean;
}

const isArchiveName = (p: string) => /\.(tar\.gz|tgz|tar)$/i.test(p);

/**
 * The CIFAR-10 data at `dataPath` (default cifar10DataDir), without downloading: an archive,
 * or a folder holding the release (either layout). Undefined when a folder (existing or not)
 * holds none, so the caller may download into it. A named archive that is missing, or a path
 * with data that is not CIFAR-10, throws.
 */
export async function locateCifar10Data(dataPath: string | undefined, env: Env = process.env): Promise<Cifar10SourceInfo | undefined> {
  const p = resolve(dataPath ?? cifar10DataDir(env));
  const s = await stat(p).catch(() => undefined);
  if (!s) {
    if (isArchiveName(p)) throw new Error(`--data-path ${dataPath}: no such file`);
    return undefined;
  }
  if (s.isDirectory()) {
    try {
      return await detectCifar10(p);
    } catch (e) {
      if (e instanceof FormatError && /no CIFAR-10 data in this folder/.test(e.reason)) return undefined;
      throw e;
    }
  }
  return detectCifar10(p);
}

export interface EnsureCifar10Options {
  dataPath?: string;
  env?: Env;
  /** Download from here instead of the official URL (a mirror); the MD5 is still checked. */
  url?: string;
  /** Expected MD5 of the download (default: the published one). */
  md5?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** One line per step (default: stderr). */
  log?: (message: string) => void;
}

/** The data, located or downloaded (the official binary release into the data folder). */
export async function ensureCifar10Data(options: EnsureCifar10Options = {}): Promise<Cifar10Data> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const found = await locateCifar10Data(options.dataPath, env);
  if (found) {
    let official: boolean | undefined;
    if (found.layout === 'binary' && found.container === 'tar') official = (await md5File(found.path)) === (options.md5 ?? CIFAR10_BINARY_MD5);
    return { ...found, downloaded: false, official };
  }
  const dir = resolve(options.dataPath ?? cifar10DataDir(env));
  const dest = join(dir, CIFAR10_BINARY_FILE);
  // MMMI_CIFAR10_URL: a mirror (a cluster's local copy); the MD5 is checked all the same
  const url = options.url ?? env.MMMI_CIFAR10_URL ?? CIFAR10_BINARY_URL;
  log(`fid: CIFAR-10 is not in ${dir}; downloading the official binary release (about 162 MiB, MD5 checked)\n      ${url}\n      → ${dest}`);
  const r = await downloadFile(url, dest, { md5: options.md5 ?? CIFAR10_BINARY_MD5, onProgress: options.onProgress });
  log(`fid: saved ${dest} (${r.bytes} bytes, MD5 ${r.md5} verified)`);
  return { layout: 'binary', container: 'tar', path: dest, downloaded: true, official: true };
}

/** An ImageSource over a CIFAR-10 split (uint8 batches; `count` is the official split size). */
export function cifar10ImageSource(data: Cifar10SourceInfo, split: Cifar10Split): ImageSource {
  return {
    description: `CIFAR-10 ${split} (${data.layout} ${data.container} ${data.path})`,
    count: CIFAR10_COUNTS[split],
    async *batches(batchSize: number) {
      for await (const b of readCifar10(data.path, split, { batchSize })) {
        const floats = new Float32Array(b.images.length);
        for (let i = 0; i < floats.length; i++) floats[i] = b.images[i] / 255;
        yield { data: floats, bytes: b.images, n: b.n, height: 32, width: 32 };
      }
    },
  };
}

/** Where the statistics of a split are cached (beside the weights). */
export function referenceStatsCachePath(split: Cifar10Split, layout: Cifar10SourceInfo['layout'], weightsSha256: string, env: Env = process.env): string {
  return join(fidCacheDir(env), `cifar10-${split}${layout === 'jpeg' ? '-jpeg' : ''}-${weightsSha256.slice(0, 8)}.npz`);
}

export const JPEG_NOT_COMPARABLE =
  'note: these statistics come from a JPEG copy of CIFAR-10, whose pixels differ from the official binary release: FID against them is not comparable with FID against the official data';

export interface ReferenceStatsOptions extends EnsureCifar10Options {
  split: Cifar10Split;
  /** SHA-256 of the weight file (names the cache entry). */
  weightsSha256: string;
  /** Computes the statistics of a source (features + accumulation). */
  compute: (source: ImageSource, label: string) => Promise<GaussianStats>;
  /** Ignore (and overwrite) a cached file. */
  refresh?: boolean;
}

export interface ReferenceStatsResult {
  stats: GaussianStats;
  cachePath?: string;
  /** Read from the cache. */
  cached: boolean;
  /** The data, when it was needed (not for a cache hit). */
  data?: Cifar10Data;
  layout: Cifar10SourceInfo['layout'];
}

/**
 * Statistics of `cifar10-<split>`: from the cache when present, else computed from the data
 * (located or downloaded) and cached. Archives whose MD5 is not the official one are
 * computed but not cached (a warning is logged).
 */
export async function cifar10ReferenceStats(options: ReferenceStatsOptions): Promise<ReferenceStatsResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // The layout decides the cache entry; a missing folder means the official download.
  const located = await locateCifar10Data(options.dataPath, env);
  const layout = located?.layout ?? 'binary';
  const cachePath = referenceStatsCachePath(options.split, layout, options.weightsSha256, env);
  if (layout === 'jpeg') log(`fid: ${JPEG_NOT_COMPARABLE}`);
  if (!options.refresh && existsSync(cachePath)) {
    log(`fid: using cached statistics ${cachePath}`);
    return { stats: await readStats(cachePath), cachePath, cached: true, layout };
  }
  const data = await ensureCifar10Data(options);
  if (data.official === false)
    log(`fid: warning: ${data.path} does not have the MD5 of the official release (${CIFAR10_BINARY_MD5}); its statistics are not cached`);
  const stats = await options.compute(cifar10ImageSource(data, options.split), `features cifar10-${options.split}`);
  if (data.official === false) return { stats, cached: false, data, layout };
  await writeStats(cachePath, stats);
  log(`fid: cached the statistics in ${cachePath}`);
  return { stats, cachePath, cached: false, data, layout };
}
