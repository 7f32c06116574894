/**
 * What an estimator sees of a group of variables: the modalities' raw values (images or the
 * exact latents), optionally reduced by PCA to k dimensions, with θ appended as one column
 * when the group holds it.
 *
 * PCA is fitted on a training split disjoint from the estimation draws when the pool has one
 * (`fitRows`): MI is invariant to invertible maps, not to a projection, so the features'
 * MI is at most the truth (data processing), and fitting on the estimation draws themselves
 * would let the projection adapt to their sampling noise. A projection fitted in-sample is
 * marked as such in the features' name.
 */
import { InputError } from '@mmmi/cli-kit';
import { fitPca, project, type PairedSamples, type Pca } from '@mmmi/estimators';
import { groupLabel, type Group } from '@mmmi/latents';
import type { DrawPool, Source } from './pool.js';

export interface FeatureSpec {
  /** As written, e.g. 'pca16' or 'latents:pca8'. */
  text: string;
  source: Source;
  /** Components kept per side, or null for the raw values. */
  pca: number | null;
}

/** `pixels`, `latents`, `pca<k>` (of the pixels) or `<source>:pca<k>`. */
export function parseFeatures(text: string): FeatureSpec {
  const m = /^(?:(pixels|latents)(?::pca(\d+))?|pca(\d+))$/.exec(text.trim());
  if (!m) throw new InputError(`--features ${text}: expected pixels, latents, pca<k> (PCA of the pixels, e.g. pca16) or latents:pca<k>`);
  const k = m[2] ?? m[3];
  if (k !== undefined && !(Number(k) >= 1)) throw new InputError(`--features ${text}: PCA needs at least one component`);
  return { text: text.trim(), source: (m[1] as Source | undefined) ?? 'pixels', pca: k === undefined ? null : Number(k) };
}

/**
 * Refuses PCA features larger than what they reduce, before any draw is read, rather than run
 * them under a name they do not have: k components of a group of D = |mods|·d values need
 * k ≤ D (at k = D the values are kept as they are: a full PCA is a rotation and loses nothing),
 * and a fit on more than k draws (the fit split, or the n estimation draws themselves when the
 * split holds fewer than 4k: sideFeatures).
 */
export function checkFeatureSize(spec: FeatureSpec, group: Group, modDim: number, at: { n: number; fitN: number; label: string }): void {
  if (spec.pca === null || group.mods.length === 0) return;
  const k = spec.pca;
  const raw = group.mods.length * modDim;
  const prefix = spec.source === 'latents' ? 'latents:' : '';
  if (k > raw)
    throw new InputError(
      `--features ${spec.text} on ${at.label}: ${k} components of ${groupLabel(group)}, which has ${raw} values per draw; use at most ${prefix}pca${raw}, or ${spec.source} for the values as they are`,
    );
  const fitN = at.fitN < 4 * k ? at.n : at.fitN;
  if (k > fitN - 1)
    throw new InputError(
      `--features ${spec.text} on ${at.label} at n = ${at.n}: ${k} components need more than ${fitN} draws to fit; use fewer components or a larger --n`,
    );
}

/** The group's modality values for the given draws, float64, row-major (rows.length × |mods|·d). */
export function gatherModalities(pool: DrawPool, mods: readonly number[], rows: ArrayLike<number>): Float64Array {
  const d = pool.modDim;
  const width = mods.length * d;
  const out = new Float64Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r] * d;
    mods.forEach((m, j) => {
      const src = pool.images.get(m);
      if (!src) throw new Error(`internal: modality ${m + 1} was not loaded`);
      const o = r * width + j * d;
      for (let t = 0; t < d; t++) out[o + t] = src[base + t];
    });
  }
  return out;
}

export interface SideFeatures {
  values: Float64Array;
  dim: number;
  /** Whether a PCA was fitted on the estimation draws themselves (no disjoint split left). */
  pcaInSample: boolean;
}

/**
 * Fitted projections shared across the pairs of one run: the projection of a group depends
 * only on the group, the features and the draws, so `drawsKey` (e.g. n and seed, which fix the
 * draws) names it. Fig. 6's 19 pairs read 10 modalities: one fit each instead of one per pair.
 */
export interface PcaCache {
  drawsKey: string;
  fits: Map<string, Pca>;
}

/** One side's features: its modalities (PCA-reduced when asked) and θ as a last column. */
export function sideFeatures(
  pool: DrawPool,
  group: Group,
  spec: FeatureSpec,
  rows: ArrayLike<number>,
  fitRows: ArrayLike<number>,
  cache?: PcaCache,
): SideFeatures {
  const n = rows.length;
  let modValues: Float64Array = new Float64Array(0);
  let modDim = 0;
  let pcaInSample = false;
  if (group.mods.length > 0) {
    modValues = gatherModalities(pool, group.mods, rows);
    modDim = group.mods.length * pool.modDim;
    if (spec.pca !== null && spec.pca > modDim)
      throw new InputError(
        `--features ${spec.text}: ${spec.pca} components of ${groupLabel(group)}, which has ${modDim} values per draw; use at most pca${modDim}`,
      );
    if (spec.pca !== null && spec.pca < modDim) {
      const k = spec.pca;
      pcaInSample = fitRows.length < 4 * k;
      const fitN = pcaInSample ? n : fitRows.length;
      if (k > fitN - 1) throw new InputError(`--features ${spec.text}: ${k} components need more than ${fitN} draws to fit`);
      const key = `${cache?.drawsKey}|${pool.source}|${spec.text}|${group.mods.join(',')}`;
      let pca = cache?.fits.get(key);
      if (!pca) {
        pca = fitPca(pcaInSample ? modValues : gatherModalities(pool, group.mods, fitRows), fitN, modDim, k);
        cache?.fits.set(key, pca);
      }
      modValues = project(pca, modValues, n);
      modDim = k;
    }
  }
  const dim = modDim + (group.theta ? 1 : 0);
  const values = new Float64Array(n * dim);
  for (let r = 0; r < n; r++) {
    values.set(modValues.subarray(r * modDim, (r + 1) * modDim), r * dim);
    if (group.theta) values[r * dim + modDim] = pool.theta[rows[r]];
  }
  return { values, dim, pcaInSample };
}

/** Paired samples of groups a and b for the given draws. */
export function pairedFeatures(
  pool: DrawPool,
  a: Group,
  b: Group,
  spec: FeatureSpec,
  rows: ArrayLike<number>,
  fitRows: ArrayLike<number>,
  cache?: PcaCache,
): { data: PairedSamples; pcaInSample: boolean } {
  const x = sideFeatures(pool, a, spec, rows, fitRows, cache);
  const y = sideFeatures(pool, b, spec, rows, fitRows, cache);
  return { data: { n: rows.length, x: x.values, dx: x.dim, y: y.values, dy: y.dim }, pcaInSample: x.pcaInSample || y.pcaInSample };
}
