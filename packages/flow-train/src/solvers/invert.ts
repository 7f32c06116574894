/**
 * The inverse of a fixed-grid integration: the state at the grid's first time from the
 * state at its last, undoing the forward solver's steps one by one from the last back to
 * the first.
 *
 * A forward step of a fixed-grid method (fixed-grid.ts) is x_{n+1} = x_n + Φ(x_n, t_n, h),
 * h = t_{n+1} − t_n, with Φ the method's increment (`stepIncrement`, the same function the
 * forward pass calls, so the inverse undoes exactly the formula that made the data). Given
 * x_{n+1}, x_n is the fixed point of
 *
 *   g(x) = x_{n+1} − Φ(x, t_n, h),
 *
 * found by the iteration x ← g(x) from the backward Euler guess x_{n+1} − h·v(x_{n+1}, t_{n+1}),
 * until the largest change of one iteration, max|Δx|, is below tolerance·max(1, max|x_{n+1}|)
 * (or `maxIterations` is reached). Convergence: g is a contraction, and the iteration
 * converges geometrically to the unique fixed point, when Lip(Φ) = h·Lip(Φ/h) < 1, i.e. when
 * h·L < 1 for a velocity field of Lipschitz constant L (Φ/h → v as h → 0; for heun2 and rk4,
 * Lip(Φ) ≤ h·L·(1 + h·L/2 + …)). A grid too coarse for the field (h·L ≥ 1 on some step) is
 * not hidden: that step's iteration stalls or diverges, and the report names it with its
 * iterations, its last change and the contraction ratio the iteration showed, (last change /
 * first change)^(1/(iterations − 1)), an estimate of Lip(Φ) on that step. A step's iteration
 * stops early when it diverges (its change grew five times running) or when its observed rate
 * predicts it cannot meet the tolerance within the cap. Every step is reported, converged or
 * not, and the inverse goes on with the last iterate.
 *
 * Convergence certifies a preimage near the fixed point found, not that the step is one-to-one:
 * where Lip(Φ) ≥ 1 somewhere between two states, both may step to the same x_{n+1}. The
 * forward residual cannot tell them apart; comparing with the known start can (`verify --invert`).
 *
 * Float32 throughout, as the forward pass: the fixed point satisfies x_n + Φ(x_n) = x_{n+1}
 * up to float32 rounding of Φ and of the sums, so a relative tolerance of 1e-6 (about 8 units
 * in the last place of the largest value) is near the finest a float32 iteration can meet.
 * `forwardCheck` (the default) integrates the recovered state forward again with the same
 * solver and reports the residual against the given state.
 *
 * dopri5 is refused: its steps are chosen adaptively from the state (accepted or rejected by
 * its error estimate), so its forward map is not a fixed composition of steps to undo one by
 * one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkTimeGrid, FIXED_GRID_METHODS, integrateFixedGrid, stepIncrement, stepSizeGrid, type FixedGridMethod } from './fixed-grid.js';
import type { OdeMethod, VelocityField } from './index.js';

/** Default relative tolerance of the fixed-point iteration: max|Δx| ≤ tolerance·max(1, max|x_{n+1}|). */
export const DEFAULT_INVERT_TOLERANCE = 1e-6;
/**
 * Default cap on the fixed-point iterations of one step. A step whose contraction is below 1
 * converges, however slowly (0.83 needs ~80 iterations from a change of 1e-1 to 1e-7): the
 * cap only bounds the work of those, while divergence (contraction ≥ 1) is caught at once.
 */
export const DEFAULT_INVERT_MAX_ITERATIONS = 200;

const f32 = Math.fround;

export interface InvertOptions {
  /** The forward integration's step size (torchdiffeq's options={'step_size': …}), when it used one. */
  stepSize?: number;
  /** Relative tolerance (default 1e-6): a step has converged when max|Δx| ≤ tolerance·max(1, max|x_{n+1}|). */
  tolerance?: number;
  /** Iterations per step at most (default 50). */
  maxIterations?: number;
  /** Integrate the recovered state forward again and report the residual (default true). */
  forwardCheck?: boolean;
  /** Called after each inverted step with (steps done, steps in all). */
  onStep?: (done: number, total: number) => void;
}

/** How the fixed-point iteration of one step went. */
export interface InvertedStep {
  /** Index n of the forward step x_n → x_{n+1} (0 = the first step from the grid's first time). */
  step: number;
  t0: number;
  t1: number;
  iterations: number;
  converged: boolean;
  /** How the iteration ended: converged; diverged (the change grew five times running, or overflowed); too slow (its rate could not meet the tolerance within the cap); or the cap. */
  outcome: 'converged' | 'diverged' | 'too slow' | 'iteration cap';
  /** max|Δx| of the first iteration (the backward Euler guess's distance from its update). */
  firstChange: number;
  /** max|Δx| of the last iteration. */
  lastChange: number;
  /** The change the step had to get below: tolerance·max(1, max|x_{n+1}|). */
  threshold: number;
  /** (lastChange / firstChange)^(1/(iterations − 1)): the iteration's contraction ratio, an estimate of Lip(Φ) on this step (null after one iteration). */
  contraction: number | null;
}

export interface InversionReport {
  method: FixedGridMethod;
  tolerance: number;
  maxIterations: number;
  /** One entry per forward step, in forward order. */
  steps: InvertedStep[];
  /** True when every step converged. */
  converged: boolean;
  /** Evaluations of the velocity field, the forward check's included. */
  nfe: number;
  /** With forwardCheck: the recovered state integrated forward against the given one: max |difference| and RMS(difference)/RMS(given). */
  forwardResidual?: { maxAbs: number; relRms: number };
}

export interface InversionResult {
  /** The state at the grid's first time; the caller owns it. */
  x: tf.Tensor;
  report: InversionReport;
}

/** An integration that cannot be inverted as asked (a method, an option). */
export class InversionError extends Error {}

export const DOPRI5_NOT_INVERTIBLE =
  'dopri5 cannot be inverted step by step: it chooses its steps adaptively from the state (accepted or rejected by its error estimate), so its forward map is not a fixed composition of steps; integrate with a fixed-grid method (euler, midpoint, heun2, rk4) to make the map invertible this way';

/** The steps a report did not converge on, named for a message: "step 9 (t 0.8889 → 1.000: diverged after 13 iterations, last change 1.5e-1 > 1.3e-6, contraction 1.1)". */
export function unconvergedSteps(report: InversionReport): string[] {
  return report.steps
    .filter((s) => !s.converged)
    .map(
      (s) =>
        `step ${s.step + 1} (t ${s.t0.toPrecision(4)} → ${s.t1.toPrecision(4)}: ${s.outcome} after ${s.iterations} iterations, last change ${s.lastChange.toExponential(1)} > ${s.threshold.toExponential(1)}${s.contraction !== null ? `, contraction ${s.contraction.toPrecision(2)}` : ''})`,
    );
}

async function scalar(t: tf.Tensor): Promise<number> {
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

const maxAbs = (x: tf.Tensor) => scalar(tf.tidy(() => tf.max(tf.abs(x))));

/**
 * x at timeGrid[0] such that integrating dx/dt = f(x, t) forward over `timeGrid` with
 * `method` gives `x1` (float32, stays the caller's); see the module comment. Asynchronous:
 * each iteration reads its change back, which works on every tfjs backend.
 */
export async function invertIntegration(
  f: VelocityField,
  x1: tf.Tensor,
  timeGrid: readonly number[],
  method: OdeMethod,
  options: InvertOptions = {},
): Promise<InversionResult> {
  if (method === 'dopri5') throw new InversionError(DOPRI5_NOT_INVERTIBLE);
  if (!FIXED_GRID_METHODS.includes(method)) {
    throw new InversionError(`unknown fixed-grid method '${String(method)}'; expected one of ${FIXED_GRID_METHODS.join(', ')}`);
  }
  checkTimeGrid(timeGrid);
  if (x1.dtype !== 'float32') throw new InversionError(`ODE state must be float32, got ${x1.dtype}`);
  const tolerance = options.tolerance ?? DEFAULT_INVERT_TOLERANCE;
  const maxIterations = options.maxIterations ?? DEFAULT_INVERT_MAX_ITERATIONS;
  if (!(tolerance > 0 && Number.isFinite(tolerance))) throw new InversionError(`tolerance must be a positive number, got ${tolerance}`);
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1)) throw new InversionError(`maxIterations must be a whole number ≥ 1, got ${maxIterations}`);
  const requested = timeGrid.map(f32);
  const times = options.stepSize === undefined ? requested : stepSizeGrid(requested[0], requested[requested.length - 1], options.stepSize);
  const total = times.length - 1;

  let nfe = 0;
  const counted: VelocityField = (x, t) => {
    nfe++;
    return f(x, t);
  };
  const steps: InvertedStep[] = [];
  let x = x1;
  for (let n = total - 1; n >= 0; n--) {
    const t0 = times[n];
    const t1 = times[n + 1];
    const h = f32(t1 - t0);
    const threshold = tolerance * Math.max(1, await maxAbs(x));
    const target = x;
    let guess = tf.tidy(() => tf.sub(target, tf.mul(counted(target, t1), h)));
    let iterations = 0;
    let firstChange = NaN;
    let lastChange = NaN;
    let growing = 0;
    let outcome: InvertedStep['outcome'] = 'iteration cap';
    const changes: number[] = [];
    while (iterations < maxIterations) {
      const current = guess;
      const next = tf.tidy(() => tf.sub(target, stepIncrement(method, counted, t0, t1, current)));
      const change = await scalar(tf.tidy(() => tf.max(tf.abs(tf.sub(next, current)))));
      current.dispose();
      guess = next;
      iterations++;
      if (iterations === 1) firstChange = change;
      growing = change > lastChange ? growing + 1 : 0;
      lastChange = change;
      changes.push(change);
      if (change <= threshold) {
        outcome = 'converged';
        break;
      }
      // diverging (h·Lip(Φ/h) > 1 on this step): more iterations only grow the error
      if (!Number.isFinite(change) || growing >= 5) {
        outcome = 'diverged';
        break;
      }
      if (hopeless(changes, threshold, maxIterations)) {
        outcome = 'too slow';
        break;
      }
    }
    steps.unshift({
      step: n,
      t0,
      t1,
      iterations,
      converged: outcome === 'converged',
      outcome,
      firstChange,
      lastChange,
      threshold,
      contraction: iterations > 1 && firstChange > 0 ? (lastChange / firstChange) ** (1 / (iterations - 1)) : null,
    });
    if (x !== x1) x.dispose();
    x = guess;
    options.onStep?.(total - n, total);
  }
  const report: InversionReport = { method, tolerance, maxIterations, steps, converged: steps.every((s) => s.converged), nfe: 0 };
  if (options.forwardCheck ?? true) {
    const { x: again } = integrateFixedGrid(counted, x, timeGrid, method, { stepSize: options.stepSize });
    report.forwardResidual = await stateResidual(again, x1);
    again.dispose();
  }
  report.nfe = nfe;
  return { x, report };
}

/**
 * Whether the iteration's observed rate (the change's geometric decrease over its last 4
 * iterations) says it cannot get below `threshold` within the cap: stopped then rather than
 * run to the cap (it would be reported as not converged either way). Only while the change
 * is well above the threshold, where float32 rounding does not blur the rate.
 */
function hopeless(changes: readonly number[], threshold: number, maxIterations: number): boolean {
  const k = changes.length;
  if (k < 6) return false;
  const change = changes[k - 1];
  if (change <= 10 * threshold) return false;
  const rate = (change / changes[k - 5]) ** (1 / 4);
  if (!(rate < 0.999)) return true;
  return k + Math.log(threshold / change) / Math.log(rate) > 1.25 * maxIterations;
}

/** max|a − b| and RMS(a − b)/RMS(b). */
export async function stateResidual(a: tf.Tensor, b: tf.Tensor): Promise<{ maxAbs: number; relRms: number }> {
  const [m, num, den] = await Promise.all(
    tf
      .tidy(() => {
        const d = tf.sub(a, b);
        return [tf.max(tf.abs(d)), tf.sum(tf.square(d)), tf.sum(tf.square(b))];
      })
      .map(scalar),
  );
  return { maxAbs: m, relRms: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num) };
}
