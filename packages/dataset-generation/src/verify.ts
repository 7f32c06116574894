/**
 * Check a folder of shards against their manifests: every manifest's file exists, its
 * size and sha256 match, and its arrays have the recorded dtypes and shapes. Partial
 * shards (a killed job's hidden workspace) are reported, never counted as complete.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpz, sha256File } from '@mmmi/formats';
import { MANIFEST_FORMAT, type Manifest } from './manifest.js';

export interface ShardReport {
  manifest: string;
  file: string;
  ok: boolean;
  problems: string[];
  count?: number;
}

export async function verifyFolder(folder: string): Promise<{ shards: ShardReport[]; partial: string[] }> {
  const names = readdirSync(folder);
  const shards: ShardReport[] = [];
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
  const partial = names.filter((n) => n.startsWith('.') && n.endsWith('.partial'));
  return { shards, partial };
}
