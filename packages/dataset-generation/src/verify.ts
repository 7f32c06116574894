/**
 * Check a folder of shards against their manifests: every manifest's file exists, its
 * size and sha256 match, and its arrays have the recorded dtypes and shapes. Partial
 * shards (a killed job's hidden workspace) are reported, never counted as complete.
 * Shards of one dataset that draw their latents from the same stream (same sample seed,
 * same first stream: `--shared_sample_stream`, or made before per-job streams) repeat one
 * another; each is reported with the other's name. An `.npz` that no manifest names is a
 * failed shard too. Left-overs are listed apart: temp files of killed runs (`orphans`, which
 * a rerun of their job removes) and shard locks (`locks`: a live run, or a stale lock).
 *
 * With `invert` (`verify --invert`): the proof per shard that its map is invertible. The
 * first k draws of X and Noise are read, X is mapped back — the scaling's inverse, the map
 * reopened as the manifest records it (a transform by name; a flow checkpoint by its recorded
 * file or registry name, refused unless its sha256 is the manifest's, with the recorded
 * solver, time grid and guidance), the whitening's inverse rebuilt from the manifest's latent
 * structure — and compared with Noise (src/inversion.ts: the figures, the solver's
 * convergence, the tolerance and why). A failed inversion fails the shard.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readNpz, sha256File } from '@mmmi/formats';
import { InputError, unreachableReason } from '@mmmi/cli-kit';
import { marginalWhitening, structureFromDescription, type StructureDescription } from '@mmmi/latents';
import { inversionCheck, type InversionRecord } from './inversion.js';
import { ShardReader } from './loader.js';
import { datasetFingerprint, firstStream, MANIFEST_FORMAT, type Manifest } from './manifest.js';
import { reopenRecordedMap, type ReopenedMap } from './maps/modality-map.js';
import { whitenedMap } from './maps/whitened-map.js';
import { staleReason, type LockOwner } from './shard-lock.js';

export interface ShardReport {
  manifest: string;
  file: string;
  ok: boolean;
  problems: string[];
  count?: number;
  /** With `invert`: the inversion check of the shard's first draws. */
  inversion?: InversionRecord;
}

export interface VerifyOptions {
  /** Map the first `draws` draws of each shard back and compare with Noise (`verify --invert`). */
  invert?: { draws: number; log?: (message: string) => void };
}

/** Draws `verify --invert` checks per shard unless told otherwise. */
export const DEFAULT_INVERT_DRAWS = 4;

export interface FolderReport {
  shards: ShardReport[];
  /** Workspaces of unfinished jobs (`.<name>_<job>.partial`). */
  partial: string[];
  /** Temp files of killed runs. */
  orphans: { name: string; bytes: number }[];
  /** Shard locks, each with its state. */
  locks: string[];
}

export async function verifyFolder(folder: string, options: VerifyOptions = {}): Promise<FolderReport> {
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new InputError(
      unreachableReason(folder) ??
        `${folder} is not a folder of shards (${existsSync(folder) ? 'it is a file: give the folder that holds the shards' : 'no such folder'})`,
    );
  const names = readdirSync(folder);
  const shards: ShardReport[] = [];
  const manifests = new Map<ShardReport, Manifest>();
  for (const name of names.filter((n) => n.endsWith('.manifest.json')).sort()) {
    const report: ShardReport = { manifest: name, file: '', ok: false, problems: [] };
    shards.push(report);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(join(folder, name), 'utf8')) as Manifest;
    } catch (e) {
      report.problems.push(`manifest is not valid JSON: ${(e as Error).message}`);
      continue;
    }
    if (manifest.format !== MANIFEST_FORMAT) {
      report.problems.push(`unknown manifest format ${String(manifest.format)}`);
      continue;
    }
    report.file = manifest.file.name;
    manifests.set(report, manifest);
    report.count = manifest.count;
    const path = join(folder, manifest.file.name);
    if (!names.includes(manifest.file.name)) {
      report.problems.push('shard file is missing');
      continue;
    }
    const { sha256, bytes } = await sha256File(path);
    if (bytes !== manifest.file.bytes) report.problems.push(`size ${bytes} bytes, manifest says ${manifest.file.bytes}`);
    if (sha256 !== manifest.file.sha256) report.problems.push('sha256 does not match the manifest');
    if (report.problems.length === 0) {
      try {
        const arrays = await readNpz(path);
        for (const [key, want] of Object.entries(manifest.arrays)) {
          const got = arrays.get(key);
          if (!got) report.problems.push(`array ${key} is missing`);
          else if (got.dtype !== want.dtype || got.shape.join(',') !== want.shape.join(',')) {
            report.problems.push(`array ${key} is ${got.dtype} (${got.shape.join(', ')}), manifest says ${want.dtype} (${want.shape.join(', ')})`);
          }
        }
      } catch (e) {
        report.problems.push(`cannot read the shard: ${(e as Error).message}`);
      }
    }
    if (options.invert && report.problems.length === 0) {
      const { record, problem } = await invertShard(path, manifest, options.invert.draws, options.invert.log);
      if (record) report.inversion = record;
      if (problem) report.problems.push(`inversion: ${problem}`);
      else if (record && !record.ok) report.problems.push(...record.problems.map((p) => `inversion: ${p}`));
    }
    report.ok = report.problems.length === 0;
  }
  flagSharedStreams(manifests);
  const named = new Set([...manifests.values()].map((m) => m.file.name));
  for (const npz of names.filter((n) => n.endsWith('.npz') && !named.has(n)).sort()) {
    shards.push({
      manifest: '',
      file: npz,
      ok: false,
      problems: ['no manifest names this file: it is not a shard this toolkit finished (rerun its job, with --overwrite if its arguments changed)'],
    });
  }
  const partial = names.filter((n) => n.startsWith('.') && n.endsWith('.partial'));
  const orphans = names.filter((n) => n.startsWith('.') && n.endsWith('.tmp')).map((n) => ({ name: n, bytes: statSync(join(folder, n)).size }));
  const locks: string[] = [];
  for (const n of names.filter((x) => x.startsWith('.') && x.endsWith('.lock'))) {
    const path = join(folder, n);
    let owner: LockOwner | undefined;
    try {
      owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    } catch {
      owner = undefined;
    }
    const stale = staleReason(owner, statSync(path).mtimeMs);
    locks.push(
      `${n}: ${stale ? `stale (${stale}); the next run of its job takes it over` : `held by process ${owner!.pid} on ${owner!.host} since ${owner!.started}`}`,
    );
  }
  return { shards, partial, orphans, locks };
}

function flagSharedStreams(manifests: Map<ShardReport, Manifest>): void {
  const groups = new Map<string, ShardReport[]>();
  for (const [report, m] of manifests) {
    const key = `${datasetFingerprint(m)}:${firstStream(m)}`;
    groups.set(key, [...(groups.get(key) ?? []), report]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const report of group) {
      const m = manifests.get(report)!;
      const others = group.filter((r) => r !== report).map((r) => r.file);
      const why =
        m.seeds.first_stream === undefined
          ? 'made before each job id had its own stream: regenerate it'
          : 'drop --shared_sample_stream so that each job id draws its own stream';
      report.problems.push(
        `draws the same latents as ${others.join(', ')} (sample seed ${m.seeds.sample_seed}, stream ${firstStream(m)}): the shards repeat one another; ${why}`,
      );
      report.ok = false;
    }
  }
}

/** The inversion check of one shard (see the module comment); a shard whose map cannot be reopened gets a problem instead. */
async function invertShard(
  path: string,
  manifest: Manifest,
  draws: number,
  log: (message: string) => void = () => {},
): Promise<{ record?: InversionRecord; problem?: string }> {
  const reopened = await reopenMap(manifest, log);
  if ('problem' in reopened) return { problem: reopened.problem };
  const { map } = reopened;
  try {
    const shard = await ShardReader.open(path, { check: 'none' });
    try {
      if (!shard.hasNoise) return { problem: `${path} stores no float32 Noise of X's shape to compare with` };
      const k = Math.min(draws, shard.count);
      const labels = manifestLabels(manifest, shard.nMod);
      const batch = (await shard.batches(k, 0, { noise: true }).next()).value;
      if (!batch) return { problem: `${path} holds no draws` };
      const record = await inversionCheck(map, manifest.scaling, batch.x, batch.noise!, k, shard.nMod, labels);
      // the map as the manifest names it (a checkpoint reopened from its file is named by its path)
      return { record: { ...record, map: manifest.map.name } };
    } finally {
      await shard.close();
    }
  } finally {
    await map.dispose();
  }
}

/** Each modality's label: the manifest's `labels` argument (one per modality), else 0. */
function manifestLabels(m: Manifest, nMod: number): number[] {
  const labels = m.arguments.labels;
  return Array.isArray(labels) && labels.length === nMod ? labels.map(Number) : new Array<number>(nMod).fill(0);
}

/** The shard's map as its manifest records it, with the whitening in front when it was used. */
async function reopenMap(m: Manifest, log: (message: string) => void): Promise<ReopenedMap> {
  const reopened = await reopenRecordedMap(m, { log });
  if ('problem' in reopened || !m.map.whitening) return reopened;
  try {
    return { map: whitenedMap(reopened.map, marginalWhitening(structureFromDescription(m.latent.structure as StructureDescription))) };
  } catch (e) {
    await reopened.map.dispose();
    return { problem: `cannot rebuild the whitening from the manifest's latent structure: ${(e as Error).message}` };
  }
}
