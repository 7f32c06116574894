/**
 * `mmmi-bench study --preset paper-v2`: the paper's v2 estimator study (preset.ts) in three
 * stages, each a loop over its units (units.ts):
 *
 *   generate  one dataset per ρ_θ (dataset-generation: resumes, skips a finished shard);
 *   estimate  one estimate per (ρ_θ, input, protocol, estimator), a file each (run-unit.ts);
 *   report    the merge: rows, figures and README.md (report.ts).
 *
 * `--stage all` (the default) runs the three on one machine. On a cluster each stage is a job
 * array (environments/slurm/study-v2.sh): task j of N (`--job_id j --num_jobs N`) takes every
 * N-th unit of its stage; the report runs once after. Every settings check and refusal
 * happens before the first unit starts.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError, Progress, type ProgressStream } from '@mmmi/cli-kit';
import { commandLine, prepareOutputFolder } from '../../output.js';
import { generateV2Dataset, v2DatasetFolder, type V2Map } from './datasets.js';
import { V2_FULL_SIZE, V2_INPUTS, V2_PROTOCOLS, V2_RHO_THETA, V2_VARIANTS, type V2Protocol } from './preset.js';
import { writeV2Report } from './report.js';
import { checkUnit, finishedUnit, PoolCache, runV2Unit, type V2UnitResult, type V2UnitSettings } from './run-unit.js';
import { unitsOfTask, v2EstimateUnits } from './units.js';
import type { Source } from '../../pool.js';

export const V2_STAGES = ['all', 'generate', 'estimate', 'report'] as const;
export type V2Stage = (typeof V2_STAGES)[number];

export interface V2StudyOptions {
  out: string;
  overwrite: boolean;
  stage: V2Stage;
  jobId: number;
  numJobs: number;
  rhos: readonly number[];
  inputs: readonly Source[];
  protocols: readonly V2Protocol[];
  /** Variant names (preset.ts V2_VARIANTS). */
  estimators: readonly string[];
  draws: number;
  steps: number;
  map: V2Map;
  /** Flow map threads (0: one per core). */
  threads: number;
  seed: number;
  /** Width of the critic's hidden layers (the fork's 256; smaller for quick runs). */
  criticHidden: number;
  modDim?: number;
  command: string;
  stream?: ProgressStream | null;
  say?: (line: string) => void;
}

export interface V2StudyResult {
  stage: V2Stage;
  generated: number;
  estimated: number;
  reused: number;
  readme?: string;
}

/** The command of the full-size study (its default folder: a scaled-down study's results are not its). */
const FULL_SIZE_COMMAND = commandLine('mmmi-bench', ['study', '--preset', 'paper-v2']);

function plan(o: V2StudyOptions) {
  if (!V2_STAGES.includes(o.stage)) throw new InputError(`--stage ${o.stage}: one of ${V2_STAGES.join(', ')}`);
  if (!(Number.isInteger(o.numJobs) && o.numJobs >= 1)) throw new InputError(`--num_jobs ${o.numJobs}: a whole number ≥ 1`);
  if (!(Number.isInteger(o.jobId) && o.jobId >= 0 && o.jobId < o.numJobs)) throw new InputError(`--job_id ${o.jobId}: must be below --num_jobs ${o.numJobs}`);
  if (o.stage === 'all' && o.numJobs > 1)
    throw new InputError('--num_jobs > 1 spreads one stage over an array: give --stage generate, then estimate, then report (environments/slurm/study-v2.sh)');
  if (o.map === 'flow' && o.modDim !== undefined && o.modDim !== 3072)
    throw new InputError(`--mod_dim ${o.modDim}: the flow maps 3×32×32 images (3072 values); use --map identity or tanh for another size`);
  if (o.rhos.length === 0) throw new InputError('--rho_theta: give at least one value');
  for (const r of o.rhos) if (!(r > 0 && r < 1)) throw new InputError(`--rho_theta ${r}: a weight in (0, 1)`);
  const unknownInputs = o.inputs.filter((i) => !V2_INPUTS.includes(i));
  if (o.inputs.length === 0 || unknownInputs.length) throw new InputError(`--inputs ${o.inputs.join(',')}: one or both of ${V2_INPUTS.join(', ')}`);
  const unknownProtocols = o.protocols.filter((p) => !V2_PROTOCOLS.includes(p));
  if (o.protocols.length === 0 || unknownProtocols.length)
    throw new InputError(`--protocols ${o.protocols.join(',')}: one or both of ${V2_PROTOCOLS.join(', ')}`);
  const variants = o.estimators.map((name) => {
    const v = V2_VARIANTS.find((x) => x.name === name);
    if (!v) throw new InputError(`--estimators: '${name}' is not one of the fork's (${V2_VARIANTS.map((x) => x.name).join(', ')})`);
    return v;
  });
  if (variants.length === 0) throw new InputError(`--estimators: name at least one of ${V2_VARIANTS.map((x) => x.name).join(', ')}`);
  const settings: V2UnitSettings = { draws: o.draws, steps: o.steps, map: o.map, seed: o.seed, criticHidden: o.criticHidden };
  const units = v2EstimateUnits(o.rhos, o.inputs, o.protocols, variants);
  for (const u of units) checkUnit(u, settings, o.modDim ?? 3072);
  return { settings, units };
}

/** The units of each stage (a job array's sizes), after every check a run makes first. */
export function v2UnitCounts(o: V2StudyOptions): { datasets: number; estimates: number } {
  const { units } = plan(o);
  return { datasets: o.rhos.length, estimates: units.length };
}

export async function v2StudyCommand(o: V2StudyOptions): Promise<V2StudyResult> {
  const say = o.say ?? (() => {});
  const { settings, units } = plan(o);
  const out = resolve(o.out);
  const writesReport = o.stage === 'all' || o.stage === 'report';
  if (writesReport) prepareOutputFolder(out, o.overwrite);
  mkdirSync(out, { recursive: true });
  const datasetOptions = { out, map: o.map, draws: o.draws, threads: o.threads, modDim: o.modDim };
  const result: V2StudyResult = { stage: o.stage, generated: 0, estimated: 0, reused: 0 };

  if (o.stage === 'all' || o.stage === 'generate') {
    const rhos = o.stage === 'all' ? o.rhos : unitsOfTask(o.rhos, o.jobId, o.numJobs);
    for (const rho of rhos) {
      say(`study v2: dataset ρ_θ = ${rho}`);
      const r = await generateV2Dataset(datasetOptions, rho, o.stream);
      if (!r.skipped) result.generated++;
    }
  }

  if (o.stage === 'all' || o.stage === 'estimate') {
    const mine = o.stage === 'all' ? units : unitsOfTask(units, o.jobId, o.numJobs);
    // every settings conflict is found before the first estimate runs
    const todo = mine.filter((u) => finishedUnit(out, u, settings, o.overwrite) === null);
    result.reused = mine.length - todo.length;
    if (result.reused) say(`study v2: ${result.reused} of this task's ${mine.length} estimates are done (units/), reused`);
    const progress = new Progress({
      label: 'v2 estimates',
      total: todo.length * o.steps,
      unit: 'steps',
      stream: o.stream,
      logFile: join(out, o.numJobs > 1 ? `study-v2.task${o.jobId}.log` : 'study-v2.log'),
    });
    const pools = new PoolCache();
    for (const [k, unit] of todo.entries()) {
      const r = await runV2Unit(unit, v2DatasetFolder(out, unit.rho), out, settings, pools, progress, k * o.steps);
      progress.update((k + 1) * o.steps);
      progress.logOnly(`${unit.id}: ${r.estimate.toFixed(4)} (truth ${r.truth.toFixed(4)}) in ${r.seconds.toFixed(1)} s`);
      result.estimated++;
    }
    progress.finish();
  }

  if (writesReport) {
    const found: V2UnitResult[] = [];
    for (const u of units) {
      const r = finishedUnit(out, u, settings, false);
      if (r) found.push(r);
    }
    if (found.length === 0) throw new InputError(`${out}: no estimate of these settings is done yet (units/ holds none); run --stage estimate first`);
    if (found.length < units.length)
      say(`study v2: ${units.length - found.length} of ${units.length} estimates are missing; the report covers the ${found.length} done`);
    result.readme = await writeV2Report(out, found, {
      command: o.command,
      fullCommand: FULL_SIZE_COMMAND,
      draws: o.draws,
      steps: o.steps,
      map: o.map,
      criticHidden: o.criticHidden,
      expectedUnits: units.length,
      protocols: o.protocols,
    });
  }
  return result;
}

/** The preset's defaults: the full-size study. */
export const V2_DEFAULTS = {
  rhos: V2_RHO_THETA,
  inputs: V2_INPUTS,
  protocols: V2_PROTOCOLS,
  estimators: V2_VARIANTS.map((v) => v.name),
  draws: V2_FULL_SIZE.draws,
  steps: V2_FULL_SIZE.steps,
  criticHidden: V2_FULL_SIZE.criticHidden,
  map: 'flow' as V2Map,
};
