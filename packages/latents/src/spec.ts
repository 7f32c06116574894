/**
 * Options → a validated latent specification (SPEC §1, §2, §4).
 *
 * Every list length and matrix shape is checked against N_mod, N_u and N_u_theta here,
 * with an error that names the flag, what it got and what it expects; nothing heavy
 * (templates, covariance, alignment) happens until the specification is known to be valid.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { InputError, unreachableReason, type ArgValue } from '@mmmi/cli-kit';
import type { ParsedArgs } from './args.js';

/** Values per modality for 32×32 RGB images, channel-first. */
export const DEFAULT_MOD_DIM = 3 * 32 * 32;

export type TemplateSource =
  { method: 'ones' } | { method: 'random'; seed: number } | { method: 'npy'; path: string } | { method: 'images'; path: string; convert: boolean };

export interface AlignSpec {
  /** Quantile level p ∈ (0, 1]. */
  percentile: number;
  method: 'exact' | 'sampled';
  /** Seed of the sampled estimate's draws (cov_seed), so every shard gets the same scale. */
  seed: number;
}

export interface ConstructiveSpec {
  paradigm: 'constructive';
  nMod: number;
  nU: number;
  nUTheta: number;
  modDim: number;
  alpha: number;
  beta: number;
  eta: number[];
  rhoTheta: number[];
  rho: number[];
  /** nMod × nUTheta. */
  dagTheta: number[][];
  /** nMod × nU. */
  dagUl: number[][];
  templates: TemplateSource;
  align: AlignSpec | null;
  labels: number[] | null;
}

export interface SamplingSpec {
  paradigm: 'sampling';
  nMod: number;
  modDim: number;
  /** nMod × nMod, or null for the N = 2 conditionally independent construction. */
  covImages: number[][] | null;
  /** Scalar for every image, one scalar per image, or null for standard normal vectors. */
  covTheta: number | number[] | null;
  thetaVar: number | null;
  epsilon: number;
  delta: number;
  covSeed: number;
  labels: number[] | null;
}

export type LatentSpec = ConstructiveSpec | SamplingSpec;

/**
 * The built-in default configuration of the command-line tools: the paper's Fig. 1a model
 * (generation_arguments/simple_fig1_DAG.txt). The reference's own defaults (every DAG entry
 * 1, every weight 1, α = 1) make K = G·Gᵀ singular, so they are no useful model.
 */
export const BUILT_IN_DEFAULT_TOKENS: readonly string[] = [
  '--generation_paradigm',
  'constructive',
  '--N_mod',
  '2',
  '--N_u',
  '2',
  '--rho_arg',
  '[0.1,0.2]',
  '--DAG_ul',
  '[[1,0],[0,1]]',
  '--N_u_theta',
  '1',
  '--eta_arg',
  '[1.0]',
  '--rho_theta_arg',
  '[0.3]',
  '--DAG_theta',
  '[[1],[1]]',
  '--alpha',
  '1.0',
  '--beta',
  '1.0',
  '--T_vectors_method',
  'ones',
];

/** The reference's defaults where they work (SPEC §4). */
const DEFAULTS = {
  generation_paradigm: 'constructive',
  N_mod: 2,
  N_u: 2,
  N_u_theta: 1,
  alpha: 1.0,
  beta: 1.0,
  T_vectors_method: 'ones',
  epsilon: 1e-6,
  delta: 1e-6,
  cov_seed: 0,
  align_method: 'exact',
} as const;

function fail(message: string): never {
  throw new InputError(message);
}

function num(values: Record<string, ArgValue | undefined>, name: string, fallback: number): number {
  const v = values[name];
  return v === undefined || v === null ? fallback : (v as number);
}

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** A coefficient list: a JSON list of length n, a bare number (broadcast), or absent/"ones" (all ones). */
function coefficientList(values: Record<string, ArgValue | undefined>, flag: string, n: number, what: string): number[] {
  const v = values[flag];
  if (v === undefined || v === null || v === 'ones') return new Array<number>(n).fill(1);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail(`--${flag} ${v}: not a finite number`);
    return new Array<number>(n).fill(v);
  }
  if (typeof v === 'string') {
    fail(`--${flag} ${v}: expected a JSON list of ${n} numbers (${what}), a number, or "ones"`);
  }
  if (!Array.isArray(v) || v.length !== n) {
    fail(`--${flag} ${describe(v)}: expected a list of ${n} numbers (${what}), got ${Array.isArray(v) ? `${v.length} entries` : typeof v}`);
  }
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) fail(`--${flag}: entry ${i} (${describe(x)}) is not a finite number`);
  });
  return v as number[];
}

/** An rows × cols matrix of finite numbers, or all ones when absent. */
function matrixFlag(values: Record<string, ArgValue | undefined>, flag: string, rows: number, cols: number, shapeText: string): number[][] {
  const v = values[flag];
  if (v === undefined || v === null) return Array.from({ length: rows }, () => new Array<number>(cols).fill(1));
  const bad = () => fail(`--${flag} ${describe(v)}: expected shape ${shapeText} = (${rows}, ${cols}), got ${shapeOf(v)}`);
  if (!Array.isArray(v) || v.length !== rows) bad();
  const m = v as unknown[];
  m.forEach((row) => {
    if (!Array.isArray(row) || row.length !== cols) bad();
  });
  m.forEach((row, i) =>
    (row as unknown[]).forEach((x, j) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`--${flag}: entry [${i}][${j}] (${describe(x)}) is not a finite number`);
    }),
  );
  return m as number[][];
}

function shapeOf(v: unknown): string {
  if (!Array.isArray(v)) return typeof v === 'number' ? 'a scalar' : typeof v;
  const inner = v.map((r) => (Array.isArray(r) ? r.length : 'scalar'));
  const same = inner.every((x) => x === inner[0]);
  return same && typeof inner[0] === 'number' ? `(${v.length}, ${inner[0]})` : `${v.length} rows of lengths [${inner.join(',')}]`;
}

function labelsFlag(values: Record<string, ArgValue | undefined>, nMod: number): number[] | null {
  const v = values.labels;
  if (v === undefined || v === null) return nMod === 2 ? [1, 6] : null;
  if (!Array.isArray(v) || v.length !== nMod) {
    fail(`--labels ${describe(v)}: expected a list of N_mod = ${nMod} class indices, got ${Array.isArray(v) ? `${v.length}` : typeof v}`);
  }
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) fail(`--labels: entry ${i} (${describe(x)}) is not a class index (integer ≥ 0)`);
    // the shards store labels as int32: a larger index would wrap to another class
    if (x > 2 ** 31 - 1) fail(`--labels: entry ${i} (${describe(x)}) is beyond the int32 the dataset files store labels in`);
  });
  return v as number[];
}

/**
 * A path is taken from the working directory (as the reference does) and, failing that,
 * from the folder of the argument file that named it, so configurations can ship their data.
 */
function resolvePath(path: string, file: string | undefined): string {
  if (existsSync(path) || !file || isAbsolute(path)) return path;
  const beside = join(dirname(file), path);
  return existsSync(beside) ? beside : path;
}

function templateSource(parsed: ParsedArgs, seed: number): TemplateSource {
  const given = parsed.values.T_vectors_method ?? DEFAULTS.T_vectors_method;
  if (given === 'ones') return { method: 'ones' };
  if (given === 'random') return { method: 'random', seed };
  const m = resolvePath(given, parsed.files.T_vectors_method);
  if (!existsSync(m)) {
    fail(
      unreachableReason(m, { what: '--T_vectors_method' }) ??
        `--T_vectors_method ${given}: expected ones, random, a .npy file or a folder of images; no such file or folder`,
    );
  }
  if (statSync(m).isDirectory()) return { method: 'images', path: m, convert: parsed.values.convert_templates === true };
  if (m.endsWith('.npy')) return { method: 'npy', path: m };
  fail(`--T_vectors_method ${given}: a file must be a NumPy .npy array of shape (N_u_theta, mod_dim, N_mod)`);
}

export function specFromArgs(parsed: ParsedArgs): LatentSpec {
  const v = parsed.values;
  const paradigm = v.generation_paradigm ?? DEFAULTS.generation_paradigm;
  const nMod = num(v, 'N_mod', DEFAULTS.N_mod);
  const modDim = num(v, 'mod_dim', DEFAULT_MOD_DIM);
  const covSeed = num(v, 'cov_seed', DEFAULTS.cov_seed);
  const labels = labelsFlag(v, nMod);
  if (paradigm === 'sampling') return samplingSpec(v, nMod, modDim, covSeed, labels);

  const nU = num(v, 'N_u', DEFAULTS.N_u);
  const nUTheta = num(v, 'N_u_theta', DEFAULTS.N_u_theta);
  const spec: ConstructiveSpec = {
    paradigm: 'constructive',
    nMod,
    nU,
    nUTheta,
    modDim,
    alpha: num(v, 'alpha', DEFAULTS.alpha),
    beta: num(v, 'beta', DEFAULTS.beta),
    eta: coefficientList(v, 'eta_arg', nUTheta, 'one per θ proto-latent, N_u_theta'),
    rhoTheta: coefficientList(v, 'rho_theta_arg', nUTheta, 'one per θ proto-latent, N_u_theta'),
    rho: coefficientList(v, 'rho_arg', nU, 'one per local proto-latent, N_u'),
    dagTheta: matrixFlag(v, 'DAG_theta', nMod, nUTheta, '(N_mod, N_u_theta)'),
    dagUl: matrixFlag(v, 'DAG_ul', nMod, nU, '(N_mod, N_u)'),
    templates: templateSource(parsed, covSeed),
    align: null,
    labels,
  };
  if (spec.eta.every((x) => x === 0)) {
    fail(`--eta_arg ${describe(spec.eta)}: θ = Σ_k η_k·u_θ[k] would be constant (zero variance); give at least one non-zero η`);
  }
  for (const flag of ['cov_images', 'cov_theta', 'theta_var'] as const) {
    if (v[flag] !== undefined) fail(`--${flag} belongs to the sampling paradigm; this configuration is constructive`);
  }
  const p = v.percentile_to_align;
  if (p !== undefined) {
    if (!(p < 1)) fail(`--percentile_to_align ${p}: must be below 1 (the 1-quantile of a Gaussian norm is infinite); e.g. 0.95`);
    const method: AlignSpec['method'] = v.align_method ?? DEFAULTS.align_method;
    spec.align = { percentile: p, method, seed: covSeed };
  }
  return spec;
}

function samplingSpec(v: ParsedArgs['values'], nMod: number, modDim: number, covSeed: number, labels: number[] | null): SamplingSpec {
  for (const flag of ['percentile_to_align', 'DAG_theta', 'DAG_ul', 'eta_arg', 'rho_arg', 'rho_theta_arg'] as const) {
    if (v[flag] !== undefined) fail(`--${flag} belongs to the constructive paradigm; this configuration is sampling`);
  }
  const covImages = v.cov_images === undefined || v.cov_images === null ? null : matrixFlag(v, 'cov_images', nMod, nMod, '(N_mod, N_mod)');
  if (covImages) {
    for (let i = 0; i < nMod; i++)
      for (let j = 0; j < i; j++)
        if (covImages[i][j] !== covImages[j][i]) {
          fail(`--cov_images: not symmetric, entry [${i}][${j}] = ${covImages[i][j]} but [${j}][${i}] = ${covImages[j][i]}`);
        }
  } else if (nMod !== 2) {
    fail(`--cov_images is required for N_mod = ${nMod}: the conditionally independent construction without it exists for N_mod = 2 only`);
  }
  let covTheta: number | number[] | null = null;
  const ct = v.cov_theta;
  if (typeof ct === 'number') {
    if (!Number.isFinite(ct)) fail(`--cov_theta ${ct}: not finite`);
    covTheta = ct;
  } else if (Array.isArray(ct)) {
    if (ct.length !== nMod) fail(`--cov_theta ${describe(ct)}: expected a scalar or a list of N_mod = ${nMod} numbers, got ${ct.length}`);
    ct.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`--cov_theta: entry ${i} (${describe(x)}) is not a finite number`);
    });
    covTheta = ct as number[];
  } else if (ct !== undefined && ct !== null) {
    fail(`--cov_theta ${describe(ct)}: expected a scalar or a list of N_mod = ${nMod} numbers`);
  }
  return {
    paradigm: 'sampling',
    nMod,
    modDim,
    covImages,
    covTheta,
    thetaVar: v.theta_var ?? null,
    epsilon: num(v, 'epsilon', DEFAULTS.epsilon),
    delta: num(v, 'delta', DEFAULTS.delta),
    covSeed,
    labels,
  };
}
