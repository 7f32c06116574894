/**
 * The contrastive command's report folder: the rows (CSV, JSON), a markdown summary over
 * seeds, the figures (SVG, PNG and the CSV behind each), and README.md last, naming every file
 * and the exact command: a folder with a README is a finished report. Every file is written
 * atomically (report/files.ts), and every figure is built before anything is written, so a
 * figure that cannot be drawn is a line in the README rather than half a folder.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '@mmmi/cli-kit';
import { figures } from '@mmmi/dataset-generation';
import { writeFigureSpec, writeTextAtomic, type FigureFiles, type FigureSpec } from '../report/index.js';
import { correlationVsMiSpec, probeAlongGridSpec, probeVsMiSpec, similarityScatterSpec } from './figures.js';
import type { ContrastivePmiRow, ContrastiveProbeRow, PmiScatter } from './rows.js';
import { pmiRowsCsv, pmiSummaryMarkdown, probeRowsCsv, probeSummaryMarkdown, summarisePmiRows, summariseProbeRows } from './tables.js';

/** A grid point as the report lists it. */
export interface ReportedPoint {
  point: string;
  /** The dataset it was measured on (a folder). */
  data: string;
  /** 'generated', 'reused' (an earlier run's result) or 'given' (--data). */
  origin: string;
}

export interface ContrastiveReportMeta {
  command: string;
  title: string;
  points: readonly ReportedPoint[];
  /** Lines for the README (seeds sharing draws, approximate images, …). */
  notes: readonly string[];
}

export interface ContrastiveReportFiles {
  folder: string;
  markdown: string;
  json: string;
  pmiCsv: string;
  probeCsv: string;
  figures: FigureFiles[];
  readme: string;
  /** Every file written, README.md last. */
  files: string[];
}

interface Entry {
  path: string;
  what: string;
}

/** A fenced code block that survives backticks inside the command. */
function codeBlock(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}sh\n${text}\n${fence}`;
}

const MATH = [
  'The math. Exact PMI of a pair of views: i(x_a; x_b) = log p(x_a, x_b) − log p(x_a) − log p(x_b), Gaussian log-densities of the stored latents under the manifest’s structure (every map is invertible per modality, so it is also the PMI of the images); its mean over the test draws is close to I(X_a; X_b).',
  'Scores: cosine = ⟨z_a, z_b⟩ of the unit projections; normalised = cosine/τ − log mean_j e^{⟨z_a, z_b,j⟩/τ} over the test draws, whose mean is the InfoNCE bound with K = test draws (≤ log K).',
  'Probe: ridge regression of θ on the frozen representation (below the projection head) of the training draws, scored on the test draws; no predictor of θ from X_S beats MSE = Var(θ)·exp(−2 I(θ; X_S)), R² = 1 − exp(−2 I(θ; X_S)) on average (the test R², against the test draws’ own variance, scatters around it by its standard error).',
];

export async function writeContrastiveReport(
  folder: string,
  pmi: readonly ContrastivePmiRow[],
  probe: readonly ContrastiveProbeRow[],
  scatter: readonly PmiScatter[],
  meta: ContrastiveReportMeta,
): Promise<ContrastiveReportFiles> {
  if (pmi.length === 0 || probe.length === 0) throw new InputError('no contrastive rows to report: no grid point was run');
  const planned: { name: string; what: string; build: () => FigureSpec }[] = [
    {
      name: 'correlation_vs_mi',
      what: "Pearson and Spearman correlation of the learned similarity (cosine, normalised) with the exact PMI, against the grid's MI",
      build: () => correlationVsMiSpec(pmi),
    },
    { name: 'probe_r2_vs_mi', what: 'probe test R² against I(θ; X_S), under the Bayes bound R² = 1 − exp(−2I)', build: () => probeVsMiSpec(probe) },
    { name: 'probe_r2_along_grid', what: "probe test R² and the Bayes R² of each point against the grid's MI", build: () => probeAlongGridSpec(probe) },
    ...(scatter.length
      ? [
          {
            name: 'similarity_vs_pmi',
            what: 'cosine similarity against exact PMI per test draw, seed 0, a panel per point and pair',
            build: () => similarityScatterSpec(scatter),
          },
        ]
      : []),
  ];
  const built: [(typeof planned)[number], FigureSpec][] = [];
  const skipped: string[] = [];
  for (const p of planned) {
    try {
      built.push([p, p.build()]);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      skipped.push(`No \`${p.name}.png\`: ${e.message}.`);
    }
  }
  await mkdir(folder, { recursive: true });
  const write = async (name: string, text: string, what: string): Promise<Entry> => ({ path: await writeTextAtomic(join(folder, name), text), what });
  const pmiCsv = await write(
    'pmi.csv',
    pmiRowsCsv(pmi),
    'every (point, seed, pair of views): the similarity’s Pearson and Spearman correlation with the exact PMI',
  );
  const probeCsv = await write('probe.csv', probeRowsCsv(probe), 'every (point, seed, views probed): the probe’s test MSE and R² beside the Bayes bound');
  const json = await write(
    'contrastive.json',
    figures.toJson({
      report: 'contrastive',
      command: meta.command,
      units: 'nats',
      points: meta.points,
      pmi,
      probe,
      summary: { pmi: summarisePmiRows(pmi), probe: summariseProbeRows(probe) },
    }),
    'the same rows, their summaries over seeds, the grid points and the command',
  );
  const figs: [FigureFiles, string][] = [];
  for (const [p, spec] of built) figs.push([await writeFigureSpec(folder, p.name, spec), p.what]);
  const markdown = await write(
    'contrastive.md',
    [
      `# ${meta.title}`,
      '',
      '## Learned similarity vs exact PMI',
      '',
      pmiSummaryMarkdown(pmi),
      '## Linear probe of θ vs the Bayes bound',
      '',
      probeSummaryMarkdown(probe),
      'Made by:',
      '',
      codeBlock(meta.command),
      '',
    ].join('\n'),
    'summary tables: one line per (point, pair) and per (point, views probed), mean ± sd over seeds',
  );
  const figureEntries = figs.flatMap(([f, what]) => [
    { path: f.png, what: `${what} (PNG)` },
    { path: f.svg, what: 'the same figure as SVG' },
    { path: f.csv, what: `the numbers drawn in ${basename(f.png)}` },
  ]);
  const entries: Entry[] = [
    markdown,
    pmiCsv,
    probeCsv,
    json,
    ...figureEntries,
    { path: join(folder, 'contrastive.log'), what: 'the run’s log: every point and seed, each epoch’s losses' },
  ];
  const readmeText = [
    `# ${meta.title}`,
    '',
    'Made by:',
    '',
    codeBlock(meta.command),
    '',
    '| file | what it is |',
    '|---|---|',
    ...entries.map((e) => `| \`${basename(e.path)}\` | ${e.what.replace(/\|/g, '\\|')} |`),
    '',
    '## Grid points',
    '',
    '| point | dataset | |',
    '|---|---|---|',
    ...meta.points.map((p) => `| ${p.point.replace(/\|/g, '\\|')} | \`${p.data}\` | ${p.origin} |`),
    '',
    'All MI values in nats. Summaries are over seeds; the CSV and JSON hold every row at full precision.',
    '',
    ...MATH.flatMap((m) => [m, '']),
    ...[...meta.notes, ...skipped].flatMap((n) => [n, '']),
  ].join('\n');
  const readme = await writeTextAtomic(join(folder, 'README.md'), readmeText);
  return {
    folder,
    markdown: markdown.path,
    json: json.path,
    pmiCsv: pmiCsv.path,
    probeCsv: probeCsv.path,
    figures: figs.map(([f]) => f),
    readme,
    files: [...entries.map((e) => e.path), readme],
  };
}
