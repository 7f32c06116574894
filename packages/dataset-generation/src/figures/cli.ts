/**
 * `mmmi-generate figures [--out dir] [--only fig6,dag,radii,samples,tables] [--samples n] [--draws n] [@args.txt [flags]] …`
 * `mmmi-generate sweep @args.txt [flags] --sweep alpha=1.2,1.4 [--sweep …] [--query Q]… [--out table.csv|table.md]`
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { claimOutputFile, claimOutputFolder, parseOptions, partitionOptions, UsageError, type OptionTable } from '@mmmi/cli-kit';
import { writeDag } from './dag.js';
import { writeFig6 } from './fig6.js';
import { repoFile } from './plot.js';
import { writeRadii } from './radii.js';
import { writeSampleGrid } from './samples.js';
import { parseSweep, sweepCsv, sweepMarkdown, sweepTable, writeMiTable } from './tables.js';

export const FIGURE_KINDS = ['fig6', 'dag', 'radii', 'samples', 'tables'] as const;
type Kind = (typeof FIGURE_KINDS)[number];

export const FIGURES_USAGE = `usage: mmmi-generate figures [--out DIR] [--only ${FIGURE_KINDS.join(',')}] [--samples N] [--draws N] [--model_free] [@args.txt [flags]]…
       mmmi-generate sweep @args.txt [flags] --sweep FLAG=V1,V2,… [--sweep …] [--query Q]… [--out FILE.csv|FILE.md]

figures writes SVG + PNG figures and the numbers behind each (CSV/JSON) into DIR (default output_dir/figures):
  fig6     I(θ; X_i), I(X_1; X_i) vs i for multimodal_decay_DAG over α, β ∈ {1.2, 1.4, 1.6} (exact, d = 3072)
  dag      the DAG of each configuration, edges labelled with their coefficients
  radii    norms of unit-Gaussian draws vs the latents' norms, the alignment percentile marked
  samples  modalities × samples grid of a small shard through the registry's default flow model (whitened latents,
           the registry's recipe, affine scaling shown clamped; --model_free: tanh instead), templates beside
  tables   the MI table of each configuration (Markdown, CSV, JSON)
Each @args.txt (with the flags after it) is one configuration; without any: simple_fig1_DAG and galaxy_rot_curve_0_1_DAG.
sweep prints a Markdown table of the queries (default: the whole MI table) over every combination of the --sweep values.`;

const DEFAULT_CONFIGS = ['generation_arguments/simple_fig1_DAG.txt', 'generation_arguments/galaxy_rot_curve_0_1_DAG.txt'];

const figureList = (v: string) => v.split(',').map((k) => k.trim());

export const FIGURES_FLAGS = {
  out: { kind: 'string', default: 'output_dir/figures', valueName: 'DIR', help: 'folder of the figures and their numbers' },
  only: {
    kind: 'string',
    default: FIGURE_KINDS.join(','),
    valueName: 'KINDS',
    help: `the figures to make, comma-separated: ${FIGURE_KINDS.join(', ')}`,
    check: (v: string) => {
      const bad = figureList(v).filter((k) => !(FIGURE_KINDS as readonly string[]).includes(k));
      return bad.length ? `unknown figure ${bad.join(',')} (choose from ${FIGURE_KINDS.join(', ')})` : undefined;
    },
  },
  samples: { kind: 'int', min: 1, default: 8, help: 'samples per modality in the samples grid' },
  draws: { kind: 'int', min: 1, default: 2000, help: 'unit-Gaussian draws in the radii figure' },
  model_free: { kind: 'boolean', default: false, help: 'samples grid through tanh instead of the flow model' },
  overwrite: { kind: 'boolean', default: false, help: 'write into an --out folder that holds files figures did not write' },
} as const satisfies OptionTable;

export const SWEEP_FLAGS = {
  sweep: { kind: 'string', repeatable: true, valueName: 'FLAG=V1,V2', help: 'a flag and its values (repeatable: every combination)' },
  query: { kind: 'string', repeatable: true, valueName: 'Q', help: 'an MI query, e.g. "X1;theta" (repeatable; default: the whole MI table)' },
  out: { kind: 'string', valueName: 'FILE', help: 'also write the table as .csv or .md' },
  overwrite: { kind: 'boolean', default: false, help: 'replace an existing --out file' },
} as const satisfies OptionTable;

/** Marks a folder as written by `figures`: a rerun refreshes its figures, while a folder of other files is not written into unasked. */
const FIGURES_MARK = '.mmmi-figures';

/**
 * The --out folder, claimed before any figure is computed: new, empty, or one that `figures`
 * wrote before (it holds the mark), unless --overwrite; every figure it writes has a fixed name,
 * so writing among other files could replace one of them.
 */
function claimFiguresFolder(dir: string, overwrite: boolean): string {
  const foreign = (folder: string) => {
    if (existsSync(join(folder, FIGURES_MARK))) return undefined;
    const files = readdirSync(folder);
    return files.length ? `${files.length} files that figures did not write (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''})` : undefined;
  };
  const claimed = claimOutputFolder(dir, { flag: '--out', overwrite, holds: foreign });
  writeFileSync(join(claimed.path, FIGURES_MARK), 'written by mmmi-generate figures: a rerun replaces the figures here\n');
  return dir;
}

/** Configurations: each `@args.txt` with the flags after it. */
function configurationGroups(tokens: string[]): string[][] {
  const configs: string[][] = [];
  for (const t of tokens) {
    if (t.startsWith('@')) configs.push([t]);
    else if (configs.length) configs[configs.length - 1].push(t);
    else throw new UsageError(`figures: ${t} before any @args.txt (flags follow the argument file they apply to)`);
  }
  return configs;
}

export async function figuresMain(argv: string[], out: (s: string) => void): Promise<number> {
  const { own, rest } = partitionOptions(argv, FIGURES_FLAGS);
  const o = parseOptions(own, FIGURES_FLAGS).values;
  const dir = claimFiguresFolder(o.out, o.overwrite);
  const only = figureList(o.only) as Kind[];
  const { samples, draws } = o;
  const modelFree = o.model_free;
  const configs = configurationGroups(rest);
  if (configs.length === 0) configs.push(...DEFAULT_CONFIGS.map((f) => [`@${repoFile(f)}`]));
  const wrote = (paths: (string | undefined)[]) => paths.filter(Boolean).forEach((p) => out(p!));
  if (only.includes('fig6')) {
    const r = await writeFig6(dir);
    wrote([...r.figures.flatMap((f) => [f.svg, f.png]), r.csv, r.json]);
  }
  for (const tokens of configs) {
    if (only.includes('dag')) {
      const r = await writeDag(dir, tokens);
      wrote([r.figure.svg, r.figure.png, r.csv, r.json]);
    }
    if (only.includes('radii')) {
      const r = await writeRadii(dir, tokens, { draws });
      wrote([r.figure.svg, r.figure.png, r.csv, r.json]);
    }
    if (only.includes('samples')) {
      const r = await writeSampleGrid(dir, tokens, { samples, modelFree });
      wrote([r.figure.svg, r.figure.png, r.json]);
    }
    if (only.includes('tables')) {
      const r = await writeMiTable(dir, tokens);
      wrote([r.markdown, r.csv, r.json]);
    }
  }
  return 0;
}

export async function sweepMain(argv: string[], out: (s: string) => void): Promise<number> {
  const { own, rest: tokens } = partitionOptions(argv, SWEEP_FLAGS);
  const o = parseOptions(own, SWEEP_FLAGS).values;
  const axes = o.sweep.map(parseSweep);
  const queries = o.query;
  const file = o.out;
  if (axes.length === 0) throw new UsageError('sweep needs at least one --sweep FLAG=V1,V2,…');
  const argumentFiles = tokens.filter((t) => t.startsWith('@')).map((t) => t.slice(1));
  if (file) claimOutputFile(file, { flag: '--out', overwrite: o.overwrite, inputs: { '@argument file': argumentFiles } });
  const table = await sweepTable(tokens, axes, queries);
  const md = sweepMarkdown(table);
  out(md.trimEnd());
  if (file) {
    await writeFile(file, file.endsWith('.md') ? md : sweepCsv(table));
    out(`wrote ${file}`);
  }
  return 0;
}
