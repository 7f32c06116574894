/**
 * `mmmi-generate figures [--out dir] [--only fig6,dag,radii,samples,tables] [--samples n] [--draws n] [@args.txt [flags]] …`
 * `mmmi-generate sweep @args.txt [flags] --sweep alpha=1.2,1.4 [--sweep …] [--query Q]… [--out table.csv|table.md]`
 */
import { writeFile } from 'node:fs/promises';
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
  samples  modalities × samples grid of a small shard through the registry's default flow model (clamp scaling;
           --model_free: tanh instead), templates beside
  tables   the MI table of each configuration (Markdown, CSV, JSON)
Each @args.txt (with the flags after it) is one configuration; without any: simple_fig1_DAG and galaxy_rot_curve_0_1_DAG.
sweep prints a Markdown table of the queries (default: the whole MI table) over every combination of the --sweep values.`;

const DEFAULT_CONFIGS = ['generation_arguments/simple_fig1_DAG.txt', 'generation_arguments/galaxy_rot_curve_0_1_DAG.txt'];

function takeValue(argv: string[], i: number, flag: string): string {
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
  return v;
}

export async function figuresMain(argv: string[], out: (s: string) => void): Promise<number> {
  let dir = 'output_dir/figures';
  let only: Kind[] = [...FIGURE_KINDS];
  let samples = 8;
  let draws = 2000;
  let modelFree = false;
  const configs: string[][] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') dir = takeValue(argv, i++, a);
    else if (a === '--only') {
      only = takeValue(argv, i++, a).split(',').map((s) => s.trim()) as Kind[];
      const bad = only.filter((k) => !FIGURE_KINDS.includes(k));
      if (bad.length) throw new Error(`--only ${bad.join(',')}: unknown figure (choose from ${FIGURE_KINDS.join(', ')})`);
    } else if (a === '--samples') samples = Number(takeValue(argv, i++, a));
    else if (a === '--draws') draws = Number(takeValue(argv, i++, a));
    else if (a === '--model_free') modelFree = true;
    else if (a.startsWith('@')) configs.push([a]);
    else if (configs.length) configs[configs.length - 1].push(a);
    else throw new Error(`figures: ${a} before any @args.txt (flags follow the argument file they apply to)`);
  }
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
  const tokens: string[] = [];
  const axes = [];
  const queries: string[] = [];
  let file: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sweep') axes.push(parseSweep(takeValue(argv, i++, a)));
    else if (a === '--query') queries.push(argv[++i] ?? '');
    else if (a === '--out') file = takeValue(argv, i++, a);
    else tokens.push(a);
  }
  if (axes.length === 0) throw new Error('sweep needs at least one --sweep FLAG=V1,V2,…');
  const table = await sweepTable(tokens, axes, queries);
  const md = sweepMarkdown(table);
  out(md.trimEnd());
  if (file) {
    await writeFile(file, file.endsWith('.md') ? md : sweepCsv(table));
    out(`wrote ${file}`);
  }
  return 0;
}
