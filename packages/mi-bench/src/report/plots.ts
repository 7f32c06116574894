/**
 * The harness's figures as Vega-Lite specifications, rendered by the project's figure pipeline
 * (packages/dataset-generation/src/figures/plot.ts). Builders are separate from writers so tests
 * can check what is drawn (the identity line lies on y = x, the Bayes curve on 1 − exp(−2I))
 * without parsing SVG.
 *
 * Every reference line is data of the one top-level data set, tagged by `kind` and picked by a
 * filter in its layer: that way it repeats in every facet panel, which layer-local data would not.
 */
import { InputError } from '@mmmi/cli-kit';
import { figures } from '@mmmi/dataset-generation';
import type { EstimateRow, RegressRow } from '../results.js';
import { writeFigureFiles, type FigureFiles } from './files.js';
import { fixed } from './format.js';
import { pearson, spearman } from './stats.js';
import { summariseEstimates, summariseRegressions, type EstimateSummary, type RegressSummary } from './tables.js';

/** A spec ready for `vegaLiteToSvg`, and the numbers behind it (written as the figure's CSV). */
export interface FigureSpec {
  spec: Record<string, unknown>;
  /** CSV columns of `table`. */
  columns: string[];
  table: Record<string, unknown>[];
}

/** Which sample size a scatter shows: the largest of each series (default), one n, or a panel per n. */
export type NChoice = 'largest' | 'all' | number;

type Datum = Record<string, unknown> & { kind: string; panel: string };

const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d', '#ff9da6', '#79706e'];

function firstSeen(values: readonly string[]): string[] {
  return [...new Set(values)];
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * What a marker's shape tells apart: the features when the maps are one, the map when the
 * features are one, both when both vary (a legend of a single entry says nothing).
 */
function markerOf<S extends { features: string; map: string }>(summary: readonly S[]): { title: string; of: (s: S) => string } {
  const features = new Set(summary.map((s) => s.features)).size > 1;
  const maps = new Set(summary.map((s) => s.map)).size > 1;
  if (features && maps) return { title: 'features · map', of: (s) => `${s.features} · ${s.map}` };
  if (maps) return { title: 'map', of: (s) => s.map };
  return { title: 'features', of: (s) => s.features };
}

/** The run in a line: dataset and map when they are one value, else nothing (they are in the legend or panels). */
function runLine<S extends { dataset: string; map: string }>(summary: readonly S[]): string[] {
  const parts: string[] = [];
  const ds = new Set(summary.map((s) => s.dataset));
  const maps = new Set(summary.map((s) => s.map));
  if (ds.size === 1) parts.push(`dataset ${summary[0].dataset}`);
  if (maps.size === 1) parts.push(`map ${summary[0].map}`);
  return parts;
}

/** Keep the rows of the chosen sample size(s); the panel names the n when there are several. */
function selectN<S extends { n: number; dataset: string }>(
  summary: readonly S[],
  choice: NChoice,
  series: (s: S) => string,
): { rows: S[]; panel: (s: S) => string; nNote: string } {
  const datasets = new Set(summary.map((s) => s.dataset)).size > 1;
  const ns = [...new Set(summary.map((s) => s.n))].sort((a, b) => a - b);
  const withDataset = (s: S, p: string) => (datasets ? (p ? `${s.dataset} · ${p}` : s.dataset) : p);
  if (choice === 'all') return { rows: [...summary], panel: (s) => withDataset(s, `n = ${s.n}`), nNote: ns.length === 1 ? `n = ${ns[0]}` : '' };
  if (typeof choice === 'number') {
    const rows = summary.filter((s) => s.n === choice);
    if (rows.length === 0) throw new InputError(`no rows with n = ${choice} to plot (the run has n = ${ns.join(', ')})`);
    return { rows, panel: (s) => withDataset(s, ''), nNote: `n = ${choice}` };
  }
  const largest = new Map<string, number>();
  for (const s of summary) largest.set(series(s), Math.max(largest.get(series(s)) ?? -Infinity, s.n));
  const rows = summary.filter((s) => s.n === largest.get(series(s)));
  const chosen = new Set(rows.map((s) => s.n));
  return { rows, panel: (s) => withDataset(s, ''), nNote: chosen.size === 1 ? `n = ${rows[0].n}` : 'largest n of each' };
}

interface PanelOptions {
  /** Panels across before wrapping (default 3). */
  columns?: number;
  /** Scales of their own per panel (values of very different size in different panels). */
  independent?: ('x' | 'y')[];
}

/** A single chart, or the same layers in one panel per `panel` value. */
function panelled(
  values: Datum[],
  layer: Record<string, unknown>[],
  size: { width: number; height: number },
  title: Record<string, unknown>,
  opts: PanelOptions = {},
): Record<string, unknown> {
  const panels = firstSeen(values.map((v) => v.panel));
  if (panels.length <= 1) return { title, data: { values }, ...size, layer };
  const scale = Object.fromEntries((opts.independent ?? []).map((c) => [c, 'independent']));
  return {
    title,
    data: { values },
    // labelLimit 0: headless vega only estimates text widths, and truncated the correlations at the default
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels, header: { labelFontSize: 13, labelLimit: 0 } },
    columns: Math.min(opts.columns ?? 3, panels.length),
    spec: { ...size, layer },
    // axes in every panel: a shared axis only at the grid's edge leaves wrapped panels without a scale
    resolve: { axis: { x: 'independent', y: 'independent' }, scale },
  };
}

/**
 * Pixel offsets (`dx`) that set points sharing one x side by side, so overlapping markers and
 * error bars stay visible. Each series keeps one slot everywhere (ksg always leftmost, say);
 * the whole spread is at most `maxWidth` pixels, and the subtitle says the points are shifted.
 * Returns whether anything moved (one series: nothing to set apart).
 */
function dodge(points: Datum[], series: (p: Datum) => string, maxWidth = 20, maxStep = 5): boolean {
  const order = firstSeen(points.map(series));
  const step = Math.min(maxStep, maxWidth / Math.max(1, order.length - 1));
  for (const p of points) p.dx = (order.indexOf(series(p)) - (order.length - 1) / 2) * step;
  return order.length > 1;
}

const DODGED = { xOffset: { expr: 'datum.dx' } };

const only = (kind: string, more = '') => ({ filter: `datum.kind === '${kind}'${more}` });

/** Padded [lo, hi] covering `xs` (and 0 when asked, so a scale starts at zero MI). */
function paddedDomain(xs: readonly number[], includeZero: boolean, pad = 0.05): [number, number] {
  let lo = includeZero ? 0 : Infinity;
  let hi = includeZero ? 0 : -Infinity;
  for (const x of xs) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const span = hi - lo || Math.max(Math.abs(hi), 1) * 0.1;
  return [lo - (lo === 0 && includeZero ? 0 : pad * span), hi + pad * span];
}

export interface EstimateVsTruthOptions {
  /** default 'largest': each (pair, estimator, features) at its largest n. */
  n?: NChoice;
}

/**
 * Mean estimate against the exact MI, one point per (pair, estimator, features): colour the
 * estimator, shape the features (or map), bars ±1 sd over seeds, the dashed diagonal y = x
 * where a perfect estimator lies. Both axes share one domain so the diagonal is at 45°.
 */
/** Above this many nats on either axis, the estimate-vs-truth axes are symmetric-log. */
export const SYMLOG_ABOVE = 50;
const SYMLOG_TICKS = [-10, -5, -2, -1, 0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];

export function estimateVsTruthSpec(rows: readonly EstimateRow[], opts: EstimateVsTruthOptions = {}): FigureSpec {
  const summary = summariseEstimates(rows);
  const marker = markerOf(summary);
  const series = (s: EstimateSummary) => JSON.stringify([s.dataset, s.map, s.pair, s.estimator, s.features]);
  const { rows: chosen, panel, nNote } = selectN(summary, opts.n ?? 'largest', series);
  const shown = chosen.filter((s) => isFiniteNumber(s.truth) && isFiniteNumber(s.meanEstimate));
  if (shown.length === 0) throw new InputError('no estimate with a finite truth and a finite mean estimate to plot');
  const points: Datum[] = shown.map((s) => ({
    kind: 'point',
    panel: panel(s),
    dataset: s.dataset,
    map: s.map,
    pair: s.pair,
    estimator: s.estimator,
    features: s.features,
    marker: marker.of(s),
    n: s.n,
    seeds: s.seeds,
    truth: s.truth,
    estimate: s.meanEstimate,
    sd: s.sdEstimate,
    ...(s.sdEstimate !== null && Number.isFinite(s.sdEstimate) ? { lo: s.meanEstimate - s.sdEstimate, hi: s.meanEstimate + s.sdEstimate } : {}),
  }));
  const dodged = dodge(points, (p) => `${p.estimator as string}\u0000${p.marker as string}`);
  const domain = paddedDomain(
    points.flatMap((p) => [p.truth as number, p.estimate as number, ...(p.lo === undefined ? [] : [p.lo as number, p.hi as number])]),
    true,
  );
  const panels = firstSeen(points.map((p) => p.panel));
  const identity: Datum[] = panels.flatMap((panel) => domain.map((v) => ({ kind: 'identity', panel, truth: v, estimate: v })));
  const estimators = firstSeen(points.map((p) => p.estimator as string));
  // Fig. 6's I(X_1; X_i) reach thousands of nats beside I(θ; X_i) of a few: on linear axes every
  // small value sits in one corner; a symmetric log scale keeps y = x straight and zero in view
  const wide = domain[1] > SYMLOG_ABOVE;
  const scale = { domain, nice: false, zero: false, ...(wide ? { type: 'symlog', constant: 1 } : {}) };
  // vega's own symlog ticks skip the few-nat range where most pairs lie: 1-2-5 ticks per decade instead
  const axis = wide ? { axis: { values: SYMLOG_TICKS.filter((t) => t >= domain[0] && t <= domain[1]), format: 'd' } } : {};
  const x = { field: 'truth', type: 'quantitative', title: `exact MI  [nats${wide ? ', symlog' : ''}]`, scale, ...axis };
  const y = (field: string) => ({ field, type: 'quantitative', title: `estimate  [nats${wide ? ', symlog' : ''}]`, scale, ...axis });
  const color = { field: 'estimator', type: 'nominal', title: 'estimator', scale: { domain: estimators, range: PALETTE } };
  const skipped = chosen.length - shown.length;
  const subtitle = [
    [...runLine(summary), nNote].filter(Boolean).join(' · '),
    'mean over seeds, bars ±1 sd; dashed: estimate = truth',
    [dodged ? 'points at one truth set a few pixels apart' : '', skipped ? `${skipped} not finite, not drawn` : ''].filter(Boolean).join('; '),
  ].filter(Boolean);
  const layer = [
    { transform: [only('identity')], mark: { type: 'line', color: '#777', strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { x, y: y('estimate') } },
    {
      transform: [only('point', ' && isValid(datum.lo)')],
      mark: { type: 'rule', strokeWidth: 1.6, opacity: 0.8, ...DODGED },
      encoding: { x, y: y('lo'), y2: { field: 'hi' }, color },
    },
    {
      transform: [only('point')],
      mark: { type: 'point', filled: true, size: 80, opacity: 0.9, stroke: 'white', strokeWidth: 0.6, ...DODGED },
      encoding: { x, y: y('estimate'), color, shape: { field: 'marker', type: 'nominal', title: marker.title } },
    },
  ];
  const spec = panelled([...identity, ...points], layer, { width: 340, height: 340 }, { text: 'MI estimate vs exact MI', subtitle });
  const columns = ['dataset', 'map', 'pair', 'estimator', 'features', 'n', 'seeds', 'truth', 'estimate', 'sd'];
  return { spec, columns, table: points };
}

export interface ErrorVsNOptions {
  /** 'bias' (default): mean bias ± sd with a zero line; 'absBias': |mean bias| on a log axis. */
  y?: 'bias' | 'absBias';
}

/** Bias against n (log axis), one line per estimator (dash: features or map), one panel per pair. */
export function errorVsNSpec(rows: readonly EstimateRow[], opts: ErrorVsNOptions = {}): FigureSpec {
  const summary = summariseEstimates(rows);
  const abs = opts.y === 'absBias';
  const marker = markerOf(summary);
  const datasets = new Set(summary.map((s) => s.dataset)).size > 1;
  const maps = new Set(summary.map((s) => s.map)).size > 1;
  const panelOf = (s: EstimateSummary) =>
    [datasets ? s.dataset : '', `${s.pair} = ${fixed(s.truth)} nats`, maps && marker.title === 'features' ? s.map : ''].filter(Boolean).join(' · ');
  const value = (s: EstimateSummary) => (abs ? Math.abs(s.meanBias) : s.meanBias);
  const shown = summary.filter((s) => isFiniteNumber(value(s)) && (!abs || value(s) > 0));
  if (shown.length === 0) throw new InputError(`no finite ${abs ? 'nonzero |bias|' : 'bias'} to plot`);
  const points: Datum[] = shown.map((s) => ({
    kind: 'point',
    panel: panelOf(s),
    dataset: s.dataset,
    map: s.map,
    pair: s.pair,
    truth: s.truth,
    estimator: s.estimator,
    features: s.features,
    marker: marker.of(s),
    series: `${s.estimator} · ${marker.of(s)}`,
    n: s.n,
    seeds: s.seeds,
    bias: s.meanBias,
    sd: s.sdEstimate,
    value: value(s),
    ...(!abs && s.sdEstimate !== null && Number.isFinite(s.sdEstimate) ? { lo: s.meanBias - s.sdEstimate, hi: s.meanBias + s.sdEstimate } : {}),
  }));
  dodge(points, (p) => p.series as string, 20, 4);
  const panels = firstSeen(points.map((p) => p.panel));
  const zero: Datum[] = abs ? [] : panels.map((panel) => ({ kind: 'zero', panel, value: 0 }));
  const estimators = firstSeen(points.map((p) => p.estimator as string));
  const multipleMarkers = new Set(points.map((p) => p.marker)).size > 1;
  const x = { field: 'n', type: 'quantitative', title: 'n  (samples, log scale)', scale: { type: 'log', nice: false, padding: 16 }, axis: { tickCount: 5 } };
  const yTitle = abs ? '|mean bias|  [nats]' : 'bias  [nats]';
  const y = (field: string) => ({ field, type: 'quantitative', title: yTitle, scale: abs ? { type: 'log' } : { zero: true } });
  const color = { field: 'estimator', type: 'nominal', title: 'estimator', scale: { domain: estimators, range: PALETTE } };
  const dash = multipleMarkers ? { strokeDash: { field: 'marker', type: 'nominal', title: marker.title } } : {};
  const shape = multipleMarkers ? { shape: { field: 'marker', type: 'nominal', title: marker.title } } : {};
  const layer: Record<string, unknown>[] = [
    ...(abs ? [] : [{ transform: [only('zero')], mark: { type: 'rule', color: '#777', strokeDash: [6, 4] }, encoding: { y: y('value') } }]),
    ...(abs
      ? []
      : [
          {
            transform: [only('point', ' && isValid(datum.lo)')],
            mark: { type: 'rule', strokeWidth: 1.4, opacity: 0.7, ...DODGED },
            encoding: { x, y: y('lo'), y2: { field: 'hi' }, color },
          },
        ]),
    {
      transform: [only('point')],
      mark: { type: 'line', strokeWidth: 2, ...DODGED },
      encoding: { x, y: y('value'), color, detail: { field: 'series' }, ...dash, order: { field: 'n' } },
    },
    // the markers as a layer of their own: a line's `point` overlay would not take the offset
    {
      transform: [only('point')],
      mark: { type: 'point', filled: true, size: 50, opacity: 1, ...DODGED },
      encoding: { x, y: y('value'), color, ...shape },
    },
  ];
  const subtitle = [
    runLine(summary).join(' · '),
    abs ? '|mean estimate − truth|, mean over seeds' : 'bias = estimate − truth, mean over seeds, bars ±1 sd; dashed: no bias',
  ].filter(Boolean);
  const title = { text: abs ? 'MI estimation error vs sample size' : 'MI estimation bias vs sample size', subtitle };
  const spec = panelled([...zero, ...points], layer, { width: 300, height: 220 }, title, { independent: ['y'] });
  const columns = ['dataset', 'map', 'pair', 'truth', 'estimator', 'features', 'n', 'seeds', 'bias', 'sd'];
  return { spec, columns, table: points };
}

/** Points on the Bayes bound R² = 1 − exp(−2I), I from 0 to `hi` (expm1: exact near I = 0). */
export function bayesCurve(hi: number, count = 121): { mi: number; r2: number }[] {
  return Array.from({ length: count }, (_, i) => {
    const mi = (hi * i) / (count - 1);
    return { mi, r2: -Math.expm1(-2 * mi) };
  });
}

export interface RegressionOptions {
  /** default 'largest': each (subset, model, features) at its largest n. */
  n?: NChoice;
  /**
   * 'r2' (default): test R² on a linear axis, under 1 − exp(−2I). 'unexplained': 1 − R² on a
   * log axis, above exp(−2I), a straight line of slope −2 per nat: at a few nats every R² is
   * within 0.01 of 1 and only this view shows how far each model is from the bound.
   */
  y?: 'r2' | 'unexplained';
}

/** Test R² of each model against I(X_S; θ), under the Bayes bound drawn as a curve over the I range. */
export function regressionSpec(rows: readonly RegressRow[], opts: RegressionOptions = {}): FigureSpec {
  const summary = summariseRegressions(rows);
  const marker = markerOf(summary);
  const series = (s: RegressSummary) => JSON.stringify([s.dataset, s.map, s.subset, s.model, s.features]);
  const { rows: chosen, panel, nNote } = selectN(summary, opts.n ?? 'largest', series);
  const shown = chosen.filter((s) => isFiniteNumber(s.mi) && isFiniteNumber(s.meanR2));
  if (shown.length === 0) throw new InputError('no regression with a finite I(X_S; θ) and a finite R² to plot');
  const points: Datum[] = shown.map((s) => ({
    kind: 'point',
    panel: panel(s),
    dataset: s.dataset,
    map: s.map,
    subset: s.subset,
    model: s.model,
    features: s.features,
    marker: marker.of(s),
    n: s.n,
    seeds: s.seeds,
    mi: s.mi,
    r2: s.meanR2,
    sd: s.sdR2,
    bayesR2: s.bayesR2,
    ...(s.sdR2 !== null && Number.isFinite(s.sdR2) ? { lo: s.meanR2 - s.sdR2, hi: s.meanR2 + s.sdR2 } : {}),
  }));
  const unexplained = opts.y === 'unexplained';
  if (unexplained) {
    // 1 − R² replaces R² (the bars flip: 1 − hi is the low end); a log axis needs it positive
    for (const p of points) {
      p.r2 = 1 - (p.r2 as number);
      if (p.lo !== undefined) [p.lo, p.hi] = [Math.max(1 - (p.hi as number), Number.MIN_VALUE), 1 - (p.lo as number)];
      p.bayesR2 = 1 - (p.bayesR2 as number);
    }
  }
  const dodged = dodge(points, (p) => `${p.model as string}\u0000${p.marker as string}`);
  const [, miHi] = paddedDomain(
    points.map((p) => p.mi as number),
    true,
    0.08,
  );
  const panels = firstSeen(points.map((p) => p.panel));
  const curve: Datum[] = panels.flatMap((panel) =>
    bayesCurve(miHi).map((c) => ({ kind: 'bayes', panel, mi: c.mi, r2: unexplained ? Math.exp(-2 * c.mi) : c.r2 })),
  );
  // One label per subset, above the curve and the subset's highest bar: which modalities a column of points used.
  const labels = new Map<string, Datum>();
  for (const p of points) {
    const id = `${p.panel}\u0000${p.subset as string}`;
    const top = Math.max(p.bayesR2 as number, (p.hi as number | undefined) ?? (p.r2 as number));
    const l = labels.get(id);
    if (!l) labels.set(id, { kind: 'label', panel: p.panel, mi: p.mi, r2: top, subset: p.subset });
    else l.r2 = Math.max(l.r2 as number, top);
  }
  // R² may be negative (a model worse than the mean): then the axis goes below 0, with room under the lowest bar
  const lowest = Math.min(0, ...points.map((p) => (p.lo as number | undefined) ?? (p.r2 as number)));
  const yLo = lowest < 0 ? lowest - 0.04 * (1 - lowest) : 0;
  const x = { field: 'mi', type: 'quantitative', title: 'I(X_S; θ)  [nats]', scale: { domain: [0, miHi], nice: false } };
  const positive = [...points.flatMap((p) => [p.r2 as number, (p.lo as number | undefined) ?? Infinity]), ...curve.map((c) => c.r2 as number)].filter(
    (v) => v > 0,
  );
  const y = (field: string) =>
    unexplained
      ? { field, type: 'quantitative', title: '1 − test R²  (log)', scale: { type: 'log', domain: [Math.min(...positive) / 1.5, 1.5], nice: false } }
      : { field, type: 'quantitative', title: 'test R²', scale: { domain: [yLo, 1.08], nice: false } };
  const models = firstSeen(points.map((p) => p.model as string));
  const color = { field: 'model', type: 'nominal', title: 'model', scale: { domain: models, range: PALETTE } };
  const layer = [
    { transform: [only('bayes')], mark: { type: 'line', color: '#222', strokeWidth: 1.8 }, encoding: { x, y: y('r2'), order: { field: 'mi' } } },
    {
      transform: [only('label')],
      mark: { type: 'text', fontSize: 10, color: '#555', dy: -12 },
      encoding: { x, y: y('r2'), text: { field: 'subset' } },
    },
    {
      transform: [only('point', ' && isValid(datum.lo)')],
      mark: { type: 'rule', strokeWidth: 1.6, opacity: 0.8, ...DODGED },
      encoding: { x, y: y('lo'), y2: { field: 'hi' }, color },
    },
    {
      transform: [only('point')],
      mark: { type: 'point', filled: true, size: 80, opacity: 0.9, stroke: 'white', strokeWidth: 0.6, ...DODGED },
      encoding: { x, y: y('r2'), color, shape: { field: 'marker', type: 'nominal', title: marker.title } },
    },
  ];
  const subtitle = [
    [...runLine(summary), nNote].filter(Boolean).join(' · '),
    unexplained ? 'mean over seeds, bars ±1 sd; line: Bayes bound 1 − R² = exp(−2I)' : 'mean over seeds, bars ±1 sd; line: Bayes bound R² = 1 − exp(−2I)',
    dodged ? 'points at one I set a few pixels apart' : '',
  ].filter(Boolean);
  const spec = panelled(
    [...curve, ...labels.values(), ...points],
    layer,
    { width: 400, height: 300 },
    { text: unexplained ? 'Regression of θ: unexplained variance vs I(X_S; θ)' : 'Regression of θ: test R² vs I(X_S; θ)', subtitle },
  );
  const columns = ['kind', 'dataset', 'map', 'subset', 'model', 'features', 'n', 'seeds', 'mi', 'r2', 'sd', 'bayesR2'];
  return { spec, columns, table: [...points, ...curve] };
}

/** One critic's per-sample scores beside the exact per-sample PMI of the same samples. */
export interface PmiPoints {
  /** The panel's name, e.g. 'I(X_1; θ) · pixels · seed 0'. */
  label: string;
  /** Exact PMI per sample, nats. */
  pmi: ArrayLike<number>;
  /** The critic's score per sample (same order). */
  score: ArrayLike<number>;
}

export interface PmiScatterOptions {
  /**
   * Points drawn in all, split evenly between the panels and evenly spaced through each panel's
   * samples (default 2000): the SVG takes ≈300 bytes a point, and 2000 already show the cloud.
   */
  maxPoints?: number;
}

/** Per-panel correlations (over all finite samples, not only the drawn ones). */
export interface PmiScatterStats {
  label: string;
  samples: number;
  drawn: number;
  pearson: number;
  spearman: number;
}

/** Critic score against exact PMI per sample, Pearson and Spearman computed from all samples. */
export function pmiScatterSpec(sets: readonly PmiPoints[], opts: PmiScatterOptions = {}): FigureSpec & { stats: PmiScatterStats[] } {
  if (sets.length === 0) throw new InputError('no PMI samples to plot');
  const total = opts.maxPoints ?? 2000;
  if (!(Number.isInteger(total) && total > 0)) throw new InputError(`maxPoints must be a positive integer, not ${total}`);
  const cap = Math.max(1, Math.floor(total / sets.length));
  const values: Datum[] = [];
  const stats: PmiScatterStats[] = [];
  for (const set of sets) {
    if (set.pmi.length !== set.score.length)
      throw new InputError(`PMI samples of ${set.label}: ${set.pmi.length} exact PMI values but ${set.score.length} critic scores`);
    const pmi: number[] = [];
    const score: number[] = [];
    for (let i = 0; i < set.pmi.length; i++)
      if (Number.isFinite(set.pmi[i]) && Number.isFinite(set.score[i])) {
        pmi.push(set.pmi[i]);
        score.push(set.score[i]);
      }
    if (pmi.length < 2) throw new InputError(`PMI samples of ${set.label}: ${pmi.length} finite (PMI, score) pairs, at least 2 needed`);
    const drawn = Math.min(cap, pmi.length);
    const st = { label: set.label, samples: pmi.length, drawn, pearson: pearson(pmi, score), spearman: spearman(pmi, score) };
    stats.push(st);
    const panel = sets.length > 1 ? `${set.label}: r = ${fixed(st.pearson)}, ρ = ${fixed(st.spearman)}` : '';
    // Evenly spaced through the samples rather than random: the same figure on every run.
    for (let k = 0; k < drawn; k++) {
      const i = Math.floor((k * pmi.length) / drawn);
      values.push({ kind: 'point', panel, label: set.label, pmi: pmi[i], score: score[i] });
    }
  }
  const subtitle =
    sets.length === 1
      ? [
          sets[0].label,
          `Pearson r = ${fixed(stats[0].pearson)}, Spearman ρ = ${fixed(stats[0].spearman)} over ${stats[0].samples} samples` +
            (stats[0].drawn < stats[0].samples ? ` (${stats[0].drawn} drawn)` : ''),
        ]
      : ['r: Pearson, ρ: Spearman, over all samples of each panel'];
  const layer = [
    {
      transform: [only('point')],
      mark: { type: 'circle', size: 14, opacity: 0.35, color: PALETTE[0] },
      encoding: {
        x: { field: 'pmi', type: 'quantitative', title: 'exact PMI  [nats]', scale: { zero: false } },
        y: { field: 'score', type: 'quantitative', title: 'critic score', scale: { zero: false } },
      },
    },
  ];
  const spec = panelled(
    values,
    layer,
    { width: 340, height: 300 },
    { text: 'Critic score vs exact pointwise MI', subtitle },
    { columns: 2, independent: ['x', 'y'] },
  );
  return { spec, columns: ['label', 'pmi', 'score'], table: values, stats };
}

/** Render a built figure: `<dir>/<name>.{svg,png,csv}`. */
export async function writeFigureSpec(dir: string, name: string, f: FigureSpec): Promise<FigureFiles> {
  return writeFigureFiles(dir, name, f.spec, figures.toCsv(f.columns, f.table));
}
