/**
 * `mmmi-bench regress`: θ regressed from subsets of modalities, each test score beside the
 * unbeatable one. For these Gaussian latents θ | X_S is Gaussian with variance
 * Var(θ)·exp(−2 I(X_S; θ)), so no regressor's test MSE can be lower in expectation; each map
 * is invertible per modality, so that holds for the images too (regress/bayes.ts).
 *
 * Each seed reads its own draws (seed-draws.ts: disjoint blocks of test draws + largest n when
 * the dataset holds one per seed, else its own random subset of every draw, with a note), and
 * splits them once: `testDraws` of them are the test set of every size, the others the
 * training sets, nested (the n of a smaller size are among those of a larger one); PCA
 * features are fitted on the training draws only.
 */
import { InputError, type Progress } from '@mmmi/cli-kit';
import type { Pca } from '@mmmi/estimators';
import { parseMiQuery, type Group } from '@mmmi/latents';
import type { BenchDataset } from '../dataset.js';
import { parseFeatures, sideFeatures, type FeatureSpec } from '../features.js';
import { loadPool, type DrawPool, type Source } from '../pool.js';
import { bayesOptimum, regressRow, regressTheta, REGRESS_MODELS, type CnnOptions, type RegressModelName } from './index.js';
import type { RegressRow } from '../results.js';
import { drawLayout, seedDraws, TEST_DRAWS, type DrawLayout } from '../seed-draws.js';

export interface RegressOptions {
  /** Subsets in the MI table's notation: 'X1', 'X1,X2', 'X1..X10'. */
  subsets: readonly string[];
  models: readonly string[];
  /** Features of the ridge regression; the CNN reads the raw ones among them (pixels, latents). */
  features: readonly string[];
  sizes: readonly number[];
  seeds: number;
  /** Test draws, shared by every size of a seed (default 1000). */
  testDraws?: number;
  cnn?: CnnOptions;
  progress?: Progress;
  onRow?: (row: RegressRow) => void;
  done?: { get(key: string): RegressRow | undefined };
}

export interface Subset {
  text: string;
  /** 'X_1', 'X_1,X_3', 'X_1..X_10'. */
  label: string;
  mods: number[];
}

/** Modalities as a label, consecutive runs of three or more written as a range. */
export function subsetLabel(mods: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < mods.length;) {
    let j = i;
    while (j + 1 < mods.length && mods[j + 1] === mods[j] + 1) j++;
    if (j - i >= 2) parts.push(`X_${mods[i] + 1}..X_${mods[j] + 1}`);
    else for (let t = i; t <= j; t++) parts.push(`X_${mods[t] + 1}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function parseSubset(text: string, nMod: number): Subset {
  let g: Group;
  try {
    g = parseMiQuery(`${text};θ`, nMod).a;
  } catch (e) {
    throw new InputError(`--subsets ${text}: ${(e as Error).message.replace(/^MI query "[^"]*": /, '')}`, { cause: e });
  }
  if (g.theta || g.mods.length === 0) throw new InputError(`--subsets ${text}: name modalities only (X1, X1,X2, X1..X5), θ is what is predicted`);
  return { text, label: subsetLabel(g.mods), mods: [...g.mods] };
}

export const regressKey = (r: Pick<RegressRow, 'subset' | 'model' | 'features' | 'n' | 'seed'>): string =>
  [r.subset, r.model, r.features, r.n, r.seed].join('|');

interface Job {
  model: RegressModelName;
  spec: FeatureSpec;
}

export interface RegressPlan {
  subsets: Subset[];
  jobs: Job[];
  sizes: number[];
  testDraws: number;
  /** Which draws each seed reads; its notes say when the seeds share draws. */
  layout: DrawLayout;
}

/** Checks everything before a draw is read. */
export function planRegressions(data: BenchDataset, o: RegressOptions): RegressPlan {
  if (o.subsets.length === 0) throw new InputError('--subsets: name at least one subset of modalities, e.g. --subsets X1 X1,X2');
  const subsets = o.subsets.map((s) => parseSubset(s, data.nMod));
  const specs = o.features.map(parseFeatures);
  if (specs.length === 0) throw new InputError('--features: name at least one');
  if (specs.some((s) => s.source === 'latents') && !data.hasNoise)
    throw new InputError(`${data.source}: the shards do not store the exact latents (Noise); use pixel features`);
  const jobs: Job[] = [];
  for (const name of o.models) {
    if (!REGRESS_MODELS.includes(name as RegressModelName)) throw new InputError(`--models: unknown model '${name}' (known: ${REGRESS_MODELS.join(', ')})`);
    const model = name as RegressModelName;
    const usable = model === 'cnn' ? specs.filter((s) => s.pca === null) : specs;
    if (usable.length === 0) throw new InputError('--models cnn: the CNN reads raw images; add --features pixels (or latents)');
    if (model === 'cnn' && data.modDim !== 3072)
      throw new InputError(`--models cnn: the CNN reads 3×32×32 images; this dataset's modalities have ${data.modDim} values`);
    for (const spec of usable) jobs.push({ model, spec });
  }
  if (jobs.length === 0) throw new InputError('--models: name at least one of ridge, cnn');
  const sizes = [...o.sizes];
  if (sizes.length === 0) throw new InputError('--n: give at least one training size');
  if (!(Number.isInteger(o.seeds) && o.seeds >= 1)) throw new InputError(`--seeds ${o.seeds}: at least one`);
  const testDraws = o.testDraws ?? 1000;
  if (!(Number.isInteger(testDraws) && testDraws >= 10)) throw new InputError(`--test_draws ${testDraws}: at least 10`);
  const maxN = Math.max(...sizes);
  if (testDraws + maxN > data.count)
    throw new InputError(`--n ${maxN} with ${testDraws} test draws needs ${testDraws + maxN} draws; the dataset ${data.source} has ${data.count}`);
  for (const s of specs)
    if (s.pca !== null && s.pca >= Math.min(...sizes))
      throw new InputError(`--features ${s.text}: ${s.pca} components need more than ${Math.min(...sizes)} training draws`);
  const layout = regressLayout(data.count, o.seeds, sizes, testDraws, data.source);
  return { subsets, jobs, sizes, testDraws, layout };
}

export const regressCount = (plan: RegressPlan, seeds: number): number => plan.subsets.length * plan.jobs.length * plan.sizes.length * seeds;

/** Which draws the seeds of a regression read: test draws + the largest n each (see seed-draws.ts). */
export const regressLayout = (count: number, seeds: number, sizes: readonly number[], testDraws: number, source?: string): DrawLayout =>
  drawLayout(count, seeds, sizes, testDraws, source, TEST_DRAWS);

/** The seed's draws, split: its test draws (every size), then its training draws, of which size n takes the first n. */
export function regressSplit(plan: Pick<RegressPlan, 'layout' | 'sizes' | 'testDraws'>, seed: number): { test: Int32Array; train: Int32Array } {
  const { rows, fitRows } = seedDraws(plan.layout, plan.testDraws, seed, Math.max(...plan.sizes));
  return { test: rows, train: fitRows };
}

export async function runRegressions(data: BenchDataset, o: RegressOptions): Promise<RegressRow[]> {
  const plan = planRegressions(data, o);
  const mods = [...new Set(plan.subsets.flatMap((s) => s.mods))].sort((a, b) => a - b);
  const pools = new Map<Source, DrawPool>();
  const rows: RegressRow[] = [];
  const fits = new Map<string, Pca>();
  for (let seed = 0; seed < o.seeds; seed++) {
    const split = regressSplit(plan, seed);
    const test = split.test;
    for (const n of plan.sizes) {
      const train = split.train.subarray(0, n);
      for (const sub of plan.subsets) {
        const bayes = bayesOptimum(data.structure, sub.mods);
        for (const { model, spec } of plan.jobs) {
          const key = regressKey({ subset: sub.label, model, features: spec.text, n, seed });
          const done = o.done?.get(key);
          if (done) {
            rows.push(done);
            continue;
          }
          let pool = pools.get(spec.source);
          if (!pool) {
            pool = await loadPool(data, plan.layout.poolCount, mods, spec.source);
            pools.set(spec.source, pool);
          }
          const group = { mods: sub.mods, theta: false };
          const cache = { drawsKey: `${n}|${seed}`, fits };
          const x = sideFeatures(pool, group, spec, train, train, cache);
          const xt = sideFeatures(pool, group, spec, test, train, cache);
          const result = await regressTheta({
            trainFeatures: x.values,
            trainTheta: Float64Array.from(train, (i) => pool.theta[i]),
            testFeatures: xt.values,
            testTheta: Float64Array.from(test, (i) => pool.theta[i]),
            dim: x.dim,
            model,
            seed,
            cnn: o.cnn,
          });
          const row = regressRow({ dataset: data.name, map: data.map, subset: sub.label, features: spec.text, seed }, bayes, result);
          rows.push(row);
          o.onRow?.(row);
          o.progress?.tick();
        }
      }
    }
  }
  return rows;
}
