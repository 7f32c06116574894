/**
 * The harness's rows as tables: CSV and JSON with every field at full precision (for other
 * tools), and markdown aggregated over seeds (for people). The aggregation lives here, once,
 * because the markdown tables and the plots must show the same numbers.
 */
import { figures } from '@mmmi/dataset-generation';
import type { EstimateRow, PmiRow, RegressRow } from '../results.js';
import { nats, plusMinus, seconds, significant } from './format.js';
import { mean, meanOfPresent, requireRows, sampleSd, sharedValue } from './stats.js';

// Records over every field of a row type: adding a field to results.ts without adding it
// here is a type error, so the CSV can never silently drop a column.
const ESTIMATE_FIELDS: Record<keyof EstimateRow, true> = {
  dataset: true,
  map: true,
  pair: true,
  truth: true,
  estimator: true,
  features: true,
  n: true,
  seed: true,
  estimate: true,
  standardError: true,
  bias: true,
  seconds: true,
};
const REGRESS_FIELDS: Record<keyof RegressRow, true> = {
  dataset: true,
  map: true,
  subset: true,
  mi: true,
  model: true,
  features: true,
  n: true,
  seed: true,
  testMse: true,
  r2: true,
  bayesMse: true,
  bayesR2: true,
  seconds: true,
};
const PMI_FIELDS: Record<keyof PmiRow, true> = {
  dataset: true,
  map: true,
  pair: true,
  features: true,
  n: true,
  seed: true,
  pearson: true,
  spearman: true,
  meanPmi: true,
  estimate: true,
  seconds: true,
};

/** CSV columns, in the order of the row types. */
export const ESTIMATE_COLUMNS = Object.keys(ESTIMATE_FIELDS) as (keyof EstimateRow)[];
export const REGRESS_COLUMNS = Object.keys(REGRESS_FIELDS) as (keyof RegressRow)[];
export const PMI_COLUMNS = Object.keys(PMI_FIELDS) as (keyof PmiRow)[];

export function estimatesCsv(rows: readonly EstimateRow[]): string {
  requireRows(rows, 'estimates');
  return figures.toCsv(ESTIMATE_COLUMNS, rows);
}

export function regressCsv(rows: readonly RegressRow[]): string {
  requireRows(rows, 'regressions');
  return figures.toCsv(REGRESS_COLUMNS, rows);
}

export function pmiCsv(rows: readonly PmiRow[]): string {
  requireRows(rows, 'PMI rows');
  return figures.toCsv(PMI_COLUMNS, rows);
}

export type ReportKind = 'estimate' | 'regress' | 'pmi';

/**
 * Pretty JSON of the raw rows and their summary over seeds, with the command that made them
 * (the project's toJson, so infinities are written as the string "Infinity" as elsewhere).
 */
export function reportJson(kind: ReportKind, command: string, rows: readonly object[], summary: readonly object[]): string {
  requireRows(rows, `${kind} rows`);
  return figures.toJson({ report: kind, command, units: 'nats', rows, summary });
}

/**
 * Rows grouped by `keys`, groups ordered by each key's first appearance (the order the run
 * chose: pairs as the MI table lists them, estimators as asked for) and by n ascending last.
 */
function groupRows<R extends { n: number }>(rows: readonly R[], keys: readonly (keyof R)[]): R[][] {
  const groups = new Map<string, R[]>();
  const firstSeen = keys.map(() => new Map<unknown, number>());
  for (const r of rows) {
    keys.forEach((k, i) => {
      if (!firstSeen[i].has(r[k])) firstSeen[i].set(r[k], firstSeen[i].size);
    });
    const id = JSON.stringify([...keys.map((k) => r[k]), r.n]);
    const g = groups.get(id);
    if (g) g.push(r);
    else groups.set(id, [r]);
  }
  const rank = (r: R) => [...keys.map((k, i) => firstSeen[i].get(r[k]) as number), r.n];
  return [...groups.values()].sort((a, b) => {
    const ra = rank(a[0]);
    const rb = rank(b[0]);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
    return 0;
  });
}

/** One (dataset, map, pair, estimator, features, n) over its seeds. */
export interface EstimateSummary {
  dataset: string;
  map: string;
  pair: string;
  estimator: string;
  features: string;
  n: number;
  /** Rows (seeds) aggregated. */
  seeds: number;
  /** Exact MI, nats (shared by the group's rows). */
  truth: number;
  meanEstimate: number;
  /** Spread of the estimate over seeds (sample sd); null for one seed. */
  sdEstimate: number | null;
  /** Mean of the standard errors the estimator reported itself; null if it reported none. */
  meanStandardError: number | null;
  meanBias: number;
  meanSeconds: number;
}

export function summariseEstimates(rows: readonly EstimateRow[]): EstimateSummary[] {
  requireRows(rows, 'estimates');
  return groupRows(rows, ['dataset', 'map', 'pair', 'estimator', 'features']).map((g) => {
    const r = g[0];
    const est = g.map((x) => x.estimate);
    return {
      dataset: r.dataset,
      map: r.map,
      pair: r.pair,
      estimator: r.estimator,
      features: r.features,
      n: r.n,
      seeds: g.length,
      truth: sharedValue(
        g.map((x) => x.truth),
        'the exact MI',
        `${r.pair} (${r.dataset}, ${r.map})`,
      ),
      meanEstimate: mean(est),
      sdEstimate: sampleSd(est),
      meanStandardError: meanOfPresent(g.map((x) => x.standardError)),
      meanBias: mean(g.map((x) => x.bias)),
      meanSeconds: mean(g.map((x) => x.seconds)),
    };
  });
}

/** One (dataset, map, subset, model, features, n) over its seeds. */
export interface RegressSummary {
  dataset: string;
  map: string;
  subset: string;
  /** Exact I(X_S; θ), nats. */
  mi: number;
  model: string;
  features: string;
  n: number;
  seeds: number;
  meanTestMse: number;
  sdTestMse: number | null;
  meanR2: number;
  sdR2: number | null;
  /** 1 − exp(−2 I(X_S; θ)): the best R² any regressor can reach (Gaussian θ given X_S). */
  bayesR2: number;
  bayesMse: number;
  /** bayesR2 − meanR2: how far the model stays below the bound (≥ 0 up to noise). */
  gapR2: number;
  meanSeconds: number;
}

export function summariseRegressions(rows: readonly RegressRow[]): RegressSummary[] {
  requireRows(rows, 'regressions');
  return groupRows(rows, ['dataset', 'map', 'subset', 'model', 'features']).map((g) => {
    const r = g[0];
    const group = `subset ${r.subset} (${r.dataset}, ${r.map})`;
    const mse = g.map((x) => x.testMse);
    const r2 = g.map((x) => x.r2);
    const bayesR2 = sharedValue(
      g.map((x) => x.bayesR2),
      'the Bayes R²',
      group,
    );
    return {
      dataset: r.dataset,
      map: r.map,
      subset: r.subset,
      mi: sharedValue(
        g.map((x) => x.mi),
        'the exact MI',
        group,
      ),
      model: r.model,
      features: r.features,
      n: r.n,
      seeds: g.length,
      meanTestMse: mean(mse),
      sdTestMse: sampleSd(mse),
      meanR2: mean(r2),
      sdR2: sampleSd(r2),
      bayesR2,
      bayesMse: sharedValue(
        g.map((x) => x.bayesMse),
        'the Bayes MSE',
        group,
      ),
      gapR2: bayesR2 - mean(r2),
      meanSeconds: mean(g.map((x) => x.seconds)),
    };
  });
}

/** One (dataset, map, pair, features, n) of a critic over its seeds. */
export interface PmiSummary {
  dataset: string;
  map: string;
  pair: string;
  features: string;
  n: number;
  seeds: number;
  meanPearson: number;
  sdPearson: number | null;
  meanSpearman: number;
  sdSpearman: number | null;
  /** Mean over seeds of the mean exact PMI of the scored samples (≈ the MI), nats. */
  meanPmi: number;
  /** Mean over seeds of the critic's MI estimate, nats. */
  meanEstimate: number;
  meanSeconds: number;
}

export function summarisePmi(rows: readonly PmiRow[]): PmiSummary[] {
  requireRows(rows, 'PMI rows');
  return groupRows(rows, ['dataset', 'map', 'pair', 'features']).map((g) => {
    const r = g[0];
    const p = g.map((x) => x.pearson);
    const s = g.map((x) => x.spearman);
    return {
      dataset: r.dataset,
      map: r.map,
      pair: r.pair,
      features: r.features,
      n: r.n,
      seeds: g.length,
      meanPearson: mean(p),
      sdPearson: sampleSd(p),
      meanSpearman: mean(s),
      sdSpearman: sampleSd(s),
      meanPmi: mean(g.map((x) => x.meanPmi)),
      meanEstimate: mean(g.map((x) => x.estimate)),
      meanSeconds: mean(g.map((x) => x.seconds)),
    };
  });
}

/**
 * Dataset and map are usually one value for a whole run: then they are said once above the
 * table instead of repeated on every line; when a run mixes several, they become columns.
 */
function context<S extends { dataset: string; map: string }>(summary: readonly S[]): { columns: ('dataset' | 'map')[]; preamble: string } {
  const columns: ('dataset' | 'map')[] = [];
  const fixedParts: string[] = [];
  for (const k of ['dataset', 'map'] as const) {
    const values = new Set(summary.map((s) => s[k]));
    if (values.size > 1) columns.push(k);
    else fixedParts.push(`${k} \`${summary[0][k]}\``);
  }
  return { columns, preamble: fixedParts.length ? `${fixedParts.join(', ')}.\n\n` : '' };
}

function markdownTable(preamble: string, cells: Record<string, string>[]): string {
  return preamble + figures.toMarkdown(Object.keys(cells[0]), cells);
}

const dec3 = (x: number | null) => nats(x);

export function estimatesMarkdown(rows: readonly EstimateRow[]): string {
  const summary = summariseEstimates(rows);
  const ctx = context(summary);
  const cells = summary.map((s) => ({
    ...Object.fromEntries(ctx.columns.map((c) => [c, s[c]])),
    pair: s.pair,
    estimator: s.estimator,
    features: s.features,
    n: String(s.n),
    seeds: String(s.seeds),
    'truth [nats]': nats(s.truth),
    'estimate ± sd [nats]': plusMinus(s.meanEstimate, s.sdEstimate, nats),
    'mean SE [nats]': nats(s.meanStandardError),
    'mean bias [nats]': nats(s.meanBias),
    'seconds (mean)': seconds(s.meanSeconds),
  }));
  const note = 'Over seeds: estimate as mean ± sample sd, the standard error the estimator reported itself (mean), bias = estimate − truth (mean).\n\n';
  return markdownTable(ctx.preamble + note, cells);
}

export function regressMarkdown(rows: readonly RegressRow[]): string {
  const summary = summariseRegressions(rows);
  const ctx = context(summary);
  const mse = (x: number | null) => significant(x, 3);
  const cells = summary.map((s) => ({
    ...Object.fromEntries(ctx.columns.map((c) => [c, s[c]])),
    subset: s.subset,
    'I(X_S;θ) [nats]': nats(s.mi),
    model: s.model,
    features: s.features,
    n: String(s.n),
    seeds: String(s.seeds),
    'test MSE': plusMinus(s.meanTestMse, s.sdTestMse, mse),
    'R²': plusMinus(s.meanR2, s.sdR2, dec3),
    'Bayes R²': dec3(s.bayesR2),
    'Bayes MSE': mse(s.bayesMse),
    'gap (Bayes R² − R²)': dec3(s.gapR2),
    'seconds (mean)': seconds(s.meanSeconds),
  }));
  const note = 'Over seeds: mean ± sample sd. Bayes R² = 1 − exp(−2 I(X_S;θ)) and Bayes MSE = Var(θ)·exp(−2 I(X_S;θ)) bound any regressor.\n\n';
  return markdownTable(ctx.preamble + note, cells);
}

export function pmiMarkdown(rows: readonly PmiRow[]): string {
  const summary = summarisePmi(rows);
  const ctx = context(summary);
  const cells = summary.map((s) => ({
    ...Object.fromEntries(ctx.columns.map((c) => [c, s[c]])),
    pair: s.pair,
    features: s.features,
    n: String(s.n),
    seeds: String(s.seeds),
    Pearson: plusMinus(s.meanPearson, s.sdPearson, dec3),
    Spearman: plusMinus(s.meanSpearman, s.sdSpearman, dec3),
    'mean PMI [nats]': nats(s.meanPmi),
    'critic estimate [nats]': nats(s.meanEstimate),
    'estimate − mean PMI [nats]': nats(s.meanEstimate - s.meanPmi),
    'seconds (mean)': seconds(s.meanSeconds),
  }));
  const note = "Pearson and Spearman: the critic's per-sample score against the exact per-sample PMI, mean ± sd over seeds.\n\n";
  return markdownTable(ctx.preamble + note, cells);
}
