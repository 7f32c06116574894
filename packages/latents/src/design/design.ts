/**
 * Inverse design: the coefficients of a base configuration that give the mutual
 * information a user asks for.
 *
 * Unknowns: the varied coefficients (coefficients.ts). Residuals: r_k = I_k(coefficients) −
 * target_k, each I_k the exact MI of the constructive model (mi.ts) at the base's dimension,
 * masks and templates; the alignment scale is left out while solving (MI does not change
 * when every latent is scaled) and the achieved values are those of the complete model.
 * Solved by Levenberg–Marquardt (least-squares.ts) on the residuals in nats; where that
 * stalls, by continuation: the goals move in steps from what the start achieves to the
 * targets in φ = asinh space (MI at d = 3072 runs from 0 to thousands of nats, so a far
 * target is reached through a path of near problems), then Levenberg–Marquardt in nats
 * again from where the path got to, with seeded restarts if it broke off.
 *
 * Feasibility is part of the answer: when the best design misses a target by more than the
 * tolerance, the result says so, names the conflicting targets (laws of MI first, which
 * prove it; then each target whose removal lets the others be met, which the solver shows
 * but a nonconvex problem cannot prove) and is the nearest design found, in the Euclidean
 * norm of the MI residuals, in nats.
 */
import { InputError } from '@mmmi/cli-kit';
import { constructiveStructure } from '../construct.js';
import { conditionalMutualInformation } from '../mi.js';
import { EXTREME_FIX, extremeFlagValues } from '../numeric-limits.js';
import { buildLatentModel, type LatentModel } from '../model.js';
import { specFromArgs, type ConstructiveSpec } from '../spec.js';
import { loadTemplates, type TemplateSet } from '../templates.js';
import type { ParsedArgs } from '../args.js';
import { coefficientSlots, flagValues, fromUnknowns, toUnknowns, type CoefficientSlot, type DesignableFlag } from './coefficients.js';
import { necessaryConditionConflicts, type Conflict } from './feasibility.js';
import { structuralZeroConflicts } from './structural-zero.js';
import { leastSquaresWithRestarts, type LeastSquaresProblem } from './least-squares.js';
import type { MiTarget } from './targets.js';

export interface DesignOptions {
  /** |achieved − target| allowed, nats (default 1e-10). */
  tol?: number;
  /** Restarts after the run from the base coefficients (default 8). */
  restarts?: number;
  seed?: number;
}

/** A base configuration ready for designs: its specification, templates and varied slots. */
export interface DesignBase {
  parsed: ParsedArgs;
  spec: ConstructiveSpec;
  templates: TemplateSet;
  vary: DesignableFlag[];
  slots: CoefficientSlot[];
}

export interface DesignResult {
  /** The designed specification (complete, alignment included as the base asks). */
  spec: ConstructiveSpec;
  model: LatentModel;
  /** The varied flags' designed values. */
  values: Record<string, number | number[]>;
  targets: MiTarget[];
  /** The complete model's MI of each target, nats. */
  achieved: number[];
  /** max_k |achieved_k − target_k|. */
  maxError: number;
  met: boolean;
  tol: number;
  conflicts: Conflict[];
  /** Notes on the problem's shape (e.g. more targets than unknowns). */
  notes: string[];
  evaluations: number;
}

export async function prepareDesignBase(parsed: ParsedArgs, vary: DesignableFlag[]): Promise<DesignBase> {
  const spec = specFromArgs(parsed);
  if (spec.paradigm !== 'constructive') {
    throw new InputError(
      'design changes the coefficients of the constructive paradigm (η, ρ_θ, ρ, α, β); this configuration uses the sampling paradigm, whose covariances you set directly',
    );
  }
  const templates = await loadTemplates(spec.templates, spec.nUTheta, spec.nMod, spec.modDim);
  return { parsed, spec, templates, vary, slots: coefficientSlots(spec, vary) };
}

function targetValues(base: DesignBase, spec: ConstructiveSpec, targets: readonly MiTarget[]): number[] {
  const structure = constructiveStructure(spec, base.templates);
  return targets.map((t) => conditionalMutualInformation(structure, t.query.a, t.query.b, t.query.c));
}

/** Model evaluations the continuation may spend (about 10 s at N_mod = 10, d = 3072). */
const CONTINUATION_BUDGET = 20_000;

/** φ(v) = asinh(v): linear near 0 (conditional MI that vanishes), logarithmic for the hundreds of nats that shared d-dimensional latents give. */
const phi = Math.asinh;

/**
 * Residuals φ(I_k(x)) − goal_k (`scaled`), or I_k(x) − goal_k; null at a degenerate model
 * (zero variance, a singular block), which the solver treats as a failed step.
 */
function problem(base: DesignBase, targets: readonly MiTarget[], goals: readonly number[], scaled: boolean): LeastSquaresProblem {
  return {
    n: base.slots.length,
    residuals(x) {
      try {
        const values = targetValues(base, fromUnknowns(base.spec, base.slots, x), targets);
        const r = Float64Array.from(values, (v, k) => (scaled ? phi(v) : v) - goals[k]);
        return r.every(Number.isFinite) ? r : null;
      } catch {
        return null;
      }
    },
  };
}

/**
 * Continuation: the goals move from what the start achieves to the targets, in φ-space,
 * each step solved from the last (halving a step that fails, down to 1/1024); then the
 * targets themselves, in nats. A far target is then reached through a path of solvable
 * problems instead of one jump across a landscape where MI spans orders of magnitude.
 * Returns the unknowns reached and the fraction of the path done.
 */
function continuation(base: DesignBase, targets: readonly MiTarget[], x0: Float64Array, tol: number): { x: Float64Array; done: number; evaluations: number } {
  const startValues = targetValues(base, fromUnknowns(base.spec, base.slots, x0), targets).map(phi);
  const endValues = targets.map((t) => phi(t.value));
  let x = x0;
  let done = 0;
  let step = 1 / 8;
  let evaluations = 0;
  // a budget of model evaluations bounds a path that crawls (a target out of reach)
  while (done < 1 && step >= 1 / 1024 && evaluations < CONTINUATION_BUDGET) {
    const s = Math.min(1, done + step);
    const goals = startValues.map((v, k) => v + s * (endValues[k] - v));
    const r = leastSquaresWithRestarts(problem(base, targets, goals, true), x, { tol: Math.max(tol, 1e-9) * 1e-2, restarts: 0, seed: 0, maxIterations: 100 });
    evaluations += r?.evaluations ?? 0;
    if (r && r.maxAbs <= 1e-6) {
      x = r.x;
      done = s;
      step = Math.min(step * 2, 1 / 4);
    } else {
      step /= 2;
    }
  }
  return { x, done, evaluations };
}

/**
 * From x0: least squares on the targets in nats; where that stalls short of them, the
 * continuation, then least squares again from where the path got to (with restarts when
 * it broke off).
 */
function solveFrom(base: DesignBase, targets: readonly MiTarget[], x0: Float64Array, options: { tol: number; restarts: number; seed: number }) {
  const direct = problem(
    base,
    targets,
    targets.map((t) => t.value),
    false,
  );
  const first = leastSquaresWithRestarts(direct, x0, { ...options, restarts: 0, maxIterations: 300 });
  if (first && first.maxAbs <= options.tol) return first;
  const path = continuation(base, targets, x0, options.tol);
  const polish = leastSquaresWithRestarts(direct, path.x, { ...options, restarts: path.done === 1 ? 0 : options.restarts, maxIterations: 300 });
  const evaluations = (first?.evaluations ?? 0) + path.evaluations + (polish?.evaluations ?? 0);
  const best = [first, polish].filter((r) => r !== null).sort((u, v) => u!.norm - v!.norm)[0];
  return best ? { ...best, evaluations } : null;
}

/**
 * Solves for `targets` from `start` (default: the base's coefficients). The targets' queries
 * must fit the base's modalities (targets.ts checks them against N_mod).
 */
export async function designCoefficients(
  base: DesignBase,
  targets: readonly MiTarget[],
  options: DesignOptions = {},
  start?: ConstructiveSpec,
): Promise<DesignResult> {
  if (targets.length === 0) throw new InputError('design needs at least one target (--target, --target_grid or --target_profile)');
  const tol = options.tol ?? 1e-10;
  const from = start ?? base.spec;
  // a query the model cannot answer (θ on both sides, a singular group) is the input's fault: say so before solving
  try {
    targetValues(base, from, targets);
  } catch (e) {
    // extreme flag values are the likelier cause of a numeric failure: name them first
    const extreme = extremeFlagValues(base.spec);
    const cause = extreme.length ? ` (${extreme.join('; ')}: extreme for float64; ${EXTREME_FIX})` : '';
    throw new InputError(`a target cannot be evaluated on this model${cause}: ${(e as Error).message}`);
  }
  const notes: string[] = [];
  if (targets.length > base.slots.length) {
    notes.push(
      `${targets.length} targets and ${base.slots.length} free coefficients (--vary ${base.vary.join(',')}): more targets than unknowns can in general not all be met`,
    );
  }
  // laws of MI and the DAG's structural zeros: both are proofs, found before solving
  const zeroConflicts = structuralZeroConflicts(base.spec, base.templates, base.vary, targets, tol);
  const lawConflicts = [...necessaryConditionConflicts(targets), ...zeroConflicts];
  const solveOptions = { tol, restarts: options.restarts ?? 8, seed: options.seed ?? 0 };
  // a target the DAG fixes at 0 has a residual no coefficient changes: the nearest design is that of the others
  const fixedAtZero = new Set(zeroConflicts.flatMap((c) => c.targets));
  const solvable = targets.filter((t) => !fixedAtZero.has(t.label));
  const x0 = toUnknowns(from, base.slots);
  // with conflicts by law, the nearest design is still sought (fewer restarts: it cannot meet them)
  const nearest = solvable.length
    ? solveFrom(base, solvable, x0, lawConflicts.length ? { ...solveOptions, restarts: 2 } : solveOptions)
    : { x: x0, evaluations: 0 };
  if (!nearest) throw new InputError('no valid model near the base configuration: every coefficient vector tried was degenerate');
  let evaluations = nearest.evaluations;
  const designed = fromUnknowns(base.spec, base.slots, nearest.x);
  const model = await buildLatentModel(designed);
  const achieved = targets.map((t) => conditionalMutualInformation(model.structure, t.query.a, t.query.b, t.query.c));
  const maxError = Math.max(...achieved.map((v, k) => Math.abs(v - targets[k].value)));
  const met = lawConflicts.length === 0 && maxError <= tol;
  const conflicts = [...lawConflicts];
  if (!met && lawConflicts.length === 0) {
    // which targets stand in the way: each one whose removal lets all the others be met
    for (let k = 0; k < targets.length && targets.length > 1; k++) {
      const rest = targets.filter((_, i) => i !== k);
      const r = solveFrom(base, rest, nearest.x, { ...solveOptions, restarts: 2 });
      evaluations += r?.evaluations ?? 0;
      if (r && r.maxAbs <= tol)
        conflicts.push({
          targets: [targets[k].label],
          why: `without ${targets[k].label} the other targets are met, with it the solver finds no design: it conflicts with them on this model`,
        });
    }
    if (conflicts.length === 0) {
      conflicts.push({
        targets: targets.map((t) => t.label),
        why: 'the solver finds no design meeting them, nor the rest when any one is dropped: out of reach of the varied coefficients, or of the solver from this start (try more --restarts, another --seed, or more coefficients in --vary)',
      });
    }
  }
  return { spec: designed, model, values: flagValues(designed, base.vary), targets: [...targets], achieved, maxError, met, tol, conflicts, notes, evaluations };
}

/** A family of designs along a grid of one target's values (each solved from the previous design). */
export async function designGrid(
  base: DesignBase,
  grid: { label: string; query: MiTarget['query']; values: number[] },
  fixed: readonly MiTarget[],
  options: DesignOptions = {},
): Promise<DesignResult[]> {
  const results: DesignResult[] = [];
  let start: ConstructiveSpec | undefined;
  for (const value of grid.values) {
    const r = await designCoefficients(base, [{ label: grid.label, query: grid.query, value }, ...fixed], options, start);
    results.push(r);
    if (r.met) start = r.spec;
  }
  return results;
}
