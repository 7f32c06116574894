/**
 * The memory a `mmmi-latents` command will allocate, counted from the specification before
 * any template is drawn or read, so that a huge `--mod_dim` or `--N_mod` is refused in one
 * line instead of growing to gigabytes without a word.
 *
 * With d = mod_dim, N = N_mod, r = N_u_theta and V the distinct template vectors (r·N for
 * random, .npy or image templates, 1 for ones; N random σ vectors in the sampling paradigm
 * without --cov_theta), the dominant float64 allocations (8 bytes a value) are:
 * - templates: V·d values, plus the .npy file as read;
 * - the Gram matrix of the distinct vectors (V²) and each group solve's pair matrices
 *   (2·N·R with R ≤ r·N pairs), with K and the loadings (N² + N·N_u);
 * - exact alignment: the reduced covariance on the span of the templates, n = N·min(V, d),
 *   its n×n matrix and the eigen-decomposition's copy and vectors (3·n²);
 * - sampled alignment: a chunk of 256 draws (256·N·d), the proto-latent draw (q·d, q ≤
 *   max(N, N_u)) and the 20 000 norms with their sorted copy;
 * - `describe`: each dense vector written as base64 (4/3 of its 8·d bytes) into the JSON text,
 *   which holds a second copy.
 * Small terms (r×r algebra, the MI table's scalars) are left out.
 */
import { statSync } from 'node:fs';
import { availableMemory, availableMemoryPhrase, formatGigabytes, InputError, type AvailableMemory } from '@mmmi/cli-kit';
import { MAX_EXACT_REDUCED } from './align.js';
import type { LatentSpec } from './spec.js';

/** Draws per chunk of the sampled alignment (align.ts). */
const ALIGNMENT_CHUNK = 256;
/** Draws of the sampled alignment (align.ts's REFERENCE_ALIGNMENT_DRAWS). */
const ALIGNMENT_DRAWS = 20_000;
/** Above this need, a command says how much it takes before it starts. */
export const LARGE_MEMORY_BYTES = 1e9;

export type LatentCommand = 'mi' | 'describe' | 'design';

export interface LatentMemoryPart {
  what: string;
  bytes: number;
  /** The flags whose values drive this part, as the refusal names them. */
  flags: string[];
}

export interface LatentMemoryNeed {
  parts: LatentMemoryPart[];
  total: number;
}

const F64 = 8;

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // a missing file is refused later with its own message
  }
}

/** The bytes `command` allocates for `spec` (see the module comment for the count). */
export function latentMemoryNeed(spec: LatentSpec, command: LatentCommand): LatentMemoryNeed {
  const { nMod: N, modDim: d } = spec;
  const parts: LatentMemoryPart[] = [];
  let vectors: number;
  if (spec.paradigm === 'sampling') {
    vectors = spec.covTheta === null ? N : 1;
    if (spec.covTheta === null) parts.push({ what: 'random σ vectors (N_mod·mod_dim float64)', bytes: F64 * N * d, flags: ['--mod_dim', '--N_mod'] });
    parts.push({ what: 'K and the group solves', bytes: F64 * (N * N + 2 * N * N + vectors * vectors), flags: ['--N_mod'] });
  } else {
    const r = spec.nUTheta;
    const method = spec.templates.method;
    vectors = method === 'ones' ? 1 : r * N;
    if (method !== 'ones') {
      parts.push({
        what: `${method} templates (N_u_theta·N_mod·mod_dim float64)`,
        bytes: F64 * vectors * d,
        flags: method === 'random' ? ['--mod_dim', '--N_mod', '--N_u_theta'] : ['--N_mod', '--N_u_theta'],
      });
    }
    if (spec.templates.method === 'npy') parts.push({ what: 'the .npy file as read', bytes: fileBytes(spec.templates.path), flags: ['--T_vectors_method'] });
    parts.push({
      what: 'K, the loadings and the group solves',
      bytes: F64 * (N * N + N * spec.nU + 2 * N * r * N + vectors * vectors),
      flags: ['--N_mod', '--N_u', '--N_u_theta'],
    });
    if (spec.align?.method === 'exact') {
      const n = exactAlignmentSize(spec);
      parts.push({ what: `exact alignment's ${n}×${n} eigenproblem`, bytes: 3 * F64 * n * n, flags: ['--N_mod', '--N_u_theta', '--align_method'] });
    } else if (spec.align?.method === 'sampled') {
      const q = Math.max(N, spec.nU);
      parts.push({
        what: `sampled alignment's draws (${ALIGNMENT_CHUNK} at a time)`,
        bytes: F64 * (ALIGNMENT_CHUNK * N * d + q * d + 2 * ALIGNMENT_DRAWS),
        flags: ['--mod_dim', '--N_mod'],
      });
    }
  }
  if (command === 'describe') {
    const dense = spec.paradigm === 'sampling' ? (spec.covTheta === null ? N : 0) : spec.templates.method === 'ones' ? 0 : vectors;
    // base64 text of 8·d bytes is 4/3 as long; JSON.stringify copies it once more
    if (dense > 0) parts.push({ what: 'the JSON description (base64 vectors)', bytes: 2 * Math.ceil((F64 * d) / 3) * 4 * dense, flags: parts[0].flags });
  }
  return { parts, total: parts.reduce((s, p) => s + p.bytes, 0) };
}

/**
 * N·min(p, d): the size of exact alignment's reduced eigenproblem, with p the template vectors
 * that enter the model (entries of DAG_theta·ρ_θ that are not 0). Exact for random templates
 * (p random vectors of R^d span min(p, d) dimensions with probability 1), an upper bound for
 * templates read from files (duplicates are merged, dependent ones span less).
 */
export function exactAlignmentSize(spec: LatentSpec): number {
  if (spec.paradigm !== 'constructive') return 0;
  if (spec.templates.method === 'ones') return spec.nMod;
  let used = 0;
  for (let i = 0; i < spec.nMod; i++) for (let k = 0; k < spec.nUTheta; k++) if (spec.dagTheta[i][k] * spec.rhoTheta[k] !== 0) used++;
  return spec.nMod * Math.min(used, spec.modDim);
}

function partsText(need: LatentMemoryNeed): string {
  return need.parts
    .filter((p) => p.bytes >= 1e6)
    .sort((a, b) => b.bytes - a.bytes)
    .map((p) => `${p.what} ${formatGigabytes(p.bytes)}`)
    .join(', ');
}

/**
 * Refuses a command whose need exceeds what is available, naming the flags behind the
 * largest part with their values; returns a line to log when the need is large but fits,
 * else null.
 */
export function checkLatentMemory(need: LatentMemoryNeed, available: AvailableMemory, spec: LatentSpec): string | null {
  // random templates give the reduced size exactly: refuse before the templates are drawn rather than after the matrix is built
  if (
    spec.paradigm === 'constructive' &&
    spec.align?.method === 'exact' &&
    spec.templates.method === 'random' &&
    exactAlignmentSize(spec) > MAX_EXACT_REDUCED
  ) {
    throw new InputError(
      `--percentile_to_align with --align_method exact needs an eigen-decomposition of size N_mod·min(templates, mod_dim) = ${exactAlignmentSize(spec)} (at most ${MAX_EXACT_REDUCED}) for --T_vectors_method random with --N_mod ${spec.nMod} and --N_u_theta ${spec.nUTheta}: use --align_method sampled`,
    );
  }
  if (need.total <= available.bytes) return need.total >= LARGE_MEMORY_BYTES ? `about ${formatGigabytes(need.total)} of memory (${partsText(need)})` : null;
  const largest = need.parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const c = spec.paradigm === 'constructive' ? spec : null;
  const value: Record<string, string> = {
    '--mod_dim': String(spec.modDim),
    '--N_mod': String(spec.nMod),
    '--N_u': String(c?.nU ?? ''),
    '--N_u_theta': String(c?.nUTheta ?? ''),
    '--align_method': c?.align?.method ?? '',
    '--T_vectors_method': c?.templates.method === 'npy' ? c.templates.path : '',
  };
  const named = largest.flags.map((f) => (value[f] ? `${f} (now ${value[f]})` : f));
  const flags = named.length > 1 ? `${named.slice(0, -1).join(', ')} or ${named[named.length - 1]}` : named[0];
  const randomTemplates = c?.templates.method === 'random' && largest.flags.includes('--N_u_theta');
  const hint = largest.flags.includes('--align_method') ? ' (or --align_method sampled)' : randomTemplates ? ' (or --T_vectors_method ones)' : '';
  throw new InputError(
    `this model needs about ${formatGigabytes(need.total)} of memory (${partsText(need)}) and ${availableMemoryPhrase(available)} ${formatGigabytes(available.bytes)} available: lower ${flags}${hint}`,
  );
}

/** The check every command makes before its work: refuses (InputError) or, for a large need, says it on `log`. */
export function checkCommandMemory(
  spec: LatentSpec,
  command: LatentCommand,
  log: (line: string) => void,
  available: AvailableMemory = availableMemory(),
): void {
  const line = checkLatentMemory(latentMemoryNeed(spec, command), available, spec);
  if (line) log(`mmmi-latents: ${line}`);
}
