/**
 * ODE integration for flow-matching sampling: x(t_end) from x(t_start) = x0 under
 * dx/dt = v(x, t), the counterpart of flow_matching's `ODESolver.sample`, which calls
 * `torchdiffeq.odeint(v, x0, time_grid, method, options={'step_size': …}, atol, rtol)` and
 * keeps the last state.
 *
 * Fixed-grid methods (euler, midpoint, heun2, rk4) take one step per interval of the time
 * grid, or subdivide it by `stepSize`; nfe = steps × (1, 2, 2, 4). dopri5 picks its own steps
 * to meet atol/rtol and uses only the grid's first and last points. Defaults atol = rtol = 1e-5
 * are flow_matching's (`ODESolver.sample`), not torchdiffeq's own (1e-9, 1e-7).
 */
import * as tf from '@tensorflow/tfjs-core';
import { integrateDopri5 } from './dopri5.js';
import { checkTimeGrid, FIXED_GRID_METHODS, integrateFixedGrid, type FixedGridMethod } from './fixed-grid.js';

/** The velocity at (x, t). It must not dispose x; what it returns is the solver's to dispose. */
export type VelocityField = (x: tf.Tensor, t: number) => tf.Tensor;

export type OdeMethod = FixedGridMethod | 'dopri5';

export const ODE_METHODS: readonly OdeMethod[] = [...FIXED_GRID_METHODS, 'dopri5'];

export const DEFAULT_ATOL = 1e-5;
export const DEFAULT_RTOL = 1e-5;

export interface OdeOptions {
  /** Fixed-grid methods only: torchdiffeq's options={'step_size': stepSize}. */
  stepSize?: number;
  /** dopri5 only. */
  atol?: number;
  /** dopri5 only. */
  rtol?: number;
  /** Progress: fixed-grid methods report (steps done, steps); dopri5 (time covered, total time). */
  onStep?: (done: number, total: number) => void;
}

export interface OdeResult {
  /** The state at the grid's last time; the caller owns it. */
  x: tf.Tensor;
  /** Evaluations of the velocity field. */
  nfe: number;
}

/**
 * Integrates dx/dt = f(x, t) from timeGrid[0] to its last point, starting at x0 (float32; it
 * stays the caller's). Grid times are used as float32, as torch holds them.
 */
export function integrate(f: VelocityField, x0: tf.Tensor, timeGrid: readonly number[], method: OdeMethod, options: OdeOptions = {}): OdeResult {
  checkTimeGrid(timeGrid);
  if (method === 'dopri5') {
    // its step control reads the error norm synchronously, which tfjs's webgpu backend cannot do in Node
    if (tf.getBackend() === 'webgpu')
      throw new Error(
        'dopri5 reads its step error synchronously, which the webgpu backend cannot do in Node: use a fixed-grid method (heun2, midpoint, rk4, euler) or --engine onnx',
      );
    if (options.stepSize !== undefined) {
      throw new Error('stepSize applies to fixed-grid methods only; dopri5 chooses its own steps from atol and rtol');
    }
    const { x, nfe } = integrateDopri5(f, x0, Math.fround(timeGrid[0]), Math.fround(timeGrid[timeGrid.length - 1]), {
      atol: options.atol ?? DEFAULT_ATOL,
      rtol: options.rtol ?? DEFAULT_RTOL,
      onStep: options.onStep,
    });
    return { x, nfe };
  }
  const { x, nfe } = integrateFixedGrid(f, x0, timeGrid, parseOdeMethod(method) as FixedGridMethod, {
    stepSize: options.stepSize,
    onStep: options.onStep,
  });
  return { x, nfe };
}

/** The method called `name`, or an error that lists the methods. */
export function parseOdeMethod(name: string): OdeMethod {
  const method = ODE_METHODS.find((m) => m === name);
  if (method === undefined) {
    throw new Error(`unknown ODE method '${name}'; expected one of: ${ODE_METHODS.join(', ')}`);
  }
  return method;
}
