/**
 * `mmmi-bench estimate`: every named estimator on every pair, feature kind, sample size and
 * seed of one dataset, each estimate beside the exact MI of the pair.
 *
 * A seed picks n draws at random from its share of the loaded pool (and, for PCA features, a
 * disjoint set of up to `fitDraws` draws to fit the projection on): see drawLayout (seed-draws.ts) for how the
 * seeds' samples stay independent, whatever the features. Conditional pairs are estimated by the
 * chain rule, I(A; B | C) = I(A; B, C) − I(A; C), from two estimates on the same draws; their
 * errors are correlated in an unknown way, so such a row has no standard error.
 */
import { InputError, type Progress } from '@mmmi/cli-kit';
import type { MiEstimate, Pca } from '@mmmi/estimators';
import { union, type Group } from '@mmmi/latents';
import type { BenchDataset } from '../dataset.js';
import { resolveEstimators, type EstimatorEntry } from '../estimator-registry.js';
import { checkFeatureSize, pairedFeatures, parseFeatures, type FeatureSpec } from '../features.js';
import { isEmptyGroup, modalitiesRead, parsePair, type MiPair } from '../pairs.js';
import { loadPool, type DrawPool, type Source } from '../pool.js';
import type { EstimateRow } from '../results.js';
import { drawLayout, seedDraws, type DrawLayout } from '../seed-draws.js';

export { drawLayout, seedDraws, subsample, type DrawLayout } from '../seed-draws.js';

export interface EstimateOptions {
  pairs: readonly string[];
  estimators: readonly string[];
  features: readonly string[];
  sizes: readonly number[];
  seeds: number;
  /** Draws set aside to fit PCA features on (default 2000). */
  fitDraws?: number;
  externalCommand?: readonly string[];
  /** Extra options per estimator name (e.g. steps for a variational one). */
  estimatorOptions?: Record<string, Record<string, unknown>>;
  progress?: Progress;
  onRow?: (row: EstimateRow) => void;
  /** Each estimate's own details as the estimator returned them (a critic's training curve, KSG's k, …), with its row. */
  onDetails?: (row: EstimateRow, details: Record<string, unknown>[]) => void;
  /** Rows a previous run of the same command finished (see journal.ts): taken, not recomputed, not ticked (the caller counts them with progress.resume). */
  done?: { get(key: string): EstimateRow | undefined };
}

const IN_SAMPLE = ' (fit in-sample)';

/** What identifies an estimate within one run. */
export const estimateKey = (r: Pick<EstimateRow, 'pair' | 'features' | 'n' | 'seed' | 'estimator'>): string =>
  [r.pair, r.features.replace(IN_SAMPLE, ''), r.n, r.seed, r.estimator].join('|');

/** The dimension an estimator sees of a group under a feature kind (checkFeatureSize refuses a k above the raw dimension). */
export function featureDim(g: Group, spec: FeatureSpec, modDim: number): number {
  const raw = g.mods.length * modDim;
  return (g.mods.length === 0 ? 0 : spec.pca !== null && spec.pca < raw ? spec.pca : raw) + (g.theta ? 1 : 0);
}

/** The (x, y) groups estimated for a pair: one for I(A;B), two for I(A;B|C) by the chain rule. */
function terms(p: MiPair): { a: Group; b: Group; sign: 1 | -1 }[] {
  if (isEmptyGroup(p.c)) return [{ a: p.a, b: p.b, sign: 1 }];
  return [
    { a: p.a, b: union(p.b, p.c), sign: 1 },
    { a: p.a, b: p.c, sign: -1 },
  ];
}

interface Plan {
  pairs: MiPair[];
  entries: EstimatorEntry[];
  specs: FeatureSpec[];
  sizes: number[];
  layout: DrawLayout;
  fitDraws: number;
}

/** Everything the run needs, checked before a draw is read: each refusal names the pair, estimator and features. */
export function planEstimates(data: BenchDataset, o: EstimateOptions): Plan {
  if (o.pairs.length === 0) throw new InputError('--pair: name at least one pair, e.g. --pair "X1;θ"');
  const pairs = o.pairs.map((p) => parsePair(p, data.structure));
  const entries = resolveEstimators(o.estimators, o.externalCommand);
  const specs = o.features.map(parseFeatures);
  if (specs.some((s) => s.source === 'latents') && !data.hasNoise)
    throw new InputError(`${data.source}: the shards do not store the exact latents (Noise); use pixel features`);
  const sizes = [...o.sizes];
  if (sizes.length === 0) throw new InputError('--n: give at least one sample size');
  if (!(Number.isInteger(o.seeds) && o.seeds >= 1)) throw new InputError(`--seeds ${o.seeds}: at least one`);
  const maxN = Math.max(...sizes);
  if (maxN > data.count) throw new InputError(`--n ${maxN}: the dataset ${data.source} has ${data.count} draws`);
  for (const p of pairs)
    for (const s of specs)
      for (const e of entries)
        for (const t of terms(p))
          for (const n of sizes) {
            const dx = featureDim(t.a, s, data.modDim);
            const dy = featureDim(t.b, s, data.modDim);
            const why = e.refuses(n, dx, dy);
            if (why) throw new InputError(`${e.name} on ${p.label} with --features ${s.text} at n = ${n}: ${why}`);
            if (e.needsImages && (s.pca !== null || (t.a.theta && t.a.mods.length > 0) || (t.b.theta && t.b.mods.length > 0)))
              throw new InputError(`${e.name} on ${p.label}: its CNN critic reads raw images (--features pixels or latents), with θ alone on a side`);
          }
  const fitDraws = specs.some((s) => s.pca !== null) ? (o.fitDraws ?? 2000) : 0;
  const layout = drawLayout(data.count, o.seeds, sizes, fitDraws, data.source);
  for (const p of pairs)
    for (const s of specs)
      for (const t of terms(p))
        for (const g of [t.a, t.b])
          for (const n of sizes) {
            const fitN = Math.min(fitDraws, (layout.block ?? layout.poolCount) - n);
            checkFeatureSize(s, g, data.modDim, { n, fitN, label: p.label });
          }
  return { pairs, entries, specs, sizes, layout, fitDraws };
}

export const estimateCount = (plan: Plan, seeds: number): number => plan.pairs.length * plan.specs.length * plan.sizes.length * seeds * plan.entries.length;

/** Runs the planned estimates; returns one row per (pair, features, n, seed, estimator). */
export async function runEstimates(data: BenchDataset, o: EstimateOptions): Promise<EstimateRow[]> {
  const plan = planEstimates(data, o);
  const pools = new Map<Source, DrawPool>();
  const pool = async (source: Source) => {
    let p = pools.get(source);
    if (!p) {
      p = await loadPool(data, plan.layout.poolCount, modalitiesRead(plan.pairs), source);
      pools.set(source, p);
    }
    return p;
  };
  const rows: EstimateRow[] = [];
  const fits = new Map<string, Pca>();
  for (const pair of plan.pairs)
    for (const spec of plan.specs) {
      const draws = await pool(spec.source);
      for (const n of plan.sizes)
        for (let seed = 0; seed < o.seeds; seed++) {
          const key = (estimator: string) => estimateKey({ pair: pair.label, features: spec.text, n, seed, estimator });
          const todo = plan.entries.filter((e) => {
            const row = o.done?.get(key(e.name));
            if (row) rows.push(row);
            return !row;
          });
          if (todo.length === 0) continue;
          const { rows: idx, fitRows } = seedDraws(plan.layout, n, seed, plan.fitDraws);
          const sides = terms(pair).map((t) => ({ ...t, ...pairedFeatures(draws, t.a, t.b, spec, idx, fitRows, { drawsKey: `${n}|${seed}`, fits }) }));
          const features = sides.some((s) => s.pcaInSample) ? `${spec.text}${IN_SAMPLE}` : spec.text;
          for (const entry of todo) {
            const results: MiEstimate[] = [];
            for (const s of sides) {
              const sized = entry.optionsFor?.(s.data.n, s.data.dx, s.data.dy);
              results.push(await entry.estimator.estimate(s.data, { seed, ...entry.options, ...sized, ...o.estimatorOptions?.[entry.name] }));
            }
            const estimate = results.reduce((acc, r, i) => acc + sides[i].sign * r.estimate, 0);
            const row: EstimateRow = {
              dataset: data.name,
              map: data.map,
              pair: pair.label,
              truth: pair.truth,
              estimator: entry.name,
              features,
              n,
              seed,
              estimate,
              standardError: results.length === 1 ? results[0].standardError : null,
              bias: estimate - pair.truth,
              seconds: results.reduce((acc, r) => acc + r.seconds, 0),
            };
            rows.push(row);
            o.onRow?.(row);
            o.onDetails?.(
              row,
              results.map((r) => r.details ?? {}),
            );
            o.progress?.tick();
          }
        }
    }
  return rows;
}
