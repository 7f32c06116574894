/**
 * The JSON manifest beside each shard (schema: schema/manifest.schema.json): arguments,
 * seeds, the map, the exact latent description, the MI table, and the shard's checksum,
 * so that another program can check a dataset without trusting the file names.
 */
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '@mmmi/formats';
import type { InversionRecord } from './inversion.js';

export const MANIFEST_FORMAT = 'mmmi-dataset-manifest/1';
export const TOOLKIT_VERSION = '0.1.0';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  toolkit: { name: 'mmmi'; version: string };
  file: { name: string; bytes: number; sha256: string };
  count: number;
  arrays: Record<string, { dtype: string; shape: number[] }>;
  arguments: Record<string, unknown>;
  /** first_stream: the random stream of the shard's first batch; stream_per_job: false under --shared_sample_stream. */
  seeds: { sample_seed: number; cov_seed: number; job_id: number; first_stream?: number; stream_per_job?: boolean };
  /** whitening: the exact marginal whitening in front of the map (SPEC §3b), absent when the latents are fed as they are. */
  map: {
    kind: 'transform' | 'flow';
    name: string;
    formula: string;
    checkpoint_sha256?: string;
    flow?: Record<string, unknown>;
    whitening?: Record<string, unknown>;
  };
  scaling: string;
  mi_exact_in_images: boolean;
  latent: { paradigm: string; n_mod: number; mod_dim: number; theta_var: number; alignment: object | null; structure: object };
  mi: { method: string; units: 'nats'; labels: string[]; values: (number | string)[] } | null;
  fingerprint: string;
  /** The inversion check on the shard's first draws (src/inversion.ts): X mapped back against Noise; absent in manifests made before it. */
  inversion?: InversionRecord;
}

/** Arguments that do not change which dataset a shard belongs to (its job and stream, size, place, hardware). */
/** Arguments that change only how a run goes (float rounding of the flow map, replacing, indexing), never a shard's data: outside every fingerprint. */
export const RUN_ONLY_ARGUMENTS: readonly string[] = ['threads', 'engine', 'ep', 'backend', 'overwrite', 'num_jobs', 'help'];
const NOT_DATASET = new Set([...RUN_ONLY_ARGUMENTS, 'job_id', 'dataset_name', 'dataset_loc', 'dataset_size', 'registry', 'preview', 'shared_sample_stream']);

/**
 * The identity of the dataset a shard belongs to: its data arguments (all but job id, size,
 * name, place and hardware), sample seed and map. Shards of one job array share it; two
 * shards that also share their first random stream hold the same draws.
 */
export function datasetFingerprint(m: Manifest): string {
  const data = Object.fromEntries(
    Object.entries(m.arguments)
      .filter(([k]) => !NOT_DATASET.has(k))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return createHash('sha256')
    .update(JSON.stringify({ data, seed: m.seeds.sample_seed, map: m.map.checkpoint_sha256 ?? m.map.name, ...resolvedSettings(m) }))
    .digest('hex');
}

/**
 * What a shard's defaults resolved to, where arguments alone do not say it (a default that
 * changed between versions: the scaling, the whitening, the flow's solver and guidance).
 * Manifests from before these settings were recorded resolve to what those versions did.
 */
function resolvedSettings(m: Manifest): Record<string, unknown> {
  const flow = m.map.flow as { ode_method?: string; time_grid?: unknown; cfg_scale?: number } | undefined;
  return {
    scaling: m.scaling,
    whitening: m.map.whitening !== undefined,
    ...(flow ? { solver: [flow.ode_method, flow.time_grid, flow.cfg_scale] } : {}),
  };
}

/** The first random stream of a manifest's shard; manifests from before per-job streams used 1024 for every job. */
export const firstStream = (m: Manifest): number => m.seeds.first_stream ?? 1024;

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, [Buffer.from(JSON.stringify(value, null, 2) + '\n')]);
}

/** JSON has no ±Infinity: an infinite MI is written as the string "Infinity". */
export function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN';
}
