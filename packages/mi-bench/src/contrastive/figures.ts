/**
 * The contrastive report's figures as Vega-Lite specifications (rendered by the project's
 * figure pipeline through report/files.ts), each with the table of numbers it draws:
 *
 *  - correlation_vs_mi: Pearson and Spearman correlation of the learned similarity (cosine,
 *    and InfoNCE-normalised) with the exact PMI, against the grid's MI; mean ± sd over seeds.
 *  - probe_r2_vs_mi: the probe's test R² against I(θ; X_S), under the Bayes bound
 *    R² = 1 − exp(−2I) drawn as a curve: no predictor of θ from X_S does better on average.
 *  - probe_r2_along_grid: the same R² and the Bayes R² of each point (dashed) against the grid's MI.
 *  - similarity_vs_pmi: cosine similarity against exact PMI per test draw (seed 0), a panel per
 *    grid point and pair (report/plots.ts's scatter, retitled).
 */
import { InputError } from '@mmmi/cli-kit';
import { bayesCurve, pmiScatterSpec, type FigureSpec } from '../report/index.js';
import type { ContrastivePmiRow, ContrastiveProbeRow, PmiScatter } from './rows.js';
import { summarisePmiRows, summariseProbeRows, type Spread } from './tables.js';

const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d', '#ff9da6', '#79706e'];

const only = (kind: string, more = '') => ({ filter: `datum.kind === '${kind}'${more}` });

/** lo/hi of a ±1 sd bar, when there is a spread to draw. */
const bar = (s: Spread) => (s.sd !== null && Number.isFinite(s.sd) ? { lo: s.mean - s.sd, hi: s.mean + s.sd } : {});

const axisTitle = (rows: readonly { gridQuery: string }[]) => `${[...new Set(rows.map((r) => r.gridQuery))].join(' / ')} of the dataset  [nats]`;

/** The run in a line: dataset map, encoder, sizes. */
function runLine(rows: readonly { map: string; encoder: string; n: number; test: number }[]): string {
  const one = <T>(xs: T[]) => [...new Set(xs)].join(', ');
  return `map ${one(rows.map((r) => r.map))} · encoder ${one(rows.map((r) => r.encoder))} · n = ${one(rows.map((r) => r.n))}, test ${one(rows.map((r) => r.test))}`;
}

const MEASURES = [
  ['Pearson · cosine', 'pearsonCosine'],
  ['Spearman · cosine', 'spearmanCosine'],
  ['Pearson · normalised', 'pearsonNormalised'],
  ['Spearman · normalised', 'spearmanNormalised'],
] as const;

export function correlationVsMiSpec(rows: readonly ContrastivePmiRow[]): FigureSpec {
  const summary = summarisePmiRows(rows).filter((s) => Number.isFinite(s.gridMi));
  if (summary.length === 0) throw new InputError('no PMI correlation with a finite grid MI to plot');
  const pairs = new Set(summary.map((s) => s.pair)).size > 1;
  const points = summary.flatMap((s) =>
    MEASURES.map(([measure, key]) => ({
      kind: 'point',
      point: s.point,
      pair: s.pair,
      measure,
      series: pairs ? `${measure} · ${s.pair}` : measure,
      gridMi: s.gridMi,
      value: s[key].mean,
      sd: s[key].sd,
      seeds: s.seeds,
      ...bar(s[key]),
    })),
  );
  const x = { field: 'gridMi', type: 'quantitative', title: axisTitle(rows), scale: { zero: true, nice: false } };
  const lowest = Math.min(0, ...points.map((p) => (p as { lo?: number }).lo ?? p.value).filter(Number.isFinite));
  const y = (field: string) => ({
    field,
    type: 'quantitative',
    title: 'correlation with the exact PMI',
    scale: { domain: [lowest - 0.05, 1.02], nice: false },
  });
  const color = { field: 'measure', type: 'nominal', title: 'measure', scale: { domain: MEASURES.map((m) => m[0]), range: PALETTE } };
  const dash = pairs ? { strokeDash: { field: 'pair', type: 'nominal', title: 'pair' } } : {};
  const spec = {
    title: {
      text: 'Learned similarity vs exact PMI along the grid',
      subtitle: [runLine(rows), 'per test draw; mean over seeds, bars ±1 sd; cosine: the similarity, normalised: minus log mean over the test draws'],
    },
    data: { values: points },
    width: 420,
    height: 300,
    layer: [
      {
        transform: [only('point', ' && isValid(datum.lo)')],
        mark: { type: 'rule', strokeWidth: 1.4, opacity: 0.7 },
        encoding: { x, y: y('lo'), y2: { field: 'hi' }, color },
      },
      {
        transform: [only('point')],
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y: y('value'), color, detail: { field: 'series' }, ...dash, order: { field: 'gridMi' } },
      },
      { transform: [only('point')], mark: { type: 'point', filled: true, size: 55 }, encoding: { x, y: y('value'), color } },
    ],
  };
  return { spec, columns: ['point', 'pair', 'measure', 'gridMi', 'value', 'sd', 'seeds'], table: points };
}

export function probeVsMiSpec(rows: readonly ContrastiveProbeRow[]): FigureSpec {
  const summary = summariseProbeRows(rows).filter((s) => Number.isFinite(s.miTheta) && Number.isFinite(s.r2.mean));
  if (summary.length === 0) throw new InputError('no probe with a finite I(θ; X_S) and R² to plot');
  const points = summary.map((s) => ({
    kind: 'point',
    point: s.point,
    subset: s.subset,
    gridMi: s.gridMi,
    mi: s.miTheta,
    r2: s.r2.mean,
    sd: s.r2.sd,
    bayesR2: s.bayesR2,
    seeds: s.seeds,
    ...bar(s.r2),
  }));
  const hi = Math.max(...points.map((p) => p.mi)) * 1.08 || 1;
  const curve = bayesCurve(hi).map((c) => ({ kind: 'bayes', mi: c.mi, r2: c.r2 }));
  const lowest = Math.min(0, ...points.map((p) => (p as { lo?: number }).lo ?? p.r2));
  const x = { field: 'mi', type: 'quantitative', title: 'I(θ; X_S) of the views probed  [nats]', scale: { domain: [0, hi], nice: false } };
  const y = (field: string) => ({ field, type: 'quantitative', title: 'probe test R²', scale: { domain: [lowest - 0.04, 1.05], nice: false } });
  const subsets = [...new Set(points.map((p) => p.subset))];
  const color = { field: 'subset', type: 'nominal', title: 'views probed (S)', scale: { domain: subsets, range: PALETTE } };
  const spec = {
    title: {
      text: 'Linear probe of θ on the frozen representation vs the Bayes bound',
      subtitle: [runLine(rows), 'mean over seeds, bars ±1 sd; line: Bayes bound R² = 1 − exp(−2I), which no predictor of θ from X_S beats on average'],
    },
    data: { values: [...curve, ...points] },
    width: 420,
    height: 300,
    layer: [
      { transform: [only('bayes')], mark: { type: 'line', color: '#222', strokeWidth: 1.8 }, encoding: { x, y: y('r2'), order: { field: 'mi' } } },
      {
        transform: [only('point')],
        mark: { type: 'line', strokeWidth: 1, opacity: 0.5 },
        encoding: { x, y: y('r2'), color, detail: { field: 'subset' }, order: { field: 'mi' } },
      },
      {
        transform: [only('point', ' && isValid(datum.lo)')],
        mark: { type: 'rule', strokeWidth: 1.4, opacity: 0.7 },
        encoding: { x, y: y('lo'), y2: { field: 'hi' }, color },
      },
      { transform: [only('point')], mark: { type: 'point', filled: true, size: 60 }, encoding: { x, y: y('r2'), color } },
    ],
  };
  return { spec, columns: ['kind', 'point', 'subset', 'gridMi', 'mi', 'r2', 'sd', 'bayesR2', 'seeds'], table: [...points, ...curve] };
}

export function probeAlongGridSpec(rows: readonly ContrastiveProbeRow[]): FigureSpec {
  const summary = summariseProbeRows(rows).filter((s) => Number.isFinite(s.gridMi) && Number.isFinite(s.r2.mean));
  if (summary.length === 0) throw new InputError('no probe with a finite grid MI and R² to plot');
  const values = summary.flatMap((s) => [
    { kind: 'probe', what: 'probe test R²', point: s.point, subset: s.subset, gridMi: s.gridMi, r2: s.r2.mean, sd: s.r2.sd, seeds: s.seeds, ...bar(s.r2) },
    { kind: 'bayes', what: 'Bayes R²', point: s.point, subset: s.subset, gridMi: s.gridMi, r2: s.bayesR2, sd: null, seeds: s.seeds },
  ]);
  const subsets = [...new Set(values.map((p) => p.subset))];
  const lowest = Math.min(0, ...values.map((p) => (p as { lo?: number }).lo ?? p.r2));
  const x = { field: 'gridMi', type: 'quantitative', title: axisTitle(rows), scale: { zero: true, nice: false } };
  const y = (field: string) => ({ field, type: 'quantitative', title: 'R² of θ', scale: { domain: [lowest - 0.04, 1.05], nice: false } });
  const color = { field: 'subset', type: 'nominal', title: 'views probed (S)', scale: { domain: subsets, range: PALETTE } };
  const spec = {
    title: {
      text: 'Linear probe of θ along the grid',
      subtitle: [runLine(rows), 'solid: probe test R² (mean over seeds, bars ±1 sd); dashed: Bayes R² = 1 − exp(−2 I(θ; X_S)) of the same dataset'],
    },
    data: { values },
    width: 420,
    height: 300,
    layer: [
      {
        transform: [only('bayes')],
        mark: { type: 'line', strokeDash: [6, 4], strokeWidth: 1.6 },
        encoding: { x, y: y('r2'), color, detail: { field: 'subset' }, order: { field: 'gridMi' } },
      },
      { transform: [only('bayes')], mark: { type: 'point', shape: 'diamond', filled: false, size: 50 }, encoding: { x, y: y('r2'), color } },
      {
        transform: [only('probe', ' && isValid(datum.lo)')],
        mark: { type: 'rule', strokeWidth: 1.4, opacity: 0.7 },
        encoding: { x, y: y('lo'), y2: { field: 'hi' }, color },
      },
      {
        transform: [only('probe')],
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y: y('r2'), color, detail: { field: 'subset' }, order: { field: 'gridMi' } },
      },
      { transform: [only('probe')], mark: { type: 'point', filled: true, size: 55 }, encoding: { x, y: y('r2'), color } },
    ],
  };
  return { spec, columns: ['kind', 'point', 'subset', 'gridMi', 'r2', 'sd', 'seeds'], table: values };
}

/** Cosine similarity against exact PMI per test draw (seed 0 of each point and pair). */
export function similarityScatterSpec(sets: readonly PmiScatter[]): FigureSpec {
  const f = pmiScatterSpec(sets, { maxPoints: 3000 });
  const spec = f.spec as {
    title?: { subtitle?: unknown };
    spec?: { layer?: { encoding?: { y?: { title?: string } } }[] };
    layer?: { encoding?: { y?: { title?: string } } }[];
  };
  const layers = spec.layer ?? spec.spec?.layer ?? [];
  for (const l of layers) if (l.encoding?.y) l.encoding.y.title = 'cosine similarity of the two views';
  spec.title = { ...(spec.title ?? {}), text: 'Learned cosine similarity vs exact pointwise MI (test draws, seed 0)' } as typeof spec.title;
  return f;
}
