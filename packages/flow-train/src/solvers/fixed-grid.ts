/**
 * Fixed-grid explicit Runge–Kutta solvers for dx/dt = f(x, t), written to reproduce
 * torchdiffeq's `odeint(f, x0, t, method=…)` (euler, midpoint, rk4) and 'heun2' (not in
 * torchdiffeq itself: a Heun2 FixedGridODESolver that Meta's custom-solvers module adds to its
 * SOLVERS table), step for step and rounding for rounding.
 *
 * One step from t0 to t1, dt = t1 − t0:
 *   euler     x1 = x0 + dt·f(t0, x0)
 *   midpoint  x½ = x0 + f(t0, x0)·dt/2;  x1 = x0 + dt·f(t0 + dt/2, x½)
 *   heun2     k1 = f(t0, x0);  k2 = f(t0 + dt, x0 + dt·k1);  x1 = x0 + (dt/2)·(k1 + k2)
 *   rk4       torchdiffeq's `rk4_alt_step_func`, Kutta's 3/8 rule:
 *             k1 = f(t0, x0);                  k2 = f(t0 + dt/3, x0 + dt·k1/3);
 *             k3 = f(t0 + 2dt/3, x0 + dt·(k2 − k1/3));  k4 = f(t1, x0 + dt·(k1 − k2 + k3));
 *             x1 = x0 + (k1 + 3(k2 + k3) + k4)·dt/8
 * The global error is O(dt^p) with p = 1, 2, 2, 4; each step costs 1, 2, 2, 4 evaluations of f.
 *
 * Solver grid: the requested times themselves, one step per interval; or, given a step size h,
 * torchdiffeq's `_grid_constructor_from_step_size`:
 *   n = ⌈(t_end − t_start)/h + 1⌉,  s_i = i·h + t_start (i = 0 … n−1),  then s_{n−1} := t_end,
 * and a requested time t with s_i ≤ t ≤ s_{i+1} is answered by the linear interpolation
 *   x(t) = x_i + (t − s_i)/(s_{i+1} − s_i)·(x_{i+1} − x_i).
 *
 * Every time value is float32 and every time operation is rounded to float32, exactly as torch
 * computes them for a float32 time grid (the reference's); torch also rounds each Python
 * constant (1/3, 0.5, …) to float32 before multiplying. State updates keep torchdiffeq's order
 * of float32 operations, so with an f that rounds like torch the states agree bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityField } from './index.js';

export type FixedGridMethod = 'euler' | 'midpoint' | 'heun2' | 'rk4';

export const FIXED_GRID_METHODS: readonly FixedGridMethod[] = ['euler', 'midpoint', 'heun2', 'rk4'];

export const EVALUATIONS_PER_STEP: Readonly<Record<FixedGridMethod, number>> = {
  euler: 1,
  midpoint: 2,
  heun2: 2,
  rk4: 4,
};

export interface FixedGridOptions {
  /** Subdivide the requested grid as torchdiffeq does with options={'step_size': stepSize}. */
  stepSize?: number;
  /** Called after each solver step with (steps done, steps in all). */
  onStep?: (done: number, total: number) => void;
  /** Also return the state at every requested time (interpolated between solver steps). */
  keepTrajectory?: boolean;
}

export interface FixedGridSolution {
  /** The state at the last requested time; the caller owns it. */
  x: tf.Tensor;
  /** Evaluations of f. */
  nfe: number;
  /** With keepTrajectory: trajectory[i] is the state at timeGrid[i] (caller owns each). */
  trajectory?: tf.Tensor[];
}

const f32 = Math.fround;
const ONE_THIRD = f32(1 / 3);
const TWO_THIRDS = f32(2 / 3);

/** Rejects what torchdiffeq's `_check_timelike` rejects, plus decreasing grids (unsupported here). */
export function checkTimeGrid(timeGrid: readonly number[]): void {
  if (timeGrid.length < 2) {
    throw new Error(`ODE time grid needs at least 2 points (start and end), got ${timeGrid.length}`);
  }
  for (let i = 0; i < timeGrid.length; i++) {
    if (!Number.isFinite(timeGrid[i])) throw new Error(`ODE time grid has a non-finite value at index ${i}: ${timeGrid[i]}`);
    // Compared after rounding because the grid is used as float32: distinct float64 values
    // that round to the same float32 would make a zero-length step.
    if (i > 0 && !(f32(timeGrid[i]) > f32(timeGrid[i - 1]))) {
      throw new Error(`ODE time grid must be strictly increasing (as float32): t[${i - 1}] = ${timeGrid[i - 1]}, t[${i}] = ${timeGrid[i]}`);
    }
  }
}

/** torchdiffeq's `_grid_constructor_from_step_size` for a float32 grid from start to end. */
export function stepSizeGrid(start: number, end: number, stepSize: number): number[] {
  if (!(Number.isFinite(stepSize) && stepSize > 0)) throw new Error(`stepSize must be a positive number, got ${stepSize}`);
  const h = f32(stepSize);
  const t0 = f32(start);
  const t1 = f32(end);
  const count = Math.ceil(f32(f32(f32(t1 - t0) / h) + 1));
  const grid = Array.from({ length: count }, (_, i) => f32(f32(i * h) + t0));
  // Unconditional, as in torchdiffeq ≥ 0.2: the last point may land before or after t_end.
  grid[count - 1] = t1;
  return grid;
}

/** x1 − x0 of one step, Φ(x0, t0, h), in torchdiffeq's order of operations (t0, t1 float32; the inverse reuses it). */
export function stepIncrement(method: FixedGridMethod, f: VelocityField, t0: number, t1: number, x0: tf.Tensor): tf.Tensor {
  const dt = f32(t1 - t0);
  switch (method) {
    case 'euler':
      return tf.mul(dt, f(x0, t0));
    case 'midpoint': {
      const halfDt = f32(0.5 * dt);
      const xMid = tf.add(x0, tf.mul(f(x0, t0), halfDt));
      return tf.mul(dt, f(xMid, f32(t0 + halfDt)));
    }
    case 'heun2': {
      const k1 = f(x0, t0);
      // t0 + dt rather than t1, as the reference writes it; they differ when t1 − t0 rounds.
      const k2 = f(tf.add(x0, tf.mul(k1, dt)), f32(t0 + dt));
      return tf.mul(f32(dt * 0.5), tf.add(k1, k2));
    }
    case 'rk4': {
      const k1 = f(x0, t0);
      const k2 = f(tf.add(x0, tf.mul(tf.mul(dt, k1), ONE_THIRD)), f32(t0 + f32(dt * ONE_THIRD)));
      const k3 = f(tf.add(x0, tf.mul(dt, tf.sub(k2, tf.mul(k1, ONE_THIRD)))), f32(t0 + f32(dt * TWO_THIRDS)));
      const k4 = f(tf.add(x0, tf.mul(dt, tf.add(tf.sub(k1, k2), k3))), t1);
      return tf.mul(tf.mul(tf.add(tf.add(k1, tf.mul(3, tf.add(k2, k3))), k4), dt), 0.125);
    }
  }
}

/** One solver step: the state at t1 (caller owns it). Intermediates are released. */
export function fixedGridStep(method: FixedGridMethod, f: VelocityField, t0: number, t1: number, x0: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(x0, stepIncrement(method, f, f32(t0), f32(t1), x0)));
}

/** torchdiffeq's `_linear_interp`: exact end states at the ends, float32 slope in between. */
function interpolate(t0: number, t1: number, x0: tf.Tensor, x1: tf.Tensor, t: number): tf.Tensor {
  if (t === t0) return tf.clone(x0);
  if (t === t1) return tf.clone(x1);
  const slope = f32(f32(t - t0) / f32(t1 - t0));
  return tf.tidy(() => tf.add(x0, tf.mul(slope, tf.sub(x1, x0))));
}

/** Integrates from timeGrid[0] to its last point with a fixed-grid method. */
export function integrateFixedGrid(
  f: VelocityField,
  x0: tf.Tensor,
  timeGrid: readonly number[],
  method: FixedGridMethod,
  options: FixedGridOptions = {},
): FixedGridSolution {
  if (!FIXED_GRID_METHODS.includes(method)) {
    throw new Error(`unknown fixed-grid method '${method}'; expected one of ${FIXED_GRID_METHODS.join(', ')}`);
  }
  checkTimeGrid(timeGrid);
  if (x0.dtype !== 'float32') throw new Error(`ODE state must be float32, got ${x0.dtype}`);
  const requested = timeGrid.map(f32);
  const solverTimes = options.stepSize === undefined ? requested : stepSizeGrid(requested[0], requested[requested.length - 1], options.stepSize);
  const steps = solverTimes.length - 1;

  let nfe = 0;
  const counted: VelocityField = (x, t) => {
    nfe++;
    return f(x, t);
  };
  const trajectory = options.keepTrajectory ? [tf.clone(x0)] : undefined;
  let nextRequested = 1;
  let x = x0;
  for (let i = 0; i < steps; i++) {
    const t0 = solverTimes[i];
    const t1 = solverTimes[i + 1];
    const x1 = fixedGridStep(method, counted, t0, t1, x);
    if (trajectory) {
      while (nextRequested < requested.length && t1 >= requested[nextRequested]) {
        trajectory.push(interpolate(t0, t1, x, x1, requested[nextRequested]));
        nextRequested++;
      }
    }
    if (x !== x0) x.dispose();
    x = x1;
    options.onStep?.(i + 1, steps);
  }
  return trajectory ? { x, nfe, trajectory } : { x, nfe };
}
