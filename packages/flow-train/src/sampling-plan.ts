/**
 * What a checkpoint samples with: the one rule that `mmmi-train sample` and `export`,
 * `--init_from`, dataset generation's flow map and the FID hook share.
 *
 *  - **The run's arguments.** A PyTorch checkpoint of the paper's trainer: `args.json` beside
 *    it when there is one (the trainer writes it; it wins over the pickled `args`), else the
 *    pickled `args`. Ours: the training arguments recorded in the checkpoint.
 *  - **Weights.** The EMA weights when the checkpoint has them and the arguments set
 *    `use_ema`; the checkpoint's un-prefixed weights when they are the EMA already (a
 *    weights-only export, or a PyTorch checkpoint whose pickled args set `use_ema`); else
 *    the live weights. (A training run in memory evaluates with its EMA when it keeps one,
 *    which is the same rule.)
 *  - **Solver, grid, guidance.** Ours: the settings recorded at training. PyTorch: the
 *    arguments' `ode_method`, `ode_options`, `cfg_scale`, `edm_schedule`. The time grid is
 *    the settings' (EDM or uniform with `nfe` steps, or `step_size` subdivisions of [0, 1]),
 *    except that dataset generation (`generation: true`) integrates a PyTorch checkpoint on
 *    the reference generation script's 10 evenly spaced times unless a `step_size` is given.
 *  - **The registry's recipe**: a registered model's entry may name the sampling recipe
 *    measured for it (`sampling`: ode_method, nfe, grid, cfg_scale), applied over the
 *    checkpoint's settings as if the caller had passed those flags.
 *  - **Overrides** (the caller's flags) come last: `odeMethod`, `cfgScale`, `nfe` (grid steps;
 *    drops a `step_size`) and `grid` (reference, uniform, edm with `nfe` steps, or the
 *    checkpoint's); dopri5 integrates over [0, 1] and picks its own steps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '@mmmi/cli-kit';
import type { FlowCheckpoint, SamplingSettings } from './checkpoint.js';
import type { RegistryEntry } from './registry.js';
import { samplingGrid } from './sample.js';
import { parseOdeMethod } from './solvers/index.js';
import { edmGrid, referenceGenerationGrid, uniformGrid } from './time-grid.js';
import type { UNetConfig } from './unet/config.js';
import type { ParamValues } from './unet/params.js';

export const GRID_KINDS = ['reference', 'uniform', 'edm', 'checkpoint'] as const;
export type GridKind = (typeof GRID_KINDS)[number];

export interface SamplingOverrides {
  odeMethod?: string;
  /** Grid steps (the time grid becomes `grid`'s kind with this many steps). */
  nfe?: number;
  grid?: GridKind;
  cfgScale?: number;
}

export interface RunArguments {
  args: Record<string, unknown>;
  /** 'the checkpoint' or the path of the args.json that was read. */
  source: string;
}

export interface SamplingPlan {
  /** The weights to sample with, and which they are. */
  weights: ParamValues;
  weightsKind: 'ema' | 'live';
  settings: SamplingSettings;
  /** The time grid; undefined when `settings.odeOptions.step_size` subdivides [0, 1] (fixed-grid methods). */
  timeGrid: number[] | undefined;
  /** Where the arguments came from. */
  argsSource: string;
}

/** The run's arguments (see the module comment); a malformed args.json is an error naming it. */
export function runArguments(ckpt: FlowCheckpoint): RunArguments {
  if (ckpt.kind === 'pytorch' && ckpt.file) {
    const beside = join(dirname(ckpt.file), 'args.json');
    if (existsSync(beside)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(beside, 'utf8'));
      } catch (e) {
        throw new Error(`${beside}: not valid JSON (${(e as Error).message})`, { cause: e });
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${beside}: expected a JSON object of the training arguments`);
      return { args: parsed as Record<string, unknown>, source: beside };
    }
  }
  return { args: ckpt.meta.trainArgs, source: 'the checkpoint' };
}

/** The weights a checkpoint samples with (EMA or live; see the module comment). */
export function weightsToSampleWith(ckpt: FlowCheckpoint, run: RunArguments = runArguments(ckpt)): { values: ParamValues; kind: 'ema' | 'live' } {
  if (ckpt.meta.weights === 'ema') return { values: ckpt.weights, kind: 'ema' };
  if (ckpt.ema && run.args.use_ema) return { values: ckpt.ema, kind: 'ema' };
  return { values: ckpt.weights, kind: 'live' };
}

function settingsFromArgs(args: Record<string, unknown>, fallback: SamplingSettings): SamplingSettings {
  const raw = args.ode_options && typeof args.ode_options === 'object' && !Array.isArray(args.ode_options) ? (args.ode_options as Record<string, unknown>) : {};
  const odeOptions = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  return {
    odeMethod: String(args.ode_method ?? fallback.odeMethod),
    odeOptions,
    cfgScale: Number(args.cfg_scale ?? fallback.cfgScale),
    edmSchedule: args.edm_schedule === undefined ? fallback.edmSchedule : Boolean(args.edm_schedule),
  };
}

/**
 * Weights, solver settings and time grid for sampling `ckpt` (see the module comment).
 * `generation`: dataset generation's convention for PyTorch checkpoints (the reference grid).
 */
export function samplingPlan(ckpt: FlowCheckpoint, options: { overrides?: SamplingOverrides; generation?: boolean } = {}): SamplingPlan {
  const run = runArguments(ckpt);
  const { values, kind } = weightsToSampleWith(ckpt, run);
  const pytorch = ckpt.kind === 'pytorch';
  const recorded = ckpt.meta.sampling;
  const settings: SamplingSettings = pytorch ? settingsFromArgs(run.args, recorded) : { ...recorded, odeOptions: { ...recorded.odeOptions } };
  const referenceByDefault = pytorch && options.generation === true;
  if (referenceByDefault) settings.edmSchedule = false;
  let timeGrid: number[] | undefined = referenceByDefault && settings.odeOptions.step_size === undefined ? referenceGenerationGrid() : undefined;

  const o = { ...registryOverrides(ckpt), ...definedOnly(options.overrides ?? {}) };
  if (o.odeMethod !== undefined) settings.odeMethod = parseOdeMethod(o.odeMethod);
  if (o.cfgScale !== undefined) settings.cfgScale = o.cfgScale;
  if (o.nfe !== undefined) settings.odeOptions = { ...settings.odeOptions, nfe: o.nfe };
  if (o.grid !== undefined || o.nfe !== undefined) {
    const gridKind = o.grid ?? (referenceByDefault ? 'uniform' : settings.edmSchedule ? 'edm' : 'uniform');
    const nfe = settings.odeOptions.nfe ?? 9;
    if (gridKind === 'edm' && nfe < 2)
      throw new InputError(
        `${nfe} time-grid step${nfe === 1 ? '' : 's'} on the EDM grid (${options.overrides?.grid === undefined ? "the model's recipe" : 'as asked'}): it needs at least 2; ask for more steps, or a uniform grid`,
      );
    delete settings.odeOptions.step_size;
    if (gridKind === 'reference') timeGrid = referenceGenerationGrid();
    else if (gridKind === 'uniform') timeGrid = uniformGrid(nfe);
    else if (gridKind === 'edm') timeGrid = edmGrid(nfe);
    else timeGrid = referenceByDefault ? referenceGenerationGrid() : samplingGrid(settings);
  }
  if (parseOdeMethod(settings.odeMethod) === 'dopri5') timeGrid = [0, 1];
  else if (timeGrid === undefined && settings.odeOptions.step_size === undefined) timeGrid = samplingGrid(settings);
  return { weights: values, weightsKind: kind, settings, timeGrid, argsSource: run.source };
}

/** The registry entry's measured recipe as sampling overrides (none for a file outside a registry). */
function registryOverrides(ckpt: FlowCheckpoint & { resolved?: { entry?: RegistryEntry } }): SamplingOverrides {
  const r = ckpt.resolved?.entry?.sampling;
  if (!r) return {};
  return definedOnly({ odeMethod: r.ode_method, nfe: r.nfe, grid: r.grid, cfgScale: r.cfg_scale });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Whether two model configurations describe the same architecture (their names aside). */
export function sameArchitecture(a: UNetConfig, b: UNetConfig): boolean {
  return JSON.stringify({ ...a, name: '' }) === JSON.stringify({ ...b, name: '' });
}
