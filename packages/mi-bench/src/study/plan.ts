/**
 * `mmmi-bench study`: a v2-style estimator and regression study on the paper's Fig. 6
 * configuration (multimodal_decay_DAG: N = 10 modalities, θ's influence decaying as β^(−i),
 * local proto-latents shared with weight α^(−|i−l|)), for several modality maps.
 *
 * For each map it generates the dataset it needs (float scaling, so the images keep the MI
 * exactly; generation resumes and skips finished shards), then runs the harness's commands
 * on it, each into its own report folder, and finally writes one README.md that gathers the
 * tables, the figures, the exact commands and the wall time of each step. Every step that
 * finished (its folder has a README.md) is skipped on a rerun, and an unfinished estimate
 * resumes from its journal: a killed study continues where it stopped.
 *
 * The pairs are all of Fig. 6's: I(θ; X_i) for i = 1 … 10 (1.8–3.4 nats at α = β = 1.2) and
 * I(X_1; X_i) for i = 2 … 10 (hundreds to thousands of nats: every pixel of X_1 shares a
 * local proto-latent with X_i, so the MI grows with d = 3072). No estimator can reach the
 * latter from a few thousand draws; the study shows where each one saturates.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, type ProgressStream } from '@mmmi/cli-kit';
import { generate } from '@mmmi/dataset-generation';
import { drawLayout, PCA_FIT_DRAWS, TEST_DRAWS } from '../seed-draws.js';

export const STUDY_MAPS = ['identity', 'tanh', 'flow'] as const;
export type StudyMap = (typeof STUDY_MAPS)[number];

export const FIG6_FILE = fileURLToPath(new URL('../../../../generation_arguments/multimodal_decay_DAG.txt', import.meta.url));

/** N_mod of multimodal_decay_DAG.txt (the study's pairs and subsets follow it). */
export const FIG6_MODALITIES = 10;

/** Fig. 6's pairs for N modalities: I(θ; X_i), then I(X_1; X_i). */
export function fig6Pairs(nMod: number): string[] {
  return [...Array.from({ length: nMod }, (_, i) => `θ;X${i + 1}`), ...Array.from({ length: nMod - 1 }, (_, i) => `X1;X${i + 2}`)];
}

/** The regression subsets: X_1 … X_N alone (I(X_i; θ) falls with i, so R² should too) and all N together. */
export function studySubsets(nMod: number): string[] {
  return [...Array.from({ length: nMod }, (_, i) => `X${i + 1}`), `X1..X${nMod}`];
}

export interface StudyOptions {
  out: string;
  maps: readonly StudyMap[];
  alpha: number;
  beta: number;
  /** Draws generated per model-free map, and per flow map (each flow draw costs N flow solves). */
  draws: number;
  flowDraws: number;
  /** Estimation sample sizes (those above a map's draws less the PCA fit split are left out for it). */
  sizes: readonly number[];
  seeds: number;
  features: readonly string[];
  /** Classical estimators, run at every size and seed. */
  estimators: readonly string[];
  /** Variational estimators, run at the largest size a map allows, seed 0 only (each trains a network). */
  variational: readonly string[];
  /** Training steps of each variational critic. */
  steps: number;
  /** Regression models (ridge on the features, cnn on the pixels). */
  models: readonly string[];
  /** Flow map threads (0: one per core). */
  threads: number;
  /** Modality dimension override (tests: small d; the study's own default is the paper's 3072). */
  modDim?: number;
  stream?: ProgressStream | null;
  say?: (line: string) => void;
}

/** What the study does for one map: the dataset it generates and the sizes it can afford. */
export interface MapPlan {
  map: StudyMap;
  folder: string;
  datasetName: string;
  draws: number;
  /** The generator's argument tokens (the exact command is `mmmi-generate` with them). */
  tokens: string[];
  sizes: number[];
}

/** Draws each map keeps out of the estimates to fit PCA on. */
export const fitSplit = (draws: number): number => Math.min(1000, Math.floor(draws / 2));

export function planStudy(o: StudyOptions): MapPlan[] {
  if (o.maps.length === 0) throw new InputError('--maps: name at least one of identity, tanh, flow');
  const unknown = o.maps.filter((m) => !STUDY_MAPS.includes(m));
  if (unknown.length) throw new InputError(`--maps: unknown map ${unknown.join(', ')} (known: ${STUDY_MAPS.join(', ')})`);
  if (!existsSync(FIG6_FILE)) throw new InputError(`${FIG6_FILE}: the Fig. 6 argument file is missing from this checkout`);
  return o.maps.map((map) => {
    const draws = map === 'flow' ? o.flowDraws : o.draws;
    const sizes = o.sizes.filter((n) => n <= draws - fitSplit(draws));
    if (sizes.length === 0)
      throw new InputError(
        `--n ${o.sizes.join(',')}: the ${map} map's ${draws} draws leave ${draws - fitSplit(draws)} for estimates after the PCA fit split; lower --n or raise the draws`,
      );
    const folder = resolve(o.out, 'datasets', map);
    const datasetName = `fig6_${map}`;
    const tokens = [
      `@${FIG6_FILE}`,
      '--alpha',
      String(o.alpha),
      '--beta',
      String(o.beta),
      ...(map === 'flow' ? ['--checkpoint_path', 'default', '--percentile_to_align', '0.95', '--threads', String(o.threads)] : ['--transform', map]),
      ...(o.modDim ? ['--mod_dim', String(o.modDim)] : []),
      '--scaling',
      'float',
      '--dataset_name',
      datasetName,
      '--dataset_loc',
      folder,
      '--dataset_size',
      String(draws),
      '--job_id',
      '0',
    ];
    return { map, folder, datasetName, draws, tokens, sizes };
  });
}

/** Generates (or finds, complete) the map's dataset; returns the shard's path. */
export async function generateForMap(plan: MapPlan, stream?: ProgressStream | null): Promise<{ path: string; seconds: number; skipped: boolean }> {
  mkdirSync(plan.folder, { recursive: true });
  const t0 = performance.now();
  const io = stream === null ? { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream } : {};
  const result = await generate(plan.tokens, io);
  return { path: result.npzPath, seconds: (performance.now() - t0) / 1000, skipped: result.skipped };
}

/**
 * What the study's steps say about their seeds' draws (seed-draws.ts), for its README: estimate
 * and regress set aside what the largest n leaves of a map's draws (PCA fit, test draws), so
 * with more than one seed every seed reads its own sample of the same draws, overlapping the
 * others'. The variational estimates and pmi run one seed. Each note is prefixed with its step.
 */
export function studyDrawNotes(plan: Pick<MapPlan, 'map' | 'draws' | 'sizes'>, seeds: number): string[] {
  const rest = plan.draws - Math.max(...plan.sizes);
  const source = `the ${plan.map} dataset`;
  const steps = [
    ['estimate', drawLayout(plan.draws, seeds, plan.sizes, rest, source, PCA_FIT_DRAWS)],
    ['regress', drawLayout(plan.draws, seeds, plan.sizes, rest, source, TEST_DRAWS)],
  ] as const;
  return steps.flatMap(([step, layout]) => layout.notes.map((note) => note.replace(/^note: /, `note: ${plan.map} ${step}: `)));
}

export const finished = (folder: string): boolean => existsSync(join(folder, 'README.md'));
