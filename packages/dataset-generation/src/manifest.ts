/**
 * The JSON manifest beside each shard (schema: schema/manifest.schema.json): arguments,
 * seeds, the map, the exact latent description, the MI table, and the shard's checksum,
 * so that another program can check a dataset without trusting the file names.
 */
import { writeFileAtomic } from '@mmmi/formats';

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
  map: { kind: 'transform' | 'flow'; name: string; formula: string; checkpoint_sha256?: string; flow?: Record<string, unknown> };
  scaling: string;
  mi_exact_in_images: boolean;
  latent: { paradigm: string; n_mod: number; mod_dim: number; theta_var: number; alignment: object | null; structure: object };
  mi: { method: string; units: 'nats'; labels: string[]; values: (number | string)[] } | null;
  fingerprint: string;
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, [Buffer.from(JSON.stringify(value, null, 2) + '\n')]);
}

/** JSON has no ±Infinity: an infinite MI is written as the string "Infinity". */
export function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN';
}
