/**
 * One estimate of the v2 study: a fork estimator under one protocol on one input of one ρ_θ
 * dataset, written to `units/<id>.json` as a whole file. The file records the settings that
 * made it; a unit whose file holds the same settings is done and skipped, so a rerun (a
 * requeued array task, a second copy of it) continues where the study stopped.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, type Progress } from '@mmmi/cli-kit';
import { checkVariationalInput, resolveOptions, type VariationalOptions } from '@mmmi/estimators';
import { writeFileAtomic } from '@mmmi/formats';
import { openDataset } from '../../dataset.js';
import { resolveEstimators } from '../../estimator-registry.js';
import { pairedFeatures, parseFeatures } from '../../features.js';
import { parsePair, type MiPair } from '../../pairs.js';
import { loadPool, type DrawPool } from '../../pool.js';
import { FORK_CRITIC, PROTOCOL_OPTIONS } from './preset.js';
import type { V2EstimateUnit } from './units.js';

/** The v2 study's one pair. */
export const V2_PAIR = 'X1;X2';

/** What makes a unit's result: a file made with other settings is not this unit's. */
export interface V2UnitSettings {
  draws: number;
  steps: number;
  map: string;
  seed: number;
  /** Width of the critic's three hidden layers (the fork's: 256). */
  criticHidden: number;
}

export interface V2UnitResult {
  format: 'mmmi-v2-unit';
  version: 1;
  id: string;
  settings: V2UnitSettings;
  rho: number;
  input: string;
  protocol: string;
  estimator: string;
  /** The dataset it read (name, shard) and the exact I(X_1; X_2) its manifest gives, nats. */
  dataset: string;
  truth: number;
  estimate: number;
  standardError: number | null;
  seconds: number;
  /** What the estimator reports of its run: steps trained, early stop, the protocol it used. */
  run: Record<string, unknown>;
}

export const unitFile = (out: string, id: string): string => join(out, 'units', `${id}.json`);

/** The unit's finished result, or null; a result of other settings is refused unless `overwrite`. */
export function finishedUnit(out: string, unit: V2EstimateUnit, settings: V2UnitSettings, overwrite: boolean): V2UnitResult | null {
  const file = unitFile(out, unit.id);
  if (!existsSync(file)) return null;
  let found: V2UnitResult;
  try {
    found = JSON.parse(readFileSync(file, 'utf8')) as V2UnitResult;
  } catch {
    if (overwrite) return null;
    throw new InputError(`${file} is not a v2 study result (unreadable JSON); remove it, or rerun with --overwrite to replace it`);
  }
  if (found.format !== 'mmmi-v2-unit') {
    if (overwrite) return null;
    throw new InputError(`${file} is not a v2 study result; remove it, or rerun with --overwrite to replace it`);
  }
  if (JSON.stringify(found.settings) !== JSON.stringify(settings)) {
    if (overwrite) return null;
    throw new InputError(
      `${file} was made with other settings (${JSON.stringify(found.settings)}; now ${JSON.stringify(settings)}): give another --out, or --overwrite to replace the study's results`,
    );
  }
  return found;
}

/** The estimator options of a unit: the fork's critic, the variant's own, the protocol's. */
export function unitOptions(unit: V2EstimateUnit, settings: V2UnitSettings): VariationalOptions & Record<string, unknown> {
  return {
    seed: settings.seed,
    ...FORK_CRITIC,
    hidden: settings.criticHidden,
    steps: settings.steps,
    ...unit.variant.options,
    ...PROTOCOL_OPTIONS[unit.protocol],
  };
}

/** Refuses, before any work, a unit whose options cannot run on `draws` draws of two d-dimensional sides. */
export function checkUnit(unit: V2EstimateUnit, settings: V2UnitSettings, modDim: number): void {
  try {
    resolveEstimators([unit.variant.estimator]);
    const options = resolveOptions(unitOptions(unit, settings));
    const n = settings.draws;
    checkVariationalInput({ n, dx: modDim, dy: modDim, x: new Float64Array(n * modDim), y: new Float64Array(n * modDim) }, options);
  } catch (e) {
    throw new InputError(`${unit.id}: ${(e as Error).message} (here: raise --draws; the fork's critic trains on batches of 64)`);
  }
}

/** A ρ_θ dataset's draws of one input, with the pair's groups and exact MI from its manifest. */
interface LoadedDraws {
  pool: DrawPool;
  pair: MiPair;
  dataset: string;
}

/** Keeps the last pool loaded: a task's units come in (ρ, input) order, so each pool loads once. */
export class PoolCache {
  private key = '';
  private pool: Promise<LoadedDraws> | null = null;

  get(folder: string, input: V2EstimateUnit['input'], draws: number): Promise<LoadedDraws> {
    const key = `${folder}|${input}|${draws}`;
    if (key !== this.key || !this.pool) {
      this.key = key;
      this.pool = (async () => {
        const data = await openDataset(folder);
        try {
          const pair = parsePair(V2_PAIR, data.structure);
          if (data.count < draws) throw new InputError(`${data.source}: ${data.count} draws, the study needs ${draws}`);
          return { pool: await loadPool(data, draws, [0, 1], input), pair, dataset: `${data.name} (${data.source})` };
        } finally {
          await data.close();
        }
      })();
    }
    return this.pool;
  }
}

/** Runs one unit on its dataset folder and writes its result. */
export async function runV2Unit(
  unit: V2EstimateUnit,
  folder: string,
  out: string,
  settings: V2UnitSettings,
  pools: PoolCache,
  progress?: Progress,
  stepsBefore = 0,
): Promise<V2UnitResult> {
  const { pool, pair, dataset } = await pools.get(folder, unit.input, settings.draws);
  const rows = Array.from({ length: settings.draws }, (_, i) => i);
  const { data } = pairedFeatures(pool, pair.a, pair.b, parseFeatures(unit.input), rows, []);
  const [entry] = resolveEstimators([unit.variant.estimator]);
  const estimate = await entry.estimator.estimate(data, {
    ...unitOptions(unit, settings),
    onProgress: (point: { step: number }) => progress?.update(stepsBefore + point.step),
  });
  const details = estimate.details ?? {};
  const result: V2UnitResult = {
    format: 'mmmi-v2-unit',
    version: 1,
    id: unit.id,
    settings,
    rho: unit.rho,
    input: unit.input,
    protocol: unit.protocol,
    estimator: unit.variant.name,
    dataset,
    truth: pair.truth,
    estimate: estimate.estimate,
    standardError: estimate.standardError,
    seconds: estimate.seconds,
    run: Object.fromEntries(['protocol', 'steps', 'stoppedEarly', 'keptStep', 'backend', 'critic'].filter((k) => k in details).map((k) => [k, details[k]])),
  };
  mkdirSync(join(out, 'units'), { recursive: true });
  await writeFileAtomic(unitFile(out, unit.id), [Buffer.from(`${JSON.stringify(result, null, 1)}\n`)]);
  return result;
}
