/**
 * The grid a contrastive study runs along: datasets whose MI takes the values asked for.
 *
 *  - `--targets "I(X1;X2)=0.5,1,2,4"` (or `=0.5..4:8`, 8 values evenly): one designed dataset per
 *    value. latents' inverse design (`designGrid`: the base argument file's coefficients in
 *    `--vary` solved, by Levenberg–Marquardt on the exact MI, so that the query takes the value;
 *    each point starts from the previous design) gives each point's argument file
 *    (`designedArgumentFile`: the base's flags with the designed coefficients). A value the
 *    design cannot reach is refused, with the nearest value it found and why, before anything
 *    is generated.
 *  - `--data <folder>` (repeatable): existing datasets, one point each, in the order given.
 *
 * Each point has a slug (its folder name under the report's points/ and datasets/) and a
 * fingerprint of everything its result depends on, so that a rerun reuses exactly the points
 * whose result it would compute again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { GENERATION_FLAGS, TRANSFORMS } from '@mmmi/dataset-generation';
import {
  designedArgumentFile,
  designGrid,
  parseArgs,
  parseTarget,
  parseTargetGrid,
  parseVary,
  prepareDesignBase,
  type MiTarget,
  type ParsedArgs,
} from '@mmmi/latents';

/** The paper's Fig. 1a configuration: the design's default base. */
export const DEFAULT_BASE = fileURLToPath(new URL('../../../../generation_arguments/simple_fig1_DAG.txt', import.meta.url));

/** Model-free maps (dataset-generation's transforms) and the built-in flow model. */
export const CONTRASTIVE_MAPS = [...Object.keys(TRANSFORMS), 'flow'] as const;

export interface TargetGrid {
  label: string;
  query: MiTarget['query'];
  values: number[];
}

/** `I(A;B|C)=v1,v2,…` or `I(A;B|C)=a..b:n`, in the MI table's notation. */
export function parseTargets(text: string, nMod: number): TargetGrid {
  const eq = text.lastIndexOf('=');
  if (eq <= 0 || eq === text.length - 1)
    throw new InputError(`--targets ${text}: expected a query and its values, e.g. "I(X1;X2)=0.5,1,2,4" or "I(X1;X2)=0.5..4:8"`);
  const rhs = text.slice(eq + 1).trim();
  if (rhs.includes('..')) {
    const g = parseTargetGrid(text, nMod);
    return { label: g.label, query: g.query, values: g.values };
  }
  const query = text.slice(0, eq).trim();
  const values = rhs.split(',').map((v) => v.trim());
  if (values.some((v) => v === '' || !Number.isFinite(Number(v))))
    throw new InputError(`--targets ${text}: the values must be numbers separated by commas (nats), e.g. 0.5,1,2,4`);
  const parsed = values.map((v) => parseTarget(`${query}=${v}`, nMod));
  const seen = new Set<number>();
  for (const t of parsed) {
    if (seen.has(t.value)) throw new InputError(`--targets ${text}: ${t.value} is asked for twice`);
    seen.add(t.value);
  }
  return { label: parsed[0].label, query: parsed[0].query, values: parsed.map((t) => t.value) };
}

export interface DesignRequest {
  /** The base argument file. */
  base: string;
  /** Values per modality of the datasets (default: the base's). */
  modDim?: number;
  /** Coefficients the design changes (default latents' rho_theta_arg,rho_arg). */
  vary?: string;
  targets: string;
  /** Checks the run against the base's modalities and dimension before the design is solved (throws InputError). */
  check?: (nMod: number, modDim: number) => void;
}

export interface DesignedPoint {
  /** e.g. 'I(X_1; X_2) = 0.5'. */
  label: string;
  /** Folder name: 'mi-0.5'. */
  slug: string;
  target: MiTarget;
  /** The exact MI the designed model achieves. */
  achieved: number;
  /** The complete argument file of the point's dataset. */
  argumentFile: string;
}

export interface DesignedGrid {
  grid: TargetGrid;
  points: DesignedPoint[];
  nMod: number;
  modDim: number;
}

/** A folder name for a number: '0.5' → 'mi-0.5', '-1' → 'mi-m1'. */
export const valueSlug = (v: number): string =>
  `mi-${String(v)
    .replace(/-/g, 'm')
    .replace(/[^\w.]/g, '_')}`;

/** Designs one argument file per target value; refuses the grid when a value cannot be met. */
export async function designTargets(r: DesignRequest): Promise<DesignedGrid> {
  if (!existsSync(r.base)) throw new InputError(`--base ${r.base}: no such argument file`);
  const tokens = [`@${r.base}`, ...(r.modDim !== undefined ? ['--mod_dim', String(r.modDim)] : [])];
  // the generator's table: a base file may name the map or the scaling besides the model
  const parsed = parseArgs(tokens, GENERATION_FLAGS) as unknown as ParsedArgs;
  const base = await prepareDesignBase(parsed, parseVary(r.vary));
  r.check?.(base.spec.nMod, base.spec.modDim);
  const grid = parseTargets(r.targets, base.spec.nMod);
  const results = await designGrid(base, grid, []);
  const missed = results.map((res, i) => ({ res, value: grid.values[i] })).filter(({ res }) => !res.met);
  if (missed.length)
    throw new InputError(
      `--targets: ${missed
        .map(
          ({ res, value }) =>
            `${grid.label} = ${value} cannot be reached by varying ${parseVary(r.vary).join(', ')} of ${r.base} (the nearest design gives ${res.achieved[0].toPrecision(6)}${
              res.conflicts.length ? `: ${res.conflicts.map((c) => c.why).join('; ')}` : ''
            })`,
        )
        .join('; ')}`,
    );
  const points = results.map((res, i) => ({
    label: `${grid.label} = ${grid.values[i]}`,
    slug: valueSlug(grid.values[i]),
    target: res.targets[0],
    achieved: res.achieved[0],
    argumentFile: designedArgumentFile(base, res, r.base),
  }));
  return { grid, points, nMod: base.spec.nMod, modDim: base.spec.modDim };
}

/** The generator's tokens for a designed point's dataset (the map's flags after the argument file: later tokens win). */
export function generationTokens(o: { argumentFile: string; map: string; folder: string; name: string; draws: number }): string[] {
  const map = o.map === 'flow' ? ['--checkpoint_path', 'default'] : ['--transform', o.map];
  return [
    `@${o.argumentFile}`,
    ...map,
    '--dataset_name',
    o.name,
    '--dataset_loc',
    o.folder,
    '--dataset_size',
    String(o.draws),
    '--job_id',
    '0',
    '--preview',
    '0',
  ];
}

/** sha256 of a JSON value: a point result is reused only under the same fingerprint. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
