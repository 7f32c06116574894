/**
 * `mmmi-bench contrastive`: contrastive learning held against the truth, along a grid of
 * datasets of known MI (see grid.ts for the grid, run.ts for what is measured at a point).
 *
 * The command's work, in order:
 *  1. everything that can be refused is refused before any long work: the flags, the output
 *     folder (a finished report needs --overwrite), the views against each dataset's
 *     modalities, the sizes against its draws, each grid target against what the design can
 *     reach;
 *  2. per point: a result left by an earlier run with the same fingerprint (points/<slug>/
 *     result.json) is reused; otherwise the point's dataset is generated (designed points; the
 *     generator itself skips a complete shard and resumes an unfinished one) under
 *     datasets/<slug>/, the seeds are trained and scored, and the result is written atomically;
 *  3. the report folder (report.ts), README.md last.
 *
 * A killed run therefore continues at the first unfinished point when run again. Progress goes
 * to the terminal and, with every epoch's losses, to contrastive.log.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { claimOutputFolder, InputError, Progress, type ProgressStream } from '@mmmi/cli-kit';
import { generate } from '@mmmi/dataset-generation';
import { describeStructure } from '@mmmi/latents';
import { openDataset } from '../dataset.js';
import { prepareOutputFolder } from '../output.js';
import { writeTextAtomic } from '../report/index.js';
import { CONTRASTIVE_MAPS, DEFAULT_BASE, designTargets, fingerprint, generationTokens } from './grid.js';
import { writeContrastiveReport, type ContrastiveReportFiles, type ReportedPoint } from './report.js';
import type { ContrastivePmiRow, ContrastiveProbeRow, PmiScatter, PointResult } from './rows.js';
import { checkSettings, planPoint, runPoint, type ContrastiveSettings, type GridQuery } from './run.js';
import { parseViews } from './views.js';

export interface ContrastiveCommand {
  /** Existing datasets, one grid point each (or none, with `targets`). */
  data: readonly string[];
  /** A grid of designed datasets, e.g. "I(X1;X2)=0.5,1,2,4". */
  targets?: string;
  /** The argument file the design starts from (default simple_fig1_DAG.txt). */
  base?: string;
  /** Coefficients the design changes (default rho_theta_arg,rho_arg). */
  vary?: string;
  /** identity, tanh, cubic or flow (designed datasets). */
  map: string;
  /** Draws per designed dataset. */
  draws: number;
  /** Values per modality of designed datasets (default: the base's). */
  modDim?: number;
  /** The views, e.g. 'X1,X2'. */
  views: string;
  settings: Omit<ContrastiveSettings, 'views'>;
  out: string;
  overwrite: boolean;
  /** The command line, quoted in the report. */
  command: string;
  stream?: ProgressStream | null;
  say?: (line: string) => void;
}

export interface ContrastiveOutcome {
  pmi: ContrastivePmiRow[];
  probe: ContrastiveProbeRow[];
  report: ContrastiveReportFiles;
  /** Labels of the points an earlier run had finished (reused), and of those run now. */
  reused: string[];
  computed: string[];
}

interface PlannedPoint {
  label: string;
  slug: string;
  query: GridQuery;
  views: number[];
  fingerprint: string;
  /** A designed point's argument file, or a given dataset. */
  argumentFile?: string;
  data?: string;
}

const FORMAT = 'mmmi-bench-contrastive-point/1';

/** The generator's progress on the command's stream, or nowhere. */
const generatorIo = (stream: ProgressStream | null | undefined) =>
  stream === null
    ? { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream }
    : stream
      ? { stream: stream as unknown as NodeJS.WriteStream }
      : {};

async function planGrid(c: ContrastiveCommand): Promise<{ points: PlannedPoint[]; title: string; notes: string[] }> {
  if (c.data.length > 0 && c.targets !== undefined)
    throw new InputError('--data and --targets: give either existing datasets (--data, repeatable) or a grid to generate (--targets), not both');
  if (c.data.length === 0 && c.targets === undefined)
    throw new InputError('name the grid: --targets "I(X1;X2)=0.5,1,2,4" (datasets designed and generated) or --data <folder> (repeatable: existing datasets)');
  const settingsOf = (views: number[]): ContrastiveSettings => ({ ...c.settings, views });
  // the views' syntax and the settings' own rules first: they need no dataset
  checkSettings(settingsOf(parseViews(c.views)));
  const notes: string[] = [];
  if (c.targets !== undefined) {
    if (!(CONTRASTIVE_MAPS as readonly string[]).includes(c.map)) throw new InputError(`--map ${c.map}: expected one of ${CONTRASTIVE_MAPS.join(', ')}`);
    if (!(Number.isInteger(c.draws) && c.draws >= 20)) throw new InputError(`--draws ${c.draws}: at least 20 draws per dataset`);
    const base = resolve(c.base ?? DEFAULT_BASE);
    let views: number[] = [];
    const designed = await designTargets({
      base,
      modDim: c.modDim,
      vary: c.vary,
      targets: c.targets,
      check: (nMod, modDim) => {
        views = parseViews(c.views, nMod, base);
        planPoint({ nMod, modDim, count: c.draws, hasNoise: true, source: `each generated dataset (--draws ${c.draws})` }, settingsOf(views));
      },
    });
    const points = designed.points.map((p) => ({
      label: p.label,
      slug: p.slug,
      query: designed.grid.query,
      views,
      argumentFile: p.argumentFile,
      fingerprint: fingerprint({ format: FORMAT, argumentFile: p.argumentFile, map: c.map, draws: c.draws, settings: settingsOf(views) }),
    }));
    return { points, title: `Contrastive learning against the truth along ${designed.grid.label} (${c.map} map)`, notes };
  }
  const points: PlannedPoint[] = [];
  const slugs = new Set<string>();
  for (const [i, path] of c.data.entries()) {
    const data = await openDataset(path);
    try {
      const views = parseViews(c.views, data.nMod, data.source);
      const plan = planPoint(data, settingsOf(views));
      notes.push(...plan.layout.notes);
      const query: GridQuery = { a: { mods: [views[0]], theta: false }, b: { mods: [views[1]], theta: false }, c: { mods: [], theta: false } };
      let slug = data.name.replace(/[^\w.-]/g, '_');
      if (slugs.has(slug)) slug = `${slug}-${i}`;
      slugs.add(slug);
      const identity = { path: resolve(path), name: data.name, count: data.count, map: data.map, structure: fingerprint(describeStructure(data.structure)) };
      points.push({ label: path, slug, query, views, data: path, fingerprint: fingerprint({ format: FORMAT, identity, settings: settingsOf(views) }) });
    } finally {
      await data.close();
    }
  }
  return { points, title: `Contrastive learning against the truth on ${points.length} dataset${points.length > 1 ? 's' : ''}`, notes };
}

/** Writes a file atomically, making its folder first. */
async function writeInto(path: string, text: string): Promise<string> {
  mkdirSync(dirname(path), { recursive: true });
  return writeTextAtomic(path, text);
}

/** An earlier run's result of this point, when it was made with the same fingerprint. */
function earlierResult(file: string, expected: string): (PointResult & { data: string }) | null {
  if (!existsSync(file)) return null;
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; fingerprint?: string; data: string; result: PointResult };
    return saved.format === FORMAT && saved.fingerprint === expected ? { ...saved.result, data: saved.data } : null;
  } catch {
    return null; // cut short or unreadable: computed again
  }
}

export async function contrastiveCommand(c: ContrastiveCommand): Promise<ContrastiveOutcome> {
  const say = c.say ?? (() => {});
  const out = resolve(c.out);
  const inputs = { '--data': [...c.data] };
  // a finished report without --overwrite is refused before the design and any dataset is read
  claimOutputFolder(out, {
    flag: '--out',
    overwrite: c.overwrite,
    inputs,
    holds: (f) => (existsSync(join(f, 'README.md')) ? 'a finished report (README.md)' : undefined),
    make: false,
  });
  const { points, title, notes } = await planGrid(c);
  prepareOutputFolder(out, c.overwrite, inputs);
  const progress = new Progress({
    label: 'contrastive',
    total: points.length * c.settings.seeds,
    unit: 'encoders',
    stream: c.stream,
    logFile: join(out, 'contrastive.log'),
  });
  for (const n of new Set(notes)) progress.log(n);
  const pmi: ContrastivePmiRow[] = [];
  const probe: ContrastiveProbeRow[] = [];
  const scatter: PmiScatter[] = [];
  const reported: ReportedPoint[] = [];
  const reused: string[] = [];
  const computed: string[] = [];
  const allNotes = new Set(notes);
  const shown = (p: string) => (resolve(p).startsWith(out + sep) ? relative(out, resolve(p)) : p);
  for (const p of points) {
    const resultFile = join(out, 'points', p.slug, 'result.json');
    let result: PointResult;
    let dataPath: string;
    const earlier = earlierResult(resultFile, p.fingerprint);
    if (earlier) {
      result = earlier;
      dataPath = earlier.data;
      reused.push(p.label);
      progress.update(progress.done + c.settings.seeds);
      progress.log(`${p.label}: finished by an earlier run, reused (${shown(resultFile)})`);
    } else {
      if (p.argumentFile !== undefined) {
        const folder = join(out, 'datasets', p.slug);
        const argumentFile = await writeInto(join(folder, 'design.txt'), p.argumentFile);
        progress.log(`${p.label}: generating ${c.draws} draws (${c.map} map) in ${shown(folder)}`);
        const generated = await generate(
          generationTokens({ argumentFile, map: c.map, folder, name: `contrastive_${p.slug.replace(/\./g, 'p')}`, draws: c.draws }),
          generatorIo(c.stream),
        );
        if (generated.skipped) progress.log(`${p.label}: the dataset was complete already (generated by an earlier run)`);
        dataPath = generated.npzPath;
      } else dataPath = p.data!;
      const data = await openDataset(dataPath);
      try {
        result = await runPoint(data, p.label, p.query, { ...c.settings, views: p.views }, { progress, log: (line) => progress.logOnly(line) });
      } finally {
        await data.close();
      }
      await writeInto(resultFile, JSON.stringify({ format: FORMAT, fingerprint: p.fingerprint, point: p.label, data: dataPath, result }));
      computed.push(p.label);
    }
    for (const n of result.notes) {
      if (!allNotes.has(n)) progress.log(n);
      allNotes.add(n);
    }
    pmi.push(...result.pmi);
    probe.push(...result.probe);
    scatter.push(...result.scatter);
    reported.push({
      point: p.label,
      data: shown(dataPath),
      origin: earlier ? 'reused from an earlier run' : p.argumentFile !== undefined ? 'generated' : 'given',
    });
  }
  progress.finish();
  if (reused.length) say(`contrastive: ${reused.length} of ${points.length} points reused from an earlier run`);
  const report = await writeContrastiveReport(out, pmi, probe, scatter, {
    command: c.command,
    title,
    points: reported,
    notes: [...allNotes].map((n) => n.replace(/^note: /, 'Note: ')),
  });
  return { pmi, probe, report, reused, computed };
}
