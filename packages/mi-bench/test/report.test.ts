import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@mmmi/cli-kit';
import { figures } from '@mmmi/dataset-generation';
import { decodeImageRgb } from '@mmmi/formats';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import {
  bayesCurve,
  errorVsNSpec,
  ESTIMATE_COLUMNS,
  estimatesCsv,
  estimatesMarkdown,
  estimateVsTruthSpec,
  pearson,
  PMI_COLUMNS,
  pmiCsv,
  pmiMarkdown,
  pmiScatterSpec,
  ranks,
  REGRESS_COLUMNS,
  regressCsv,
  regressionSpec,
  regressMarkdown,
  reportJson,
  spearman,
  summariseEstimates,
  summarisePmi,
  summariseRegressions,
  writeEstimateReport,
  writePmiReport,
  writeRegressReport,
} from '../src/report/index.js';
import { fixed, significant } from '../src/report/format.js';
import type { EstimateRow, PmiRow, RegressRow } from '../src/results.js';
import { syntheticEstimates, syntheticPmi, syntheticRegressions } from './report-fixtures.js';

const out = tempDir('mi-bench-report-');

function est(over: Partial<EstimateRow>): EstimateRow {
  const r = { dataset: 'd', map: 'identity', pair: 'I(X_1; θ)', truth: 0.5, estimator: 'ksg', features: 'latents', n: 100, seed: 0, estimate: 0.5 };
  const row = { ...r, standardError: null, seconds: 1, ...over };
  return { ...row, bias: over.bias ?? row.estimate - row.truth };
}

function reg(over: Partial<RegressRow>): RegressRow {
  const mi = over.mi ?? 0.4;
  return {
    dataset: 'd',
    map: 'identity',
    subset: 'X_1',
    mi,
    model: 'ridge',
    features: 'latents',
    n: 100,
    seed: 0,
    testMse: 1,
    r2: 0.5,
    bayesMse: 2 * Math.exp(-2 * mi),
    bayesR2: -Math.expm1(-2 * mi),
    seconds: 1,
    ...over,
  };
}

// Hand-checked: estimates 0.4, 0.5, 0.9 → mean 0.6, deviations −0.2, −0.1, 0.3, sd √(0.14 / 2).
const HAND: EstimateRow[] = [
  est({ n: 1000, seed: 0, estimate: 0.7 }),
  est({ seed: 0, estimate: 0.4, standardError: 0.1, seconds: 1 }),
  est({ seed: 1, estimate: 0.5, standardError: 0.2, seconds: 2 }),
  est({ seed: 2, estimate: 0.9, standardError: null, seconds: 3 }),
  est({ estimator: 'gaussian', seed: 0, estimate: 0.45 }),
];

/** RFC 4180 CSV as toCsv writes it: quoted cells where they hold a comma, quote or newline. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  return rows;
}

/** The CSV's rows back as the row objects (numbers as numbers, '' as null). */
function csvBack(text: string): Record<string, string | number | null>[] {
  const [header, ...body] = parseCsv(text);
  return body.map((cells) =>
    Object.fromEntries(header.map((h, j) => [h, cells[j] === '' ? null : Number.isNaN(Number(cells[j])) ? cells[j] : Number(cells[j])])),
  );
}

type Values = Record<string, unknown>[];
const dataOf = (spec: Record<string, unknown>) => (spec.data as { values: Values }).values;
const layersOf = (spec: Record<string, unknown>) => (spec.layer ?? (spec.spec as { layer: unknown }).layer) as Record<string, unknown>[];

describe('tables', () => {
  it('aggregates over seeds: mean, sample sd, mean reported SE, mean bias, mean seconds', () => {
    const s = summariseEstimates(HAND);
    expect(s.map((x) => [x.estimator, x.n, x.seeds])).toEqual([
      ['ksg', 100, 3],
      ['ksg', 1000, 1],
      ['gaussian', 100, 1],
    ]);
    const g = s[0];
    expect(g.truth).toBe(0.5);
    expect(g.meanEstimate).toBeCloseTo(0.6, 14);
    expect(g.sdEstimate).toBeCloseTo(Math.sqrt(0.07), 14);
    expect(g.meanStandardError).toBeCloseTo(0.15, 14);
    expect(g.meanBias).toBeCloseTo(0.1, 14);
    expect(g.meanSeconds).toBeCloseTo(2, 14);
    // one seed: no spread to report, and no SE where the estimator gave none
    expect(s[1].sdEstimate).toBeNull();
    expect(s[1].meanStandardError).toBeNull();
  });

  it('refuses groups whose rows disagree on the exact MI', () => {
    expect(() => summariseEstimates([est({ truth: 0.5 }), est({ seed: 1, truth: 0.6 })])).toThrow(InputError);
    expect(() => summariseEstimates([est({ truth: 0.5 }), est({ seed: 1, truth: 0.5 + 1e-13 })])).not.toThrow();
  });

  it('summarises regressions with the Bayes bound and the gap to it', () => {
    const rows = [reg({ seed: 0, r2: 0.3, testMse: 1.4 }), reg({ seed: 1, r2: 0.4, testMse: 1.2 }), reg({ model: 'cnn', r2: 0.5 })];
    const [ridge, cnn] = summariseRegressions(rows);
    expect(ridge.seeds).toBe(2);
    expect(ridge.meanR2).toBeCloseTo(0.35, 14);
    expect(ridge.sdR2).toBeCloseTo(Math.sqrt(0.005), 14);
    expect(ridge.meanTestMse).toBeCloseTo(1.3, 14);
    expect(ridge.sdTestMse).toBeCloseTo(Math.sqrt(0.02), 14);
    expect(ridge.bayesR2).toBeCloseTo(1 - Math.exp(-0.8), 14);
    expect(ridge.gapR2).toBeCloseTo(1 - Math.exp(-0.8) - 0.35, 14);
    expect(cnn.sdR2).toBeNull();
  });

  it('summarises PMI rows', () => {
    const base: PmiRow = {
      dataset: 'd',
      map: 'm',
      pair: 'I(X_1; θ)',
      features: 'latents',
      n: 10,
      seed: 0,
      pearson: 0.8,
      spearman: 0.7,
      meanPmi: 0.3,
      estimate: 0.2,
      seconds: 4,
    };
    const [s] = summarisePmi([base, { ...base, seed: 1, pearson: 0.9, spearman: 0.9, meanPmi: 0.5, estimate: 0.4, seconds: 6 }]);
    expect(s.seeds).toBe(2);
    expect(s.meanPearson).toBeCloseTo(0.85, 14);
    expect(s.sdPearson).toBeCloseTo(Math.sqrt(0.005), 14);
    expect(s.meanSpearman).toBeCloseTo(0.8, 14);
    expect(s.meanPmi).toBeCloseTo(0.4, 14);
    expect(s.meanEstimate).toBeCloseTo(0.3, 14);
    expect(s.meanSeconds).toBe(5);
  });

  it('writes every field to CSV, and the CSV parses back to the same values', () => {
    const rows = syntheticEstimates();
    const text = estimatesCsv(rows);
    expect(parseCsv(text)[0]).toEqual(ESTIMATE_COLUMNS);
    expect(ESTIMATE_COLUMNS).toHaveLength(Object.keys(rows[0]).length);
    expect(csvBack(text)).toEqual(rows);
    const r = syntheticRegressions();
    expect(parseCsv(regressCsv(r))[0]).toEqual(REGRESS_COLUMNS);
    expect(csvBack(regressCsv(r))).toEqual(r);
    const p = syntheticPmi().rows;
    expect(parseCsv(pmiCsv(p))[0]).toEqual(PMI_COLUMNS);
    expect(csvBack(pmiCsv(p))).toEqual(p);
  });

  it('writes JSON with the rows, the summary and the command', () => {
    const parsed = JSON.parse(reportJson('estimate', 'mmmi-bench estimate x', HAND, summariseEstimates(HAND)));
    expect(parsed.command).toBe('mmmi-bench estimate x');
    expect(parsed.rows).toEqual(HAND);
    expect(parsed.summary).toHaveLength(3);
  });

  it('writes a markdown line per (pair, estimator, features, n) with the expected columns', () => {
    const rows = syntheticEstimates();
    const lines = estimatesMarkdown(rows)
      .split('\n')
      .filter((l) => l.startsWith('|'));
    expect(lines[0]).toBe(
      '| pair | estimator | features | n | seeds | truth [nats] | estimate ± sd [nats] | mean SE [nats] | mean bias [nats] | seconds (mean) |',
    );
    expect(lines).toHaveLength(summariseEstimates(rows).length + 2);
    expect(lines).toHaveLength(4 * 3 * 2 * 3 + 2);
    // dataset and map are one value: said once above the table
    expect(estimatesMarkdown(rows)).toContain('dataset `decay4_tiny`, map `identity`.');
    const hand = estimatesMarkdown(HAND).split('\n');
    expect(hand).toContain('| I(X_1; θ) | ksg | latents | 100 | 3 | 0.500 | 0.600 ± 0.265 | 0.150 | 0.100 | 2.00 |');
    expect(hand).toContain('| I(X_1; θ) | ksg | latents | 1000 | 1 | 0.500 | 0.700 | — | 0.200 | 1.00 |');
  });

  it('adds dataset and map columns when a run mixes several', () => {
    const md = estimatesMarkdown([est({}), est({ map: 'tanh' })]);
    expect(md.split('\n').find((l) => l.startsWith('| '))).toMatch(/^\| map \| pair \|/);
  });

  it('writes regression and PMI markdown', () => {
    const r = syntheticRegressions();
    const lines = regressMarkdown(r)
      .split('\n')
      .filter((l) => l.startsWith('|'));
    expect(lines[0]).toBe(
      '| subset | I(X_S;θ) [nats] | model | features | n | seeds | test MSE | R² | Bayes R² | Bayes MSE | gap (Bayes R² − R²) | seconds (mean) |',
    );
    expect(lines).toHaveLength(4 * 2 * 2 + 2);
    const p = syntheticPmi().rows;
    const pl = pmiMarkdown(p)
      .split('\n')
      .filter((l) => l.startsWith('|'));
    expect(pl[0]).toBe(
      '| pair | features | n | seeds | Pearson | Spearman | mean PMI [nats] | critic estimate [nats] | estimate − mean PMI [nats] | seconds (mean) |',
    );
    expect(pl).toHaveLength(2 + 2);
  });

  it('formats nats to 3 decimals and seconds to 3 significant figures', () => {
    expect(fixed(0.12345)).toBe('0.123');
    expect(fixed(-0.0001)).toBe('0.000');
    expect(fixed(Infinity)).toBe('∞');
    expect(fixed(null)).toBe('—');
    expect(significant(1234.5)).toBe('1230');
    expect(significant(2.1)).toBe('2.10');
    expect(significant(0.0012345)).toBe('0.00123');
  });

  it('refuses empty rows with an InputError', () => {
    for (const f of [
      () => summariseEstimates([]),
      () => summariseRegressions([]),
      () => summarisePmi([]),
      () => estimatesCsv([]),
      () => regressCsv([]),
      () => pmiCsv([]),
      () => estimatesMarkdown([]),
      () => regressMarkdown([]),
      () => pmiMarkdown([]),
      () => estimateVsTruthSpec([]),
      () => errorVsNSpec([]),
      () => regressionSpec([]),
      () => pmiScatterSpec([]),
    ])
      expect(f).toThrow(InputError);
    expect(() => summariseEstimates([])).toThrow(/no estimates to report/);
  });
});

describe('statistics', () => {
  it('ranks ties by their mean rank, so Spearman is Pearson of the ranks', () => {
    expect([...ranks([10, 20, 20, 5])]).toEqual([2, 3.5, 3.5, 1]);
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 14);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14);
  });
});

describe('plot specifications', () => {
  it('estimate vs truth: the identity line lies on y = x over the points, at the largest n by default', () => {
    const rows = syntheticEstimates();
    const { spec, table } = estimateVsTruthSpec(rows);
    const values = dataOf(spec);
    const identity = values.filter((v) => v.kind === 'identity');
    const points = values.filter((v) => v.kind === 'point');
    expect(identity.length).toBeGreaterThanOrEqual(2);
    for (const p of identity) expect(p.estimate).toBe(p.truth);
    const ends = identity.map((p) => p.truth as number);
    for (const p of points) {
      expect(p.truth as number).toBeGreaterThanOrEqual(Math.min(...ends));
      expect(p.estimate as number).toBeLessThanOrEqual(Math.max(...ends));
    }
    expect(new Set(points.map((p) => p.n))).toEqual(new Set([10000]));
    expect(points).toHaveLength(4 * 3 * 2);
    expect(table).toEqual(points);
    const layers = layersOf(spec);
    expect(layers[0].mark).toMatchObject({ type: 'line', strokeDash: [6, 4] });
    expect(JSON.stringify(layers[0].transform)).toContain("'identity'");
    // the spread over seeds as error bars
    const bar = points.find((p) => p.estimator === 'ksg' && p.features === 'latents' && p.pair === 'I(X_1; θ)') as Record<string, number>;
    expect(bar.hi - bar.lo).toBeCloseTo(2 * bar.sd, 14);
    const s = summariseEstimates(rows).find((x) => x.estimator === 'ksg' && x.features === 'latents' && x.pair === 'I(X_1; θ)' && x.n === 10000);
    expect(bar.estimate).toBe(s?.meanEstimate);
    expect(bar.sd).toBe(s?.sdEstimate);
  });

  it('estimate vs truth: a panel per n on request, one n by number, a clear error for an n not run', () => {
    const rows = syntheticEstimates();
    const all = estimateVsTruthSpec(rows, { n: 'all' }).spec;
    expect((all.facet as { sort: string[] }).sort).toEqual(['n = 500', 'n = 2000', 'n = 10000']);
    const panels = dataOf(all).filter((v) => v.kind === 'identity');
    expect(new Set(panels.map((v) => v.panel)).size).toBe(3);
    expect(dataOf(estimateVsTruthSpec(rows, { n: 2000 }).spec).filter((v) => v.kind === 'point')).toHaveLength(24);
    expect(() => estimateVsTruthSpec(rows, { n: 7 })).toThrow(/n = 500, 2000, 10000/);
  });

  it('error vs n: log x axis, a panel per pair, one series per estimator and features', () => {
    const { spec } = errorVsNSpec(syntheticEstimates());
    const layer = layersOf(spec);
    const line = layer.find((l) => (l.mark as { type: string }).type === 'line') as { encoding: { x: { scale: { type: string } } } };
    expect(line.encoding.x.scale.type).toBe('log');
    const points = dataOf(spec).filter((v) => v.kind === 'point');
    expect(new Set(points.map((p) => p.panel)).size).toBe(4);
    expect(new Set(points.map((p) => p.series)).size).toBe(6);
    const abs = dataOf(errorVsNSpec(syntheticEstimates(), { y: 'absBias' }).spec).filter((v) => v.kind === 'point');
    for (const p of abs) expect(p.value).toBe(Math.abs(p.bias as number));
  });

  it('regression: the Bayes curve satisfies R² = 1 − exp(−2I) and spans the I of the points', () => {
    const { spec } = regressionSpec(syntheticRegressions());
    const values = dataOf(spec);
    const curve = values.filter((v) => v.kind === 'bayes') as { mi: number; r2: number }[];
    expect(curve.length).toBeGreaterThan(50);
    for (const c of curve) expect(Math.abs(c.r2 - (1 - Math.exp(-2 * c.mi)))).toBeLessThan(1e-12);
    expect(curve[0].mi).toBe(0);
    expect(Math.max(...curve.map((c) => c.mi))).toBeGreaterThanOrEqual(1.4);
    const points = values.filter((v) => v.kind === 'point');
    expect(points).toHaveLength(4 * 2);
    expect(new Set(points.map((p) => p.n))).toEqual(new Set([5000]));
    const layer = layersOf(spec);
    expect(JSON.stringify(layer[0].transform)).toContain("'bayes'");
    expect(layer[0].mark).toMatchObject({ type: 'line' });
    for (const c of bayesCurve(3)) expect(Math.abs(c.r2 - (1 - Math.exp(-2 * c.mi)))).toBeLessThan(1e-12);
  });

  it('regression, unexplained variance: 1 − R² on a log axis above exp(−2I)', () => {
    const rows = syntheticRegressions();
    const plain = dataOf(regressionSpec(rows).spec).filter((v) => v.kind === 'point');
    const { spec } = regressionSpec(rows, { y: 'unexplained' });
    const values = dataOf(spec);
    for (const c of values.filter((v) => v.kind === 'bayes') as { mi: number; r2: number }[]) expect(Math.abs(c.r2 - Math.exp(-2 * c.mi))).toBeLessThan(1e-15);
    const points = values.filter((v) => v.kind === 'point');
    points.forEach((p, i) => expect(p.r2).toBeCloseTo(1 - (plain[i].r2 as number), 14));
    const y = (layersOf(spec)[0].encoding as { y: { scale: { type: string } } }).y;
    expect(y.scale.type).toBe('log');
  });

  it('PMI scatter: capped points, correlations over all samples in the subtitle', () => {
    const { points } = syntheticPmi();
    const one = pmiScatterSpec(points.slice(0, 1), { maxPoints: 500 });
    expect(dataOf(one.spec)).toHaveLength(500);
    expect(one.stats[0].samples).toBe(5000);
    expect(one.stats[0].pearson).toBeCloseTo(pearson(points[0].pmi, points[0].score), 14);
    expect(one.stats[0].spearman).toBeCloseTo(spearman(points[0].pmi, points[0].score), 14);
    const subtitle = (one.spec.title as { subtitle: string[] }).subtitle.join(' ');
    expect(subtitle).toContain(`Pearson r = ${fixed(one.stats[0].pearson)}`);
    expect(subtitle).toContain(`Spearman ρ = ${fixed(one.stats[0].spearman)}`);
    // the cap is for the whole figure: two panels share it
    expect(dataOf(pmiScatterSpec(points).spec)).toHaveLength(2000);
    expect(() => pmiScatterSpec([{ label: 'x', pmi: [1, 2, 3], score: [1, 2] }])).toThrow(InputError);
  });
});

/** A PNG of the SVG at 2×, with something drawn on it. */
function checkFigure(f: { svg: string; png: string; csv: string; width: number; height: number }): string {
  const svg = readFileSync(f.svg, 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  const bytes = readFileSync(f.png);
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const { width, height } = figures.svgSize(svg);
  const img = decodeImageRgb(bytes, f.png);
  expect([img.width, img.height]).toEqual([Math.round(2 * width), Math.round(2 * height)]);
  expect([f.width, f.height]).toEqual([img.width, img.height]);
  let dark = 0;
  for (let t = 0; t < img.data.length; t += 3) if (img.data[t] + img.data[t + 1] + img.data[t + 2] < 200) dark++;
  expect(dark).toBeGreaterThan(500);
  expect(readFileSync(f.csv, 'utf8').split('\n').length).toBeGreaterThan(2);
  return svg;
}

/** The texts of the axis titles vega drew. */
function axisTitles(svg: string): string[] {
  return [...svg.matchAll(/class="mark-text role-axis-title"[^>]*><text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** The path of the first layer's line (the reference line of both scatter plots). */
function firstLayerLine(svg: string): string {
  return /class="mark-line role-mark layer_0_marks"[^>]*><path[^>]*\sd="([^"]*)"/.exec(svg)?.[1] ?? '';
}

/** README.md names each file written and the command; no temp file is left beside them. */
function checkFolder(folder: string, files: string[], command: string) {
  const readme = readFileSync(join(folder, 'README.md'), 'utf8');
  expect(readme).toContain(command);
  for (const f of files.filter((f) => !f.endsWith('README.md'))) expect(readme).toContain(`\`${f.split('/').pop()}\``);
  expect(readdirSync(folder).sort()).toEqual(files.map((f) => f.split('/').pop()).sort());
}

describe('report folders', () => {
  it('writes the estimate report: tables, both figures with their axis titles, README', async () => {
    const folder = join(out, 'estimate');
    const command = 'mmmi-bench estimate --dataset decay4_tiny --estimators ksg,gaussian,infonce';
    const r = await writeEstimateReport(folder, syntheticEstimates(), { command });
    expect(r.figures.map((f) => f.png.split('/').pop())).toEqual(['estimate_vs_truth.png', 'error_vs_n.png']);
    const vsTruth = checkFigure(r.figures[0]);
    expect(new Set(axisTitles(vsTruth))).toEqual(new Set(['exact MI  [nats]', 'estimate  [nats]']));
    // the identity line, drawn dashed corner to corner of the square plot (both axes share one domain)
    expect(firstLayerLine(vsTruth)).toBe('M0,340L340,0');
    expect(vsTruth).toContain('stroke-dasharray="6,4"');
    const vsN = checkFigure(r.figures[1]);
    expect(new Set(axisTitles(vsN))).toEqual(new Set(['n  (samples, log scale)', 'bias  [nats]']));
    checkFolder(folder, r.files, command);
    expect(csvBack(readFileSync(r.csv, 'utf8'))).toEqual(syntheticEstimates());
    expect(readFileSync(r.markdown, 'utf8')).toContain(command);
  });

  it('writes the regression report with the Bayes curve', async () => {
    const folder = join(out, 'regress');
    const r = await writeRegressReport(folder, syntheticRegressions(), { command: 'mmmi-bench regress --models ridge,cnn' });
    const svg = checkFigure(r.figures[0]);
    expect(new Set(axisTitles(svg))).toEqual(new Set(['I(X_S; θ)  [nats]', 'test R²']));
    // the Bayes curve: from the origin, rising and flattening (many segments, not a straight line)
    const curve = firstLayerLine(svg);
    expect(curve.startsWith('M0,')).toBe(true);
    expect(curve.split('L').length).toBeGreaterThan(100);
    checkFolder(folder, r.files, 'mmmi-bench regress --models ridge,cnn');
  });

  it('writes the PMI report with the scatter, and without it when no samples are given', async () => {
    const { rows, points } = syntheticPmi();
    const folder = join(out, 'pmi');
    const r = await writePmiReport(folder, rows, points.slice(0, 1), { command: 'mmmi-bench pmi' });
    const svg = checkFigure(r.figures[0]);
    expect(new Set(axisTitles(svg))).toEqual(new Set(['exact PMI  [nats]', 'critic score']));
    expect(svg).toContain(`Pearson r = ${fixed(r.scatter[0].pearson)}`);
    checkFolder(folder, r.files, 'mmmi-bench pmi');
    const bare = await writePmiReport(join(out, 'pmi-bare'), rows, [], { command: 'mmmi-bench pmi' });
    expect(bare.figures).toEqual([]);
    expect(readFileSync(bare.readme, 'utf8')).toContain('no scatter plot');
  });

  it('leaves out a figure with nothing to draw, saying so, and keeps the tables', async () => {
    const folder = join(out, 'nan');
    const rows = [est({ estimate: NaN }), est({ seed: 1, estimate: NaN })];
    const r = await writeEstimateReport(folder, rows, { command: 'c' });
    expect(r.figures).toEqual([]);
    const readme = readFileSync(r.readme, 'utf8');
    expect(readme).toContain('No `estimate_vs_truth.png`');
    expect(readme).toContain('No `error_vs_n.png`');
    expect(readFileSync(r.markdown, 'utf8')).toContain('NaN');
  });

  it('refuses empty rows before creating the folder', async () => {
    const folder = join(out, 'empty');
    await expect(writeEstimateReport(folder, [], { command: 'c' })).rejects.toThrow(InputError);
    await expect(writeRegressReport(folder, [], { command: 'c' })).rejects.toThrow(InputError);
    await expect(writePmiReport(folder, [], [], { command: 'c' })).rejects.toThrow(InputError);
    expect(existsSync(folder)).toBe(false);
  });
});
