/**
 * One grid point of `mmmi-bench contrastive`: on one dataset, for each seed, train the
 * contrastive network on n draws of the views, then on `test` other draws hold
 *
 *  - each pair of views' learned similarity against the exact per-sample PMI of the same
 *    draws (latents' pairwisePmi, from the stored latents), by Pearson's and Spearman's correlation;
 *  - a linear probe of θ on the frozen representation (each view alone, and all views side by
 *    side) against the Bayes bound Var(θ)·exp(−2 I(θ; X_S)) (./probe.ts).
 *
 * Draws: each seed reads its own n + test draws (seed-draws.ts: disjoint blocks when the
 * dataset holds one per seed, else its own subset of all draws, with a note). Of the n
 * training draws, a validation part (about a tenth, whole batches; none with patience 0)
 * only decides when to stop; the representations the probe is fitted on are those of all n.
 */
import { InputError, type Progress } from '@mmmi/cli-kit';
import { ensureTrainingBackend, mulberry32 } from '@mmmi/estimators';
import { conditionalMutualInformation, mutualInformation, permutation, type Group } from '@mmmi/latents';
import type { BenchDataset } from '../dataset.js';
import { parseFeatures, sideFeatures, type FeatureSpec, type PcaCache } from '../features.js';
import { pairLabel } from '../pairs.js';
import { loadPool } from '../pool.js';
import { pearson, spearman } from '../report/index.js';
import { drawLayout, seedDraws, type DrawLayout, type ExtraDraws } from '../seed-draws.js';
import { pairwisePmi } from '@mmmi/latents';
import { viewPairs } from './loss.js';
import { makeNetwork, type EncoderKind } from './model.js';
import { concatenateRows, linearProbe } from './probe.js';
import type { ContrastivePmiRow, ContrastiveProbeRow, PmiScatter, PointFields, PointResult } from './rows.js';
import { encodeAll, similarityScores } from './score.js';
import { fitInputScaling, scaleInputs } from './standardise.js';
import { trainNetwork, type EpochPoint } from './train.js';
import { groupName } from './views.js';

/** Values of one 3×32×32 image: what the CNN encoder reads. */
export const IMAGE_VALUES = 3 * 32 * 32;

/** The test draws every seed scores (the plan refuses n + test beyond the dataset). */
export const CONTRASTIVE_TEST_DRAWS: ExtraDraws = { name: 'test draws', required: true, flag: '--test' };

export interface ContrastiveSettings {
  /** The views: modalities, 0-based, at least two. */
  views: readonly number[];
  encoder: 'auto' | EncoderKind;
  /** What an MLP encoder sees: pixels, latents, pca<k>, latents:pca<k>. A CNN reads pixels (or latents) as they are. */
  features: string;
  /** Training draws per seed (validation included). */
  n: number;
  /** Held-out draws per seed, scored. */
  test: number;
  seeds: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  temperature: number;
  patience: number;
  representation: number;
  projection: number;
  hidden: number;
  layers: number;
  channels: readonly number[];
  backend?: string;
}

/** What the dataset must offer a plan (a BenchDataset has it all). */
type DatasetShape = Pick<BenchDataset, 'nMod' | 'modDim' | 'count' | 'hasNoise' | 'source'>;

export interface PointPlan {
  encoder: EncoderKind;
  spec: FeatureSpec;
  /** 'cnn' or 'mlp:<features>'. */
  encoderLabel: string;
  /** Training draws kept for early stopping (whole batches). */
  validation: number;
  layout: DrawLayout;
}

/** Validation draws: about a tenth of n in whole batches of K (at least one), none without early stopping. */
export function validationDraws(n: number, batchSize: number, patience: number): number {
  return patience > 0 ? batchSize * Math.max(1, Math.round((0.1 * n) / batchSize)) : 0;
}

/** Checks the settings against the settings' own rules (no dataset needed). */
export function checkSettings(s: ContrastiveSettings): void {
  if (s.views.length < 2) throw new InputError(`--views: contrastive learning needs at least two views, got ${s.views.length}`);
  const int = (v: number, min: number, flag: string) => {
    if (!(Number.isInteger(v) && v >= min)) throw new InputError(`${flag} ${v}: an integer ≥ ${min} is needed`);
  };
  int(s.seeds, 1, '--seeds');
  int(s.epochs, 1, '--epochs');
  int(s.batchSize, 2, '--batch');
  int(s.representation, 1, '--representation');
  int(s.projection, 1, '--projection');
  int(s.hidden, 1, '--hidden');
  int(s.layers, 0, '--layers');
  int(s.patience, 0, '--patience');
  int(s.test, 10, '--test');
  if (!(s.temperature > 0 && Number.isFinite(s.temperature))) throw new InputError(`--temperature ${s.temperature}: a positive number is needed`);
  if (!(s.learningRate > 0 && Number.isFinite(s.learningRate))) throw new InputError(`--lr ${s.learningRate}: a positive number is needed`);
  if (s.channels.length < 1 || s.channels.length > 5 || !s.channels.every((c) => Number.isInteger(c) && c >= 1))
    throw new InputError(`--channels ${s.channels.join(',')}: 1 to 5 positive integers (each a stride-2 convolution of the 32×32 images)`);
  const validation = validationDraws(s.n, s.batchSize, s.patience);
  if (!(Number.isInteger(s.n) && s.n - validation >= s.batchSize && s.n >= 10))
    throw new InputError(
      `--n ${s.n}: with --batch ${s.batchSize}${validation ? ` and ${validation} validation draws for early stopping` : ''} it leaves ` +
        `${s.n - validation} to train on, fewer than one batch (and at least 10 are needed); raise --n, lower --batch${validation ? ' or set --patience 0' : ''}`,
    );
  parseFeatures(s.features);
}

/** Checks the settings against one dataset; refuses (InputError) whatever could not run, before any draw is read. */
export function planPoint(data: DatasetShape, s: ContrastiveSettings): PointPlan {
  checkSettings(s);
  const outside = s.views.filter((v) => v >= data.nMod);
  if (outside.length) throw new InputError(`--views: ${data.source} has ${data.nMod} modalities (X1 … X${data.nMod}); there is no X${outside[0] + 1}`);
  if (!data.hasNoise) throw new InputError(`${data.source}: the shards do not store the exact latents (Noise), which the exact PMI is computed from`);
  const spec = parseFeatures(s.features);
  const image = data.modDim === IMAGE_VALUES && spec.pca === null;
  const encoder: EncoderKind = s.encoder === 'auto' ? (image ? 'cnn' : 'mlp') : s.encoder;
  if (encoder === 'cnn' && !image)
    throw new InputError(
      spec.pca !== null
        ? `--encoder cnn reads the images as they are; --features ${spec.text} is for --encoder mlp`
        : `--encoder cnn reads 3×32×32 images (${IMAGE_VALUES} values); ${data.source} has ${data.modDim} values per modality: use --encoder mlp`,
    );
  if (spec.pca !== null && spec.pca > data.modDim)
    throw new InputError(`--features ${spec.text}: ${spec.pca} components of one modality of ${data.modDim} values; use at most pca${data.modDim}`);
  if (spec.pca !== null && spec.pca >= s.n) throw new InputError(`--features ${spec.text}: ${spec.pca} components need more than --n ${s.n} draws to fit`);
  if (s.n + s.test > data.count) throw new InputError(`--n ${s.n} and --test ${s.test} need ${s.n + s.test} draws; ${data.source} has ${data.count}`);
  const layout = drawLayout(data.count, s.seeds, [s.n], s.test, data.source, CONTRASTIVE_TEST_DRAWS);
  return { encoder, spec, encoderLabel: encoder === 'cnn' ? 'cnn' : `mlp:${spec.text}`, validation: validationDraws(s.n, s.batchSize, s.patience), layout };
}

/** The grid's axis at this point: the exact MI of a query on the dataset's own structure. */
export interface GridQuery {
  a: Group;
  b: Group;
  c: Group;
}

export interface PointHooks {
  progress?: Progress;
  /** A line for the log file alone (training curves). */
  log?: (line: string) => void;
}

const X = (i: number): Group => ({ mods: [i], theta: false });

/** Trains and scores every seed of one grid point (see the module notes). */
export async function runPoint(data: BenchDataset, point: string, query: GridQuery, s: ContrastiveSettings, hooks: PointHooks = {}): Promise<PointResult> {
  const plan = planPoint(data, s);
  const log = hooks.log ?? (() => {});
  const notes = [...plan.layout.notes];
  if (!data.miExactInImages)
    notes.push(
      `note: ${data.source}: the images do not keep the MI exactly (a quantising scaling); the exact PMI and the Bayes bound are those of the latents`,
    );
  await ensureTrainingBackend(s.backend, log);
  const { views } = s;
  const structure = data.structure;
  const gridMi = mutualInformationOf(data, query);
  const latents = await loadPool(data, plan.layout.poolCount, views, 'latents');
  const inputsPool = plan.spec.source === 'latents' ? latents : await loadPool(data, plan.layout.poolCount, views, 'pixels');
  const pairs = viewPairs(views.length).map(([a, b]) => ({ a, b, label: pairLabel(X(views[a]), X(views[b]), { mods: [], theta: false }) }));
  const pairMi = pairs.map((p) => mutualInformation(structure, X(views[p.a]), X(views[p.b])));
  const subsets = [...views.map((v) => [v]), [...views]];
  const result: PointResult = { pmi: [], probe: [], scatter: [], notes };
  for (let seed = 0; seed < s.seeds; seed++) {
    const t0 = performance.now();
    const { rows: trainRows, fitRows: testRows } = seedDraws(plan.layout, s.n, seed, s.test);
    const fields: PointFields = {
      point,
      dataset: data.name,
      map: data.map,
      gridMi,
      gridQuery: pairLabel(query.a, query.b, query.c),
      encoder: plan.encoderLabel,
      n: s.n,
      test: s.test,
      seed,
    };
    // inputs per view: features of the training draws (PCA fitted on them), the same map for the test draws
    const cache: PcaCache = { drawsKey: `${seed}`, fits: new Map() };
    const groupSize = plan.encoder === 'cnn' ? 1024 : 1;
    const order = permutation(s.n, mulberry32((seed ^ 0x5a11da7e) >>> 0));
    const validationIdx = order.slice(0, plan.validation);
    const fitIdx = order.slice(plan.validation);
    const train: Float32Array[] = [];
    const test: Float32Array[] = [];
    const dims: number[] = [];
    for (const v of views) {
      const group = { mods: [v], theta: false };
      const tr = sideFeatures(inputsPool, group, plan.spec, trainRows, trainRows, cache);
      const te = sideFeatures(inputsPool, group, plan.spec, testRows, trainRows, cache);
      const scaling = fitInputScaling(tr.values, tr.dim, fitIdx, groupSize);
      train.push(scaleInputs(scaling, tr.values));
      test.push(scaleInputs(scaling, te.values));
      dims.push(tr.dim);
    }
    const net = makeNetwork({ ...s, inputDims: dims, encoder: plan.encoder, seed });
    try {
      log(`${point} seed ${seed}: ${net.description}`);
      const trained = trainNetwork(net, { values: train, dims }, fitIdx, validationIdx, { ...s, seed }, (p: EpochPoint) =>
        log(`${point} seed ${seed}: epoch ${JSON.stringify(p)}`),
      );
      const z = views.map((_, v) => encodeAll(net, v, test[v], dims[v], 'project'));
      const hTrain = views.map((_, v) => encodeAll(net, v, train[v], dims[v], 'represent'));
      const hTest = views.map((_, v) => encodeAll(net, v, test[v], dims[v], 'represent'));
      const scoringStart = performance.now();
      const thetaTrain = Float64Array.from(trainRows, (r) => latents.theta[r]);
      const thetaTest = Float64Array.from(testRows, (r) => latents.theta[r]);
      const pmiRows: ContrastivePmiRow[] = pairs.map((p, k) => {
        const pmi = pairwisePmi(structure, latents.images, testRows, [views[p.a]], [views[p.b]]);
        const sc = similarityScores(z[p.a].data, z[p.b].data, s.test, z[p.a].width, s.temperature);
        if (seed === 0)
          result.scatter.push({ label: pairs.length === 1 ? point : `${point} · ${p.label}`, pmi: [...pmi], score: [...sc.cosine] } satisfies PmiScatter);
        return {
          ...fields,
          pair: p.label,
          pairMi: pairMi[k],
          meanPmi: pmi.reduce((acc, v) => acc + v, 0) / pmi.length,
          pearsonCosine: pearson(sc.cosine, pmi),
          spearmanCosine: spearman(sc.cosine, pmi),
          pearsonNormalised: pearson(sc.normalised, pmi),
          spearmanNormalised: spearman(sc.normalised, pmi),
          infonce: sc.infonce,
          epochs: trained.epochs,
          keptEpoch: trained.keptEpoch,
          seconds: 0,
        };
      });
      const probeRows: ContrastiveProbeRow[] = subsets.map((mods) => {
        const parts = mods.map((m) => views.indexOf(m));
        const tr = concatenateRows(
          parts.map((v) => hTrain[v]),
          s.n,
        );
        const te = concatenateRows(
          parts.map((v) => hTest[v]),
          s.test,
        );
        const probe = linearProbe(structure, mods, { x: tr.data, p: tr.width, theta: thetaTrain }, { x: te.data, p: te.width, theta: thetaTest });
        return {
          ...fields,
          subset: groupName(mods),
          miTheta: probe.bayes.mi,
          testMse: probe.mse,
          r2: probe.r2,
          r2StandardError: probe.r2StandardError,
          bayesMse: probe.bayes.mse,
          bayesR2: probe.bayes.r2,
          seconds: 0,
        };
      });
      const seconds = (performance.now() - t0) / 1000;
      for (const r of [...pmiRows, ...probeRows]) r.seconds = seconds;
      result.pmi.push(...pmiRows);
      result.probe.push(...probeRows);
      const summary = pmiRows.map((r) => `${r.pair}: Pearson ${r.pearsonCosine.toFixed(3)}, Spearman ${r.spearmanCosine.toFixed(3)}`).join('; ');
      const probes = probeRows.map((r) => `${r.subset}: R² ${r.r2.toFixed(3)} (Bayes ${r.bayesR2.toFixed(3)})`).join('; ');
      hooks.progress?.log(
        `${point} seed ${seed}: ${trained.epochs} epochs (kept ${trained.keptEpoch}), ${seconds.toFixed(1)} s; cosine vs PMI ${summary}; probe ${probes}`,
      );
      log(`${point} seed ${seed}: scored in ${((performance.now() - scoringStart) / 1000).toFixed(2)} s`);
    } finally {
      net.dispose();
    }
    hooks.progress?.tick();
  }
  return result;
}

/** The exact MI of the grid's query on the dataset's own structure; an InputError when it is not defined. */
export function mutualInformationOf(data: Pick<BenchDataset, 'structure' | 'source'>, q: GridQuery): number {
  const label = pairLabel(q.a, q.b, q.c);
  let v: number;
  try {
    v = conditionalMutualInformation(data.structure, q.a, q.b, q.c);
  } catch (e) {
    throw new InputError(`${label} on ${data.source}: ${(e as Error).message}`, { cause: e });
  }
  if (!Number.isFinite(v)) throw new InputError(`${label} on ${data.source} is infinite (a deterministic relation): no grid axis`);
  return v;
}
