/**
 * Adaptive Dormand–Prince 5(4) for dx/dt = f(x, t), following torchdiffeq's 'dopri5'
 * (RKAdaptiveStepsizeODESolver with the Dormand–Prince–Shampine tableau).
 *
 * A step of size h from (t, x) with k1 = f(t, x) (first-same-as-last: the previous step's k7):
 *   k_i = f(t + c_i·h, x + h·Σ_{j<i} a_ij·k_j),  i = 2 … 7,   x1 = x + h·Σ b_j·k_j  (= stage 7's input)
 *   error estimate e = h·Σ (b_j − b̂_j)·k_j   (b̂: embedded 4th-order weights)
 *   error ratio  r = RMS( e / (atol + rtol·max(|x|, |x1|)) );  the step is accepted iff r ≤ 1.
 * torchdiffeq's b̂ = (1951/21600, 0, 22642/50085, 451/720, −12231/42400, 649/6300, 1/60) is
 * Shampine's, ⅓b + ⅔ of Hairer's b̂ (scipy's RK45), so its e is ⅔ of theirs: the same atol/rtol
 * allows somewhat larger steps than in scipy.
 * Next step size: h·min(10, max(0.9·r^(−1/5), d)) with d = 0.2 after a rejection, d = 1 after an
 * acceptance (accepted steps never shrink), and h·10 when r = 0.
 *
 * Initial step (Hairer, Nørsett & Wanner I, §II.4, as torchdiffeq's `_select_initial_step` with
 * order 4): with s = atol + rtol·|x0|, d0 = RMS(x0/s), d1 = RMS(f0/s),
 *   h0 = 0.01·d0/d1 (1e-6 if d0 or d1 < 1e-5),  d2 = RMS((f(t0 + h0, x0 + h0·f0) − f0)/s)/h0,
 *   h1 = (0.01/max(d1, d2))^(1/5) (max(1e-6, h0·1e-3) if both ≤ 1e-15),  h = min(100·h0, h1).
 *
 * Steps are not shortened to land on the end time: the last one may overshoot, and the state at
 * t_end is then read off the step's quartic dense output (Shampine's midpoint
 * x_mid = x + h·Σ c_mid_j·k_j, with x, x1, f at both ends), as torchdiffeq does — including
 * when the step ends exactly on t_end. Intermediate output times do not change the steps taken.
 *
 * Step control runs in float64 like torchdiffeq's; stage times are float32 (t, h, t + h cast to
 * the state's dtype first) and the stages at c = 1 are evaluated one float32 ulp before t + h,
 * torchdiffeq's guard against a discontinuity at the step's end.
 *
 * nfe = 2 (f0 and the initial-step probe) + 6 per attempted step, rejected ones included.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityField } from './index.js';

export const DEFAULT_MAX_STEPS = 10_000;

const SAFETY = 0.9;
const IFACTOR = 10;
const DFACTOR = 0.2;
const ORDER = 5;

const f32 = Math.fround;

/** c_i of stages 2 … 7. */
const NODES = [1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1].map(f32);
/** a_ij of stages 2 … 7; the last row is b, which makes stage 7's input the new state. */
const COUPLING = [
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
].map((row) => row.map(f32));
/** b − b̂ over stages 1 … 7, with torchdiffeq's (Shampine's) b̂. */
const ERROR_WEIGHTS = [
  35 / 384 - 1951 / 21600,
  0,
  500 / 1113 - 22642 / 50085,
  125 / 192 - 451 / 720,
  -2187 / 6784 - -12231 / 42400,
  11 / 84 - 649 / 6300,
  -1 / 60,
].map(f32);
/** Shampine's weights for the state at the step's midpoint, over stages 1 … 7. */
const MIDPOINT_WEIGHTS = [
  6025192743 / 30085553152 / 2,
  0,
  51252292925 / 65400821598 / 2,
  -2691868925 / 45128329728 / 2,
  187940372067 / 1594534317056 / 2,
  -1776094331 / 19743644256 / 2,
  11237099 / 235043384 / 2,
].map(f32);

export interface Dopri5Options {
  atol: number;
  rtol: number;
  /** Attempted steps (accepted or rejected) before giving up. */
  maxSteps?: number;
  /** Called after each accepted step with (time covered, total time), both in units of t. */
  onStep?: (done: number, total: number) => void;
}

export interface Dopri5Solution {
  /** The state at tEnd; the caller owns it. */
  x: tf.Tensor;
  nfe: number;
  acceptedSteps: number;
  rejectedSteps: number;
}

// A type alias, not an interface, so that tf.tidy accepts it as a TensorContainer.
export type Dopri5Step = {
  /** The 5th-order state at t + h. */
  x1: tf.Tensor;
  /** k1 … k7; k7 = f(t + h, x1) is the next step's k1. */
  stages: tf.Tensor[];
  /** h·Σ (b_j − b̂_j)·k_j. */
  error: tf.Tensor;
};

/** The largest float32 below a float32 value x (torch.nextafter(x, x − 1)). */
export function previousFloat32(x: number): number {
  if (x === 0) return -1.401298464324817e-45;
  const bits = new Float32Array([x]);
  const word = new Int32Array(bits.buffer);
  word[0] += x > 0 ? -1 : 1;
  return bits[0];
}

/** Weighted sum Σ_j weights_j·h·k_j, with each weight·h rounded to float32 first, like torch. */
function combine(stages: readonly tf.Tensor[], weights: readonly number[], h: number): tf.Tensor {
  let sum: tf.Tensor | undefined;
  for (let j = 0; j < weights.length; j++) {
    const term = tf.mul(stages[j], f32(weights[j] * h));
    sum = sum === undefined ? term : tf.add(sum, term);
  }
  return sum!;
}

/**
 * One Dormand–Prince step of size h from (t, x) with k1 = f0. Call inside tf.tidy, or dispose
 * everything returned; f0 and x stay the caller's.
 */
export function dopri5Step(f: VelocityField, x: tf.Tensor, f0: tf.Tensor, t: number, h: number): Dopri5Step {
  const tStage = f32(t);
  const hStage = f32(h);
  const tEndStage = f32(t + h);
  const stages = [f0];
  let input = x;
  for (let i = 0; i < NODES.length; i++) {
    const time = NODES[i] === 1 ? previousFloat32(tEndStage) : f32(tStage + f32(NODES[i] * hStage));
    input = tf.add(x, combine(stages, COUPLING[i], hStage));
    stages.push(f(input, time));
  }
  return { x1: input, stages, error: combine(stages, ERROR_WEIGHTS, hStage) };
}

function rms(x: tf.Tensor): tf.Tensor {
  return tf.sqrt(tf.mean(tf.square(x)));
}

function readScalar(x: tf.Tensor): number {
  const value = x.dataSync()[0];
  x.dispose();
  return value;
}

/** torchdiffeq's `_select_initial_step` (float32 arithmetic, like torch's on a float32 state). */
function initialStepSize(f: VelocityField, t0: number, x0: tf.Tensor, f0: tf.Tensor, atol: number, rtol: number): number {
  const scale = tf.tidy(() => tf.add(atol, tf.mul(tf.abs(x0), rtol)));
  try {
    const d0 = readScalar(tf.tidy(() => rms(tf.div(x0, scale))));
    const d1 = readScalar(tf.tidy(() => rms(tf.div(f0, scale))));
    if (!Number.isFinite(d0)) throw new Error('dopri5: the initial state has non-finite values');
    if (!Number.isFinite(d1)) throw new Error(`dopri5: the velocity at t = ${t0} has non-finite values`);
    const h0 = d0 < 1e-5 || d1 < 1e-5 ? f32(1e-6) : f32(f32(f32(0.01) * d0) / d1);
    const d2 = f32(
      readScalar(
        tf.tidy(() => {
          const f1 = f(tf.add(x0, tf.mul(h0, f0)), f32(f32(t0) + h0));
          return rms(tf.div(tf.sub(f1, f0), scale));
        }),
      ) / h0,
    );
    const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(f32(1e-6), f32(h0 * f32(1e-3))) : f32(Math.pow(f32(f32(0.01) / Math.max(d1, d2)), f32(1 / ORDER)));
    return Math.min(f32(100 * h0), h1);
  } finally {
    scale.dispose();
  }
}

/** torchdiffeq's `_optimal_step_size`. */
function nextStepSize(h: number, errorRatio: number): number {
  if (errorRatio === 0) return h * IFACTOR;
  const floor = errorRatio < 1 ? 1 : DFACTOR;
  return h * Math.min(IFACTOR, Math.max(SAFETY / Math.pow(errorRatio, 1 / ORDER), floor));
}

/** The quartic dense output of the step x → x1 over [t, t + h], evaluated at s. */
function denseOutput(x: tf.Tensor, x1: tf.Tensor, stages: readonly tf.Tensor[], t: number, tNext: number, h: number, s: number): tf.Tensor {
  return tf.tidy(() => {
    const hStage = f32(h);
    const xMid = tf.add(x, combine(stages, MIDPOINT_WEIGHTS, hStage));
    const f0 = stages[0];
    const f1 = stages[stages.length - 1];
    // torchdiffeq's `_interp_fit`; p(θ) = e + d·θ + c·θ² + b·θ³ + a·θ⁴ on θ ∈ [0, 1].
    const a = tf.add(tf.sub(tf.mul(f32(2 * hStage), tf.sub(f1, f0)), tf.mul(8, tf.add(x1, x))), tf.mul(16, xMid));
    const b = tf.sub(tf.add(tf.add(tf.mul(hStage, tf.sub(tf.mul(5, f0), tf.mul(3, f1))), tf.mul(18, x)), tf.mul(14, x1)), tf.mul(32, xMid));
    const c = tf.add(tf.sub(tf.sub(tf.mul(hStage, tf.sub(f1, tf.mul(4, f0))), tf.mul(11, x)), tf.mul(5, x1)), tf.mul(16, xMid));
    const d = tf.mul(hStage, f0);
    const theta = f32((s - t) / (tNext - t));
    let total = tf.add(x, tf.mul(theta, d));
    let power = theta;
    for (const coefficient of [c, b, a]) {
      power = f32(power * theta);
      total = tf.add(total, tf.mul(power, coefficient));
    }
    return total;
  });
}

/** Integrates from tStart to tEnd (> tStart) with adaptive steps. */
export function integrateDopri5(f: VelocityField, x0: tf.Tensor, tStart: number, tEnd: number, options: Dopri5Options): Dopri5Solution {
  const { atol, rtol } = options;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!(tEnd > tStart)) throw new Error(`dopri5 integrates forward only: need tEnd > tStart, got ${tStart} → ${tEnd}`);
  if (!(atol >= 0 && rtol >= 0 && atol + rtol > 0)) throw new Error(`dopri5 needs atol, rtol ≥ 0, not both 0; got ${atol}, ${rtol}`);
  if (x0.dtype !== 'float32') throw new Error(`ODE state must be float32, got ${x0.dtype}`);

  let nfe = 0;
  const counted: VelocityField = (x, t) => {
    nfe++;
    // A handle of our own: f may hand back its input or a tensor it keeps, and the loop
    // disposes stages it is done with.
    return tf.clone(f(x, t));
  };
  let x = x0;
  let fx = tf.tidy(() => counted(x0, f32(tStart)));
  let t = tStart;
  let h = initialStepSize(counted, tStart, x0, fx, atol, rtol);
  let acceptedSteps = 0;
  let rejectedSteps = 0;
  const release = () => {
    if (x !== x0) x.dispose();
    fx.dispose();
  };

  while (tEnd > t) {
    if (acceptedSteps + rejectedSteps >= maxSteps) {
      release();
      throw new Error(
        `dopri5 gave up after ${maxSteps} steps at t = ${t} of [${tStart}, ${tEnd}] (step size ${h}, atol ${atol}, rtol ${rtol}); ` +
          'the velocity field may be stiff or badly scaled: raise maxSteps, loosen the tolerances or use a fixed-grid method',
      );
    }
    if (!(t + h > t)) {
      release();
      throw new Error(`dopri5 step size underflow at t = ${t} (step size ${h})`);
    }
    const { step, errorRatio: ratioTensor } = tf.tidy(() => {
      const step = dopri5Step(counted, x, fx, t, h);
      const tolerance = tf.add(atol, tf.mul(rtol, tf.maximum(tf.abs(x), tf.abs(step.x1))));
      // stages[0] is fx, which the loop owns; keep it out of the returned container.
      return { step: { x1: step.x1, stages: step.stages.slice(1) }, errorRatio: rms(tf.div(step.error, tolerance)) };
    });
    const errorRatio = readScalar(ratioTensor);
    if (Number.isNaN(errorRatio)) {
      tf.dispose([step.x1, ...step.stages]);
      release();
      throw new Error(`dopri5: non-finite values in the state or velocity after a step from t = ${t} (step size ${h})`);
    }
    if (errorRatio <= 1) {
      acceptedSteps++;
      const tNext = t + h;
      const newDerivative = step.stages[step.stages.length - 1];
      if (tNext >= tEnd) {
        const result = denseOutput(x, step.x1, [fx, ...step.stages], t, tNext, h, tEnd);
        tf.dispose([step.x1, ...step.stages]);
        release();
        options.onStep?.(tEnd - tStart, tEnd - tStart);
        return { x: result, nfe, acceptedSteps, rejectedSteps };
      }
      tf.dispose(step.stages.slice(0, -1));
      release();
      x = step.x1;
      fx = newDerivative;
      t = tNext;
      options.onStep?.(t - tStart, tEnd - tStart);
    } else {
      rejectedSteps++;
      tf.dispose([step.x1, ...step.stages]);
    }
    h = nextStepSize(h, errorRatio);
  }
  // Unreachable: the loop returns on the step that reaches tEnd.
  release();
  throw new Error('dopri5: internal error, the loop ended without reaching tEnd');
}
