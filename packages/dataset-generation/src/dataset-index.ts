/**
 * One dataset across shards: `<folder>/<dataset_name>.index.json`, written by
 * `mmmi-generate index <folder>` (and by a job given `--num_jobs N` once all N shards are
 * complete). It holds the dataset fingerprint every shard shares, the shards in job-id order
 * with their draw counts, global offsets, streams and checksums, the total count and the
 * MI table, so that readers (DatasetReader here, python/mmmi_dataset.py) serve the whole
 * dataset by global index. Built only from shards that pass `verify` (sha256, arrays,
 * distinct streams); shards of another dataset in the folder are an error naming them.
 * So is any manifest in the folder that cannot be read as ours (truncated, foreign, missing
 * fields): it may be one of the dataset's shards, and an index without it would be wrong.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { datasetFingerprint, firstStream, MANIFEST_FORMAT, writeJsonAtomic, type Manifest } from './manifest.js';
import { verifyFolder } from './verify.js';
import { InputError, unreachableReason } from '@mmmi/cli-kit';

export const INDEX_FORMAT = 'mmmi-dataset-index/1';

export interface DatasetIndex {
  format: typeof INDEX_FORMAT;
  dataset: string;
  /** Shared by every shard: data arguments, sample seed and map (manifest.ts datasetFingerprint). */
  fingerprint: string;
  count: number;
  n_mod: number;
  mod_dim: number;
  sample_seed: number;
  shards: { file: string; manifest: string; job_id: number; count: number; offset: number; first_stream: number; sha256: string; bytes: number }[];
  mi: Manifest['mi'];
  arguments: Record<string, unknown>;
}

export class IndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexError';
  }
}

export const indexPath = (folder: string, dataset: string) => join(folder, `${dataset}.index.json`);

/**
 * Every `*.manifest.json` of the folder, parsed and checked to be one of ours with the fields
 * the index reads; the first that is not is an InputError naming the file, the cause and the fix.
 */
function readManifests(folder: string): Map<string, Manifest> {
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new InputError(
      unreachableReason(folder) ??
        `${folder} is not a folder of shards (${existsSync(folder) ? 'it is a file: give the folder that holds the shards' : 'no such folder'})`,
    );
  const out = new Map<string, Manifest>();
  const fix = 'move it out of the folder, or rerun the job that wrote it to write it again';
  for (const name of readdirSync(folder)
    .filter((n) => n.endsWith('.manifest.json'))
    .sort()) {
    const path = join(folder, name);
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      const why =
        e instanceof SyntaxError
          ? `not valid JSON, perhaps truncated (${e.message})`
          : `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      throw new InputError(`${path}: ${why}; ${fix}`, { cause: e });
    }
    const problem = manifestProblem(value);
    if (problem) throw new InputError(`${path}: ${problem}; ${fix}`);
    out.set(name, value as Manifest);
  }
  return out;
}

/** Why a parsed JSON value is not a shard manifest the index can use (null when it is). */
function manifestProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a shard manifest (not a JSON object)';
  const m = value as Partial<Manifest>;
  if (m.format !== MANIFEST_FORMAT) return `not a shard manifest of this toolkit (format ${JSON.stringify(m.format)}, expected ${MANIFEST_FORMAT})`;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null;
  const missing = [
    !(isObject(m.file) && typeof m.file!.name === 'string' && Number.isInteger(m.file!.bytes) && typeof m.file!.sha256 === 'string') && 'file',
    !Number.isInteger(m.count) && 'count',
    !isObject(m.arrays) && 'arrays',
    !isObject(m.arguments) && 'arguments',
    !(isObject(m.seeds) && Number.isInteger(m.seeds!.job_id) && Number.isFinite(m.seeds!.sample_seed)) && 'seeds',
    !(isObject(m.map) && typeof m.map!.name === 'string') && 'map',
    !(isObject(m.latent) && Number.isInteger(m.latent!.n_mod) && Number.isInteger(m.latent!.mod_dim)) && 'latent',
  ].filter((f): f is string => typeof f === 'string');
  return missing.length ? `a shard manifest without valid ${missing.join(', ')} (damaged or written by another program)` : null;
}

/**
 * Checks the folder's shards of `dataset` (default: the only dataset there) and writes their
 * index; returns it. `expectJobs`: the job ids 0 … n − 1 must all be there.
 */
export async function buildIndex(folder: string, options: { dataset?: string; expectJobs?: number } = {}): Promise<{ index: DatasetIndex; path: string }> {
  const parsed = readManifests(folder);
  const report = await verifyFolder(folder);
  const manifests = report.shards.filter((s) => parsed.has(s.manifest)).map((s) => ({ report: s, m: parsed.get(s.manifest)! }));
  const names = [...new Set(manifests.map(({ m }) => String(m.arguments.dataset_name ?? 'dataset_test')))];
  const dataset = options.dataset ?? (names.length === 1 ? names[0] : undefined);
  if (!dataset)
    throw new InputError(`${folder} holds ${names.length ? `the datasets ${names.join(', ')}: name one with --dataset_name` : 'no shard manifests'}`);
  const mine = manifests.filter(({ m }) => String(m.arguments.dataset_name ?? 'dataset_test') === dataset);
  if (!mine.length) throw new InputError(`${folder} holds no shard of dataset '${dataset}' (it holds ${names.join(', ') || 'none'})`);
  const failed = mine.filter(({ report: r }) => !r.ok);
  if (failed.length)
    throw new IndexError(
      `${folder}: shards that fail verify: ${failed.map(({ report: r }) => `${r.file || r.manifest} (${r.problems.join('; ')})`).join(', ')}; restore them or rerun their jobs, then index again`,
    );
  const fingerprint = datasetFingerprint(mine[0].m);
  const other = mine.filter(({ m }) => datasetFingerprint(m) !== fingerprint);
  if (other.length) {
    throw new IndexError(
      `shards of '${dataset}' made with other arguments than ${mine[0].report.file}: ${other.map(({ report: r }) => r.file).join(', ')} (one dataset is one job array: the same arguments but --job_id)`,
    );
  }
  mine.sort((a, b) => a.m.seeds.job_id - b.m.seeds.job_id);
  const ids = mine.map(({ m }) => m.seeds.job_id);
  if (new Set(ids).size !== ids.length) throw new IndexError(`two shards of '${dataset}' have one job id`);
  if (options.expectJobs !== undefined) {
    const missing = Array.from({ length: options.expectJobs }, (_, j) => j).filter((j) => !ids.includes(j));
    if (missing.length) throw new IndexError(`'${dataset}' lacks the shards of job ids ${missing.join(', ')} of ${options.expectJobs}`);
  }
  const first = mine[0].m;
  const mis = new Set(mine.map(({ m }) => JSON.stringify(m.mi)));
  if (mis.size !== 1) throw new IndexError(`the shards of '${dataset}' disagree on the MI table`);
  let offset = 0;
  const shards = mine.map(({ report: r, m }) => {
    const entry = {
      file: m.file.name,
      manifest: r.manifest,
      job_id: m.seeds.job_id,
      count: m.count,
      offset,
      first_stream: firstStream(m),
      sha256: m.file.sha256,
      bytes: m.file.bytes,
    };
    offset += m.count;
    return entry;
  });
  const { job_id: _job, dataset_size: _size, dataset_loc: _loc, ...args } = first.arguments;
  const index: DatasetIndex = {
    format: INDEX_FORMAT,
    dataset,
    fingerprint,
    count: offset,
    n_mod: first.latent.n_mod,
    mod_dim: first.latent.mod_dim,
    sample_seed: first.seeds.sample_seed,
    shards,
    mi: first.mi,
    arguments: args,
  };
  const path = indexPath(folder, dataset);
  await writeJsonAtomic(path, index);
  return { index, path };
}
