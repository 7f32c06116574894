/**
 * Which draws each seed of a run reads, for every command of the harness (estimate, regress,
 * pmi). Draws are i.i.d., so disjoint sets of them are independent samples: when the dataset
 * holds `seeds` blocks of B = (largest n + the extra draws a seed reads besides its n — PCA
 * fit draws, test draws, scored draws), the pool is those seeds·B draws and seed s reads
 * block s alone (at every n), so no two seeds share a draw. Otherwise (`block` null) the pool
 * is the whole dataset and each seed draws its own random subset of it, overlapping the
 * others': the spread across seeds then understates the sampling error (by about the
 * finite-population factor 1 − n/count in variance), and where a seed reads every draw all
 * seeds read the same ones, so that spread is the run's own randomness alone (the estimators',
 * or only how the same draws are split). `notes` says so, in words, for the run's log.
 */
import { mulberry32 } from '@mmmi/estimators';
import { permutation } from '@mmmi/latents';

export interface DrawLayout {
  /** Draws loaded: the first poolCount of the dataset. */
  poolCount: number;
  /** Draws per seed's block when the seeds are disjoint, else null (every seed samples the whole pool). */
  block: number | null;
  notes: string[];
}

/** The draws a seed reads besides its n, as the notes name them. */
export interface ExtraDraws {
  /** e.g. 'PCA fit draws', 'test draws', 'scored draws'. */
  name: string;
  /**
   * True when a seed reads all the extra draws at every n (test, scored draws: the plan
   * refuses n + extra > count); false when it reads what count − n leaves of them (PCA fit
   * draws), so that only n = count reads every draw for the estimate itself.
   */
  required: boolean;
  /** The flag that sets them, named in the advice (e.g. '--test_draws'). */
  flag?: string;
}

export const PCA_FIT_DRAWS: ExtraDraws = { name: 'PCA fit draws', required: false };
/** regress: the test set of every size of a seed. */
export const TEST_DRAWS: ExtraDraws = { name: 'test draws', required: true, flag: '--test_draws' };
/** pmi: the draws scored against the exact PMI. */
export const SCORED_DRAWS: ExtraDraws = { name: 'scored draws', required: true, flag: '--scored' };

/** Draw indices for one (n, seed): n draws and up to `fitCount` others, from a seeded shuffle of the pool. */
export function subsample(poolCount: number, n: number, seed: number, fitCount: number): { rows: Int32Array; fitRows: Int32Array } {
  const order = permutation(poolCount, mulberry32((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(n, 0x85ebca6b)) >>> 0));
  const rows = order.slice(0, n);
  const fitRows = order.slice(n, n + Math.min(fitCount, poolCount - n));
  return { rows, fitRows };
}

/** The layout of `seeds` seeds reading up to max(sizes) + `extra` draws each from a dataset of `count`. */
export function drawLayout(
  count: number,
  seeds: number,
  sizes: readonly number[],
  extra: number,
  source = 'the dataset',
  what: ExtraDraws = PCA_FIT_DRAWS,
): DrawLayout {
  const maxN = Math.max(...sizes);
  const block = maxN + extra;
  if (seeds * block <= count) return { poolCount: seeds * block, block, notes: [] };
  const notes: string[] = [];
  if (seeds > 1) {
    const plus = extra > 0 ? ` + ${extra} ${what.name}` : '';
    const advice = what.flag ? `fewer --seeds, a smaller --n or ${what.flag}, or more draws` : 'fewer --seeds, a smaller --n or more draws';
    notes.push(
      `note: the seeds share draws: ${seeds} independent seeds need ${seeds} × (${maxN}${plus}) = ${seeds * block} draws and ${source} has ${count}; each seed draws its own sample from all ${count}, overlapping the others, so the spread across seeds understates the sampling error (${advice} make them independent)`,
    );
    if (!what.required) {
      const full = sizes.filter((n) => n >= count);
      if (full.length)
        notes.push(`note: at n = ${count} every seed reads all ${count} draws: the spread across seeds there is the estimators' own randomness only`);
    } else {
      const full = sizes.filter((n) => n + extra >= count);
      if (full.length)
        notes.push(
          `note: at n = ${full.join(', ')} every seed reads all ${count} draws, only split differently between the n and the ${extra} ${what.name}: the spread across seeds there is that of the split alone`,
        );
    }
  }
  return { poolCount: count, block: null, notes };
}

/** The draws seed `seed` reads at size n: within its block when the seeds are disjoint, else from the whole pool. */
export function seedDraws(layout: DrawLayout, n: number, seed: number, fitCount: number): { rows: Int32Array; fitRows: Int32Array } {
  if (layout.block === null) return subsample(layout.poolCount, n, seed, fitCount);
  const start = seed * layout.block;
  const { rows, fitRows } = subsample(layout.block, n, seed, fitCount);
  return { rows: rows.map((r) => r + start), fitRows: fitRows.map((r) => r + start) };
}

/**
 * Which way of choosing draws a journal's rows were made with. A journal records it among its
 * options, so rows of a run killed under the older layout (every seed on the same draws at the
 * largest n) are set aside on resume, never mixed with rows of independent seeds.
 */
export const DRAW_LAYOUT_VERSION = 'seed-blocks-1';
