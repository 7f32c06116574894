/**
 * A command's whole report in one folder: the rows (CSV, JSON), the summary over seeds
 * (markdown), the figures, and a README.md that says what each file is and which command made
 * them, so a folder found months later explains itself. Every file is written atomically, and
 * README.md last: a folder with a README is a finished report.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { EstimateRow, PmiRow, RegressRow } from '../results.js';
import { InputError } from '@mmmi/cli-kit';
import { writeTextAtomic, type FigureFiles } from './files.js';
import {
  errorVsNSpec,
  estimateVsTruthSpec,
  pmiScatterSpec,
  regressionSpec,
  writeFigureSpec,
  type FigureSpec,
  type NChoice,
  type PmiPoints,
  type PmiScatterStats,
} from './plots.js';
import { requireRows } from './stats.js';
import {
  estimatesCsv,
  estimatesMarkdown,
  pmiCsv,
  pmiMarkdown,
  regressCsv,
  regressMarkdown,
  reportJson,
  summariseEstimates,
  summarisePmi,
  summariseRegressions,
} from './tables.js';

export interface ReportMeta {
  /** The command line that made the rows, quoted in README.md and the markdown table. */
  command: string;
  /** Heading of README.md and of the markdown table (default: one per report kind). */
  title?: string;
  /** Sample size the scatter plots show (default 'largest'; 'all': a panel per n). */
  n?: NChoice;
  /** PMI report: points drawn in the scatter plot, all panels together (default 2000). */
  maxPoints?: number;
}

export interface ReportFiles {
  folder: string;
  csv: string;
  json: string;
  markdown: string;
  figures: FigureFiles[];
  readme: string;
  /** Every file written, README.md last. */
  files: string[];
}

/** A fenced code block that survives backticks inside the command. */
function codeBlock(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}sh\n${text}\n${fence}\n`;
}

interface Entry {
  path: string;
  what: string;
}

function readme(title: string, command: string, entries: readonly Entry[], notes: readonly string[]): string {
  const rows = entries.map((e) => `| \`${basename(e.path)}\` | ${e.what.replace(/\|/g, '\\|')} |`);
  return [
    `# ${title}`,
    '',
    'Made by:',
    '',
    codeBlock(command).trimEnd(),
    '',
    '| file | what it is |',
    '|---|---|',
    ...rows,
    '',
    ...notes.map((n) => `${n}\n`),
  ].join('\n');
}

function figureEntries(f: FigureFiles, what: string): Entry[] {
  return [
    { path: f.png, what: `${what} (PNG)` },
    { path: f.svg, what: `the same figure as SVG` },
    { path: f.csv, what: `the numbers drawn in ${basename(f.png)}` },
  ];
}

interface PlannedFigure {
  name: string;
  what: string;
  build: () => FigureSpec;
}

/**
 * Build every figure before anything is written, so bad input fails before the folder is
 * touched. A figure with nothing to draw (every estimate NaN, say) is left out with a line in
 * README.md rather than failing the report: its tables are still worth having.
 */
function buildFigures(planned: readonly PlannedFigure[]): { built: [PlannedFigure, FigureSpec][]; notes: string[] } {
  const built: [PlannedFigure, FigureSpec][] = [];
  const notes: string[] = [];
  for (const p of planned) {
    try {
      built.push([p, p.build()]);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      notes.push(`No \`${p.name}.png\`: ${err.message}.`);
    }
  }
  return { built, notes };
}

async function writeReport(
  folder: string,
  title: string,
  meta: ReportMeta,
  data: { csv: [string, string, string]; json: [string, string, string]; markdown: [string, string, string] },
  planned: readonly PlannedFigure[],
  notes: readonly string[],
): Promise<ReportFiles> {
  const { built, notes: skipped } = buildFigures(planned);
  await mkdir(folder, { recursive: true });
  const file = async ([name, text, what]: [string, string, string]): Promise<Entry> => ({ path: await writeTextAtomic(join(folder, name), text), what });
  const csv = await file(data.csv);
  const json = await file(data.json);
  const figs: [FigureFiles, string][] = [];
  for (const [p, spec] of built) figs.push([await writeFigureSpec(folder, p.name, spec), p.what]);
  const markdown = await file(data.markdown);
  const entries = [markdown, csv, json, ...figs.flatMap(([f, what]) => figureEntries(f, what))];
  const readmePath = await writeTextAtomic(join(folder, 'README.md'), readme(title, meta.command, entries, [...notes, ...skipped]));
  return {
    folder,
    csv: csv.path,
    json: json.path,
    markdown: markdown.path,
    figures: figs.map(([f]) => f),
    readme: readmePath,
    files: [...entries.map((e) => e.path), readmePath],
  };
}

function markdownFile(title: string, command: string, table: string): string {
  return `# ${title}\n\n${table}\nMade by:\n\n${codeBlock(command)}`;
}

const UNITS = 'All MI values in nats. Summaries are over seeds; the CSV and JSON hold every row at full precision.';

/** estimates.{csv,json,md}, estimate_vs_truth.{png,svg,csv}, error_vs_n.{png,svg,csv}, README.md */
export async function writeEstimateReport(folder: string, rows: readonly EstimateRow[], meta: ReportMeta): Promise<ReportFiles> {
  requireRows(rows, 'estimates');
  const title = meta.title ?? 'MI estimates vs exact MI';
  return writeReport(
    folder,
    title,
    meta,
    {
      markdown: [
        'estimates.md',
        markdownFile(title, meta.command, estimatesMarkdown(rows)),
        'summary table: one line per (pair, estimator, features, n), mean ± sd over seeds',
      ],
      csv: ['estimates.csv', estimatesCsv(rows), 'every estimate, one row per (pair, estimator, features, n, seed)'],
      json: [
        'estimates.json',
        reportJson('estimate', meta.command, rows, summariseEstimates(rows)),
        'the same rows and the summary over seeds, with the command',
      ],
    },
    [
      {
        name: 'estimate_vs_truth',
        what: 'mean estimate against exact MI, bars ±1 sd over seeds, dashed line y = x',
        build: () => estimateVsTruthSpec(rows, { n: meta.n }),
      },
      {
        name: 'error_vs_n',
        what: 'bias (estimate − truth) against n on a log axis, one line per estimator, a panel per pair',
        build: () => errorVsNSpec(rows),
      },
    ],
    [UNITS],
  );
}

/** regressions.{csv,json,md}, r2_vs_mi.{png,svg,csv}, unexplained_vs_mi.{png,svg,csv}, README.md */
export async function writeRegressReport(folder: string, rows: readonly RegressRow[], meta: ReportMeta): Promise<ReportFiles> {
  requireRows(rows, 'regressions');
  const title = meta.title ?? 'Regression of θ vs the Bayes bound';
  return writeReport(
    folder,
    title,
    meta,
    {
      markdown: [
        'regressions.md',
        markdownFile(title, meta.command, regressMarkdown(rows)),
        'summary table: one line per (subset, model, features, n), test MSE and R² beside the Bayes bound',
      ],
      csv: ['regressions.csv', regressCsv(rows), 'every regression, one row per (subset, model, features, n, seed)'],
      json: [
        'regressions.json',
        reportJson('regress', meta.command, rows, summariseRegressions(rows)),
        'the same rows and the summary over seeds, with the command',
      ],
    },
    [
      { name: 'r2_vs_mi', what: 'test R² against I(X_S; θ), the Bayes bound R² = 1 − exp(−2I) as a line', build: () => regressionSpec(rows, { n: meta.n }) },
      {
        name: 'unexplained_vs_mi',
        what: '1 − test R² on a log axis against I(X_S; θ), above the Bayes bound exp(−2I) (a straight line): the gap to the bound at high MI',
        build: () => regressionSpec(rows, { n: meta.n, y: 'unexplained' }),
      },
    ],
    [UNITS, 'Bayes R² = 1 − exp(−2 I(X_S; θ)) and Bayes MSE = Var(θ)·exp(−2 I(X_S; θ)): no regressor does better on average.'],
  );
}

export interface PmiReportFiles extends ReportFiles {
  /** Correlations over all samples of each scatter panel (empty without points). */
  scatter: PmiScatterStats[];
}

/** pmi.{csv,json,md}, pmi_scatter.{png,svg,csv} (when per-sample points are given), README.md */
export async function writePmiReport(folder: string, rows: readonly PmiRow[], points: readonly PmiPoints[], meta: ReportMeta): Promise<PmiReportFiles> {
  requireRows(rows, 'PMI rows');
  const title = meta.title ?? 'Critic scores vs exact pointwise MI';
  let scatter: PmiScatterStats[] = [];
  const report = await writeReport(
    folder,
    title,
    meta,
    {
      markdown: [
        'pmi.md',
        markdownFile(title, meta.command, pmiMarkdown(rows)),
        "summary table: one line per (pair, features, n), the critic's Pearson and Spearman correlation with the exact PMI",
      ],
      csv: ['pmi.csv', pmiCsv(rows), 'every critic run, one row per (pair, features, n, seed)'],
      json: ['pmi.json', reportJson('pmi', meta.command, rows, summarisePmi(rows)), 'the same rows and the summary over seeds, with the command'],
    },
    points.length === 0
      ? []
      : [
          {
            name: 'pmi_scatter',
            what: 'critic score against exact PMI per sample (a subset drawn; correlations over all samples)',
            build: () => {
              const f = pmiScatterSpec(points, { maxPoints: meta.maxPoints });
              scatter = f.stats;
              return f;
            },
          },
        ],
    [UNITS, ...(points.length === 0 ? ['No per-sample scores were given, so there is no scatter plot.'] : [])],
  );
  return { ...report, scatter };
}
