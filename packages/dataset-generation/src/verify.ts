/**
 * Check a folder of shards against their manifests: every manifest's file exists, its
 * size and sha256 match, and its arrays have the recorded dtypes and shapes. Partial
 * shards (a killed job's hidden workspace) are reported, never counted as complete.
 * Shards of one dataset that draw their latents from the same stream (same sample seed,
 * same first stream: `--shared_sample_stream`, or made before per-job streams) repeat one
 * another; each is reported with the other's name. An `.npz` that no manifest names is a
 * failed shard too. Left-overs are listed apart: temp files of killed runs (`orphans`, which
 * a rerun of their job removes) and shard locks (`locks`: a live run, or a stale lock).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readNpz, sha256File } from '@mmmi/formats';
import { InputError } from '@mmmi/cli-kit';
import { datasetFingerprint, firstStream, MANIFEST_FORMAT, type Manifest } from './manifest.js';
import { staleReason, type LockOwner } from './shard-lock.js';

export interface ShardReport {
  manifest: string;
  file: string;
  ok: boolean;
  problems: string[];
  count?: number;
}

export interface FolderReport {
  shards: ShardReport[];
  /** Workspaces of unfinished jobs (`.<name>_<job>.partial`). */
  partial: string[];
  /** Temp files of killed runs. */
  orphans: { name: string; bytes: number }[];
  /** Shard locks, each with its state. */
  locks: string[];
}

export async function verifyFolder(folder: string): Promise<FolderReport> {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new InputError(`${folder} is not a folder of shards (no such folder)`);
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
