/**
 * `mmmi-bench pmi`: does a contrastive critic learn the pointwise MI? An InfoNCE critic is
 * trained on n draws; on m other draws its per-sample score
 *
 *   s_i = f(x_i, y_i) − log (1/m) Σ_j e^{f(x_i, y_j)}
 *
 * (the InfoNCE-normalised score, whose mean is the critic's MI estimate; the optimal critic
 * is log p(y|x)/p(y) up to a function of x, which the normalisation removes) is compared with
 * the exact pointwise MI of the same draw,
 *
 *   i(θ; x_S) = log p(θ | x_S) − log p(θ),
 *
 * computed from the stored latents and the dataset's own latent structure (latents'
 * pointwiseMutualInformation), by Pearson's and Spearman's correlation. The exact PMI is
 * defined between θ and a group of modalities; each map is invertible per modality, so it is
 * also the PMI of θ and the images.
 *
 * Each seed reads its own n + m draws (seed-draws.ts: a disjoint block per seed when the
 * dataset holds one, else its own random subset of every draw, with a note).
 */
import { InputError, type Progress } from '@mmmi/cli-kit';
import { fitCritic, type Pca, type VariationalOptions } from '@mmmi/estimators';
import { pointwiseMutualInformation, type Group } from '@mmmi/latents';
import type { BenchDataset } from '../dataset.js';
import { criticBatchSize } from '../estimator-registry.js';
import { pairedFeatures, parseFeatures, type FeatureSpec } from '../features.js';
import { isEmptyGroup, parsePair, type MiPair } from '../pairs.js';
import { loadPool, type DrawPool } from '../pool.js';
import { pearson, spearman, type PmiPoints } from '../report/index.js';
import type { PmiRow } from '../results.js';
import { drawLayout, SCORED_DRAWS, seedDraws, type DrawLayout } from '../seed-draws.js';

export interface PmiOptions {
  pairs: readonly string[];
  features: readonly string[];
  /** Training draws of the critic (half train, half its own held-out estimate). */
  n: number;
  /** Draws scored against the exact PMI, disjoint from the training draws. */
  scored: number;
  seeds: number;
  critic?: VariationalOptions;
  progress?: Progress;
}

/** The pair as (modalities, θ): the exact PMI is defined between θ and a group of modalities, unconditionally. */
function thetaPair(p: MiPair): { mods: Group } {
  const only = (g: Group) => g.mods.length > 0 && !g.theta;
  const theta = (g: Group) => g.theta && g.mods.length === 0;
  if (!isEmptyGroup(p.c)) throw new InputError(`--pair "${p.text}": the exact per-sample PMI is computed for unconditional pairs of θ and modalities`);
  if (only(p.a) && theta(p.b)) return { mods: p.a };
  if (theta(p.a) && only(p.b)) return { mods: p.b };
  throw new InputError(`--pair "${p.text}": the exact per-sample PMI is computed between θ and a group of modalities, e.g. "X1;θ" or "X1,X2;θ"`);
}

interface PmiPlan {
  pairs: { pair: MiPair; mods: Group }[];
  specs: FeatureSpec[];
  /** Which draws each seed reads; its notes say when the seeds share draws. */
  layout: DrawLayout;
}

export function planPmi(data: BenchDataset, o: PmiOptions): PmiPlan {
  if (o.pairs.length === 0) throw new InputError('--pair: name at least one, e.g. --pair "X1;θ"');
  const pairs = o.pairs.map((text) => {
    const pair = parsePair(text, data.structure);
    return { pair, ...thetaPair(pair) };
  });
  const specs = o.features.map(parseFeatures);
  if (specs.length === 0) throw new InputError('--features: name at least one');
  if (!data.hasNoise) throw new InputError(`${data.source}: the shards do not store the exact latents (Noise), which the exact PMI is computed from`);
  if (!(Number.isInteger(o.n) && o.n >= 20)) throw new InputError(`--n ${o.n}: the critic needs at least 20 training draws`);
  if (!(Number.isInteger(o.scored) && o.scored >= 10)) throw new InputError(`--scored ${o.scored}: score at least 10 draws`);
  if (o.n + o.scored > data.count)
    throw new InputError(`--n ${o.n} and --scored ${o.scored} need ${o.n + o.scored} draws; the dataset ${data.source} has ${data.count}`);
  if (!(Number.isInteger(o.seeds) && o.seeds >= 1)) throw new InputError(`--seeds ${o.seeds}: at least one`);
  const layout = drawLayout(data.count, o.seeds, [o.n], o.scored, data.source, SCORED_DRAWS);
  return { pairs, specs, layout };
}

/** The exact PMI of the scored draws, from the latents of the group's modalities. */
function exactPmi(data: BenchDataset, latents: DrawPool, mods: readonly number[], rows: ArrayLike<number>): Float64Array {
  const d = data.modDim;
  const stride = data.nMod * d;
  // pointwiseMutualInformation reads draws laid out count × N × d; only the group's modalities are read
  const x = new Float64Array(rows.length * stride);
  const theta = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    theta[r] = latents.theta[rows[r]];
    for (const m of mods) {
      const src = latents.images.get(m)!;
      for (let t = 0; t < d; t++) x[r * stride + m * d + t] = src[rows[r] * d + t];
    }
  }
  return pointwiseMutualInformation(data.structure, theta, x, rows.length, mods);
}

export async function runPmi(data: BenchDataset, o: PmiOptions): Promise<{ rows: PmiRow[]; points: PmiPoints[] }> {
  const plan = planPmi(data, o);
  const mods = [...new Set(plan.pairs.flatMap((p) => p.mods.mods))].sort((a, b) => a - b);
  const poolCount = plan.layout.poolCount;
  const latents = await loadPool(data, poolCount, mods, 'latents');
  const pixels = plan.specs.some((s) => s.source === 'pixels') ? await loadPool(data, poolCount, mods, 'pixels') : null;
  const rows: PmiRow[] = [];
  const points: PmiPoints[] = [];
  for (const { pair, mods: group } of plan.pairs)
    for (const spec of plan.specs)
      for (let seed = 0; seed < o.seeds; seed++) {
        const t0 = performance.now();
        const { rows: train, fitRows: scored } = seedDraws(plan.layout, o.n, seed, o.scored);
        const pool = spec.source === 'latents' ? latents : pixels!;
        // x: the modalities, y: θ; PCA (if any) fitted on the training draws
        const theta = { mods: [], theta: true };
        // one PCA fit (on the training draws) for the training and the scored features
        const cache = { drawsKey: `${seed}`, fits: new Map<string, Pca>() };
        const fitted = await fitCritic(pairedFeatures(pool, group, theta, spec, train, train, cache).data, {
          bound: 'infonce',
          seed,
          batchSize: criticBatchSize(o.n),
          ...o.critic,
        });
        try {
          const test = pairedFeatures(pool, group, theta, spec, scored, train, cache).data;
          const score = fitted.pointwiseScores(test.x, test.y, test.n);
          const pmi = exactPmi(data, latents, group.mods, scored);
          let meanPmi = 0;
          for (const v of pmi) meanPmi += v / pmi.length;
          rows.push({
            dataset: data.name,
            map: data.map,
            pair: pair.label,
            features: spec.text,
            n: o.n,
            seed,
            pearson: pearson(score, pmi),
            spearman: spearman(score, pmi),
            meanPmi,
            estimate: fitted.estimate.estimate,
            seconds: (performance.now() - t0) / 1000,
          });
          if (seed === 0) points.push({ label: `${pair.label} · ${spec.text}`, pmi, score });
        } finally {
          fitted.dispose();
        }
        o.progress?.tick();
      }
  return { rows, points };
}
