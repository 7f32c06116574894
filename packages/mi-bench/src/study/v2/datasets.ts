/**
 * The v2 study's datasets: `simple_fig1_DAG` at each ρ_θ, generated (or found complete) by
 * dataset-generation with float scaling, so the images keep the exact MI. Generation resumes
 * and skips a finished shard, and holds a lock per shard, so two tasks never write one.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, type ProgressStream } from '@mmmi/cli-kit';
import { generate } from '@mmmi/dataset-generation';
import { V2_ARGUMENT_FILE } from './preset.js';

export const V2_ARGUMENT_PATH = fileURLToPath(new URL(`../../../../../generation_arguments/${V2_ARGUMENT_FILE}`, import.meta.url));

/** The map the datasets go through: the built-in flow (the paper's), or a model-free transform (quick runs, tests). */
export type V2Map = 'flow' | 'identity' | 'tanh';
export const V2_MAPS: readonly V2Map[] = ['flow', 'identity', 'tanh'];

export interface V2DatasetOptions {
  out: string;
  map: V2Map;
  draws: number;
  /** Flow map threads (0: one per core). */
  threads: number;
  /** Modality dimension (tests: small d; default the paper's 3072). */
  modDim?: number;
}

export const v2DatasetFolder = (out: string, rho: number): string => resolve(out, 'datasets', `rho_${rho}`);

/** The generator's tokens for ρ_θ (the exact command is `mmmi-generate` with them). */
export function v2GenerationTokens(o: V2DatasetOptions, rho: number): string[] {
  if (!existsSync(V2_ARGUMENT_PATH)) throw new InputError(`${V2_ARGUMENT_PATH}: the argument file is missing from this checkout`);
  return [
    `@${V2_ARGUMENT_PATH}`,
    '--rho_theta_arg',
    `[${rho}]`,
    ...(o.map === 'flow' ? ['--checkpoint_path', 'default', '--percentile_to_align', '0.95', '--threads', String(o.threads)] : ['--transform', o.map]),
    ...(o.modDim ? ['--mod_dim', String(o.modDim)] : []),
    '--scaling',
    'float',
    '--dataset_name',
    `v2_rho_${rho}`,
    '--dataset_loc',
    v2DatasetFolder(o.out, rho),
    '--dataset_size',
    String(o.draws),
    '--job_id',
    '0',
  ];
}

/** Generates (or finds complete) the dataset of ρ_θ; returns its shard. */
export async function generateV2Dataset(
  o: V2DatasetOptions,
  rho: number,
  stream?: ProgressStream | null,
): Promise<{ path: string; seconds: number; skipped: boolean }> {
  const t0 = performance.now();
  const io = stream === null ? { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream } : {};
  const result = await generate(v2GenerationTokens(o, rho), io);
  return { path: result.npzPath, seconds: (performance.now() - t0) / 1000, skipped: result.skipped };
}
