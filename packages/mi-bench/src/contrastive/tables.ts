/**
 * The contrastive rows as tables: CSV with every field at full precision, and markdown
 * summaries over seeds (mean ± sd), one line per grid point and pair of views (PMI) or
 * modality set (probe). The summaries are computed here once, for the markdown and the figures.
 */
import { figures } from '@mmmi/dataset-generation';
import { fixed, nats, plusMinus } from '../report/format.js';
import { mean, sampleSd } from '../report/index.js';
import type { ContrastivePmiRow, ContrastiveProbeRow } from './rows.js';

// Records over every field of a row type: a field added to rows.ts without a column here is a type error.
const PMI_FIELDS: Record<keyof ContrastivePmiRow, true> = {
  point: true,
  dataset: true,
  map: true,
  gridQuery: true,
  gridMi: true,
  encoder: true,
  n: true,
  test: true,
  seed: true,
  pair: true,
  pairMi: true,
  meanPmi: true,
  pearsonCosine: true,
  spearmanCosine: true,
  pearsonNormalised: true,
  spearmanNormalised: true,
  infonce: true,
  epochs: true,
  keptEpoch: true,
  seconds: true,
};
const PROBE_FIELDS: Record<keyof ContrastiveProbeRow, true> = {
  point: true,
  dataset: true,
  map: true,
  gridQuery: true,
  gridMi: true,
  encoder: true,
  n: true,
  test: true,
  seed: true,
  subset: true,
  miTheta: true,
  testMse: true,
  r2: true,
  r2StandardError: true,
  bayesMse: true,
  bayesR2: true,
  seconds: true,
};

export const CONTRASTIVE_PMI_COLUMNS = Object.keys(PMI_FIELDS) as (keyof ContrastivePmiRow)[];
export const CONTRASTIVE_PROBE_COLUMNS = Object.keys(PROBE_FIELDS) as (keyof ContrastiveProbeRow)[];

export const pmiRowsCsv = (rows: readonly ContrastivePmiRow[]): string => figures.toCsv(CONTRASTIVE_PMI_COLUMNS, rows);
export const probeRowsCsv = (rows: readonly ContrastiveProbeRow[]): string => figures.toCsv(CONTRASTIVE_PROBE_COLUMNS, rows);

/** A mean over seeds and its spread (null for one seed). */
export interface Spread {
  mean: number;
  sd: number | null;
}

const spread = (xs: readonly number[]): Spread => ({ mean: mean(xs), sd: sampleSd(xs) });

/** Rows grouped by a key, groups in order of first appearance (the grid's order). */
function groups<R>(rows: readonly R[], key: (r: R) => string): R[][] {
  const out = new Map<string, R[]>();
  for (const r of rows) {
    const k = key(r);
    const g = out.get(k);
    if (g) g.push(r);
    else out.set(k, [r]);
  }
  return [...out.values()];
}

export interface PmiSummaryLine {
  point: string;
  gridQuery: string;
  gridMi: number;
  pair: string;
  pairMi: number;
  seeds: number;
  meanPmi: number;
  pearsonCosine: Spread;
  spearmanCosine: Spread;
  pearsonNormalised: Spread;
  spearmanNormalised: Spread;
  infonce: Spread;
  epochs: number;
}

export function summarisePmiRows(rows: readonly ContrastivePmiRow[]): PmiSummaryLine[] {
  return groups(rows, (r) => JSON.stringify([r.point, r.pair])).map((g) => ({
    point: g[0].point,
    gridQuery: g[0].gridQuery,
    gridMi: g[0].gridMi,
    pair: g[0].pair,
    pairMi: g[0].pairMi,
    seeds: g.length,
    meanPmi: mean(g.map((r) => r.meanPmi)),
    pearsonCosine: spread(g.map((r) => r.pearsonCosine)),
    spearmanCosine: spread(g.map((r) => r.spearmanCosine)),
    pearsonNormalised: spread(g.map((r) => r.pearsonNormalised)),
    spearmanNormalised: spread(g.map((r) => r.spearmanNormalised)),
    infonce: spread(g.map((r) => r.infonce)),
    epochs: mean(g.map((r) => r.epochs)),
  }));
}

export interface ProbeSummaryLine {
  point: string;
  gridQuery: string;
  gridMi: number;
  subset: string;
  miTheta: number;
  seeds: number;
  r2: Spread;
  testMse: Spread;
  bayesR2: number;
  bayesMse: number;
}

export function summariseProbeRows(rows: readonly ContrastiveProbeRow[]): ProbeSummaryLine[] {
  return groups(rows, (r) => JSON.stringify([r.point, r.subset])).map((g) => ({
    point: g[0].point,
    gridQuery: g[0].gridQuery,
    gridMi: g[0].gridMi,
    subset: g[0].subset,
    miTheta: g[0].miTheta,
    seeds: g.length,
    r2: spread(g.map((r) => r.r2)),
    testMse: spread(g.map((r) => r.testMse)),
    bayesR2: g[0].bayesR2,
    bayesMse: g[0].bayesMse,
  }));
}

/** What the grid MI column is (the query of every row), as a line above a table. */
function axisNote(rows: readonly { gridQuery: string }[]): string {
  const queries = [...new Set(rows.map((r) => r.gridQuery))];
  return `grid MI: the exact ${queries.join(' / ')} of each point's dataset, nats; mean ± sd over seeds.\n\n`;
}

const dec3 = (x: number | null) => fixed(x, 3);
const pm = (s: Spread, f: (x: number | null) => string = dec3) => plusMinus(s.mean, s.sd, f);

export function pmiSummaryMarkdown(rows: readonly ContrastivePmiRow[]): string {
  const cells = summarisePmiRows(rows).map((s) => ({
    point: s.point,
    'grid MI [nats]': nats(s.gridMi),
    pair: s.pair,
    'I(pair) [nats]': nats(s.pairMi),
    'mean PMI [nats]': nats(s.meanPmi),
    'Pearson (cosine)': pm(s.pearsonCosine),
    'Spearman (cosine)': pm(s.spearmanCosine),
    'Pearson (normalised)': pm(s.pearsonNormalised),
    'Spearman (normalised)': pm(s.spearmanNormalised),
    'InfoNCE on test [nats]': pm(s.infonce, nats),
    seeds: String(s.seeds),
  }));
  return axisNote(rows) + figures.toMarkdown(Object.keys(cells[0]), cells);
}

export function probeSummaryMarkdown(rows: readonly ContrastiveProbeRow[]): string {
  const cells = summariseProbeRows(rows).map((s) => ({
    point: s.point,
    'grid MI [nats]': nats(s.gridMi),
    'views probed': s.subset,
    'I(θ; X_S) [nats]': nats(s.miTheta),
    'test R²': pm(s.r2),
    'Bayes R²': dec3(s.bayesR2),
    'Bayes R² − R²': dec3(s.bayesR2 - s.r2.mean),
    'test MSE': pm(s.testMse, (x) => (x === null ? '—' : x.toPrecision(3))),
    'Bayes MSE': s.bayesMse.toPrecision(3),
    seeds: String(s.seeds),
  }));
  return axisNote(rows) + figures.toMarkdown(Object.keys(cells[0]), cells);
}
