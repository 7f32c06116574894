import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { dopri5Step, integrateDopri5, previousFloat32 } from '../src/solvers/dopri5.js';
import { EVALUATIONS_PER_STEP, FIXED_GRID_METHODS, integrateFixedGrid, stepSizeGrid, type FixedGridMethod } from '../src/solvers/fixed-grid.js';
import { integrate, ODE_METHODS, parseOdeMethod, type OdeMethod, type VelocityField } from '../src/solvers/index.js';
import { edmGrid, uniformGrid } from '../src/time-grid.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The values of x, which is then disposed. */
function take(x: tf.Tensor): number[] {
  const values = Array.from(x.dataSync());
  x.dispose();
  return values;
}

function maxAbsDifference(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}

interface KnownSolution {
  name: string;
  f: VelocityField;
  x0: number[];
  /** x(1). */
  exact: number[];
}

/** dx/dt = −2a·t·x, x(0) = 1: x(t) = exp(−a·t²). Time-dependent, so it exercises the stage times. */
function gaussianDecay(a: number): KnownSolution {
  return { name: `dx/dt = −${2 * a}·t·x`, f: (x, t) => tf.mul(x, -2 * a * t), x0: [1], exact: [Math.exp(-a)] };
}

/** d(x, y)/dt = ω·(−y, x), (x, y)(0) = (1, 0): the point turns by ω radians. */
function rotation(omega: number): KnownSolution {
  return {
    name: `rotation by ${omega.toFixed(3)} rad`,
    f: (x) => tf.mul(tf.reverse(x), [-omega, omega]),
    x0: [1, 0],
    exact: [Math.cos(omega), Math.sin(omega)],
  };
}

/** Least-squares slope of −ln(error) against ln(steps): the empirical order of convergence. */
function convergenceOrder(steps: readonly number[], errors: readonly number[]): number {
  const xs = steps.map(Math.log);
  const ys = errors.map((e) => -Math.log(e));
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxy / sxx;
}

function relativeErrorAtOne(problem: KnownSolution, method: OdeMethod, steps: number): number {
  const x0 = tf.tensor1d(problem.x0);
  const { x } = integrate(problem.f, x0, uniformGrid(steps), method);
  x0.dispose();
  return maxAbsDifference(take(x), problem.exact) / Math.max(...problem.exact.map(Math.abs));
}

describe('fixed-grid solvers: order of convergence', () => {
  // The state is float32, so the finest error must stay well above float32 round-off
  // (~1e-7): rk4 gets problems with larger error constants than the low-order methods.
  const cases: { method: FixedGridMethod; order: number; problem: KnownSolution; steps: number[] }[] = [
    { method: 'euler', order: 1, problem: gaussianDecay(1), steps: [8, 16, 32, 64] },
    { method: 'euler', order: 1, problem: rotation(1), steps: [8, 16, 32, 64] },
    { method: 'midpoint', order: 2, problem: gaussianDecay(1), steps: [8, 16, 32, 64] },
    { method: 'midpoint', order: 2, problem: rotation(1), steps: [8, 16, 32, 64] },
    { method: 'heun2', order: 2, problem: gaussianDecay(1), steps: [8, 16, 32, 64] },
    { method: 'heun2', order: 2, problem: rotation(1), steps: [8, 16, 32, 64] },
    { method: 'rk4', order: 4, problem: gaussianDecay(4), steps: [8, 16, 32, 64] },
    { method: 'rk4', order: 4, problem: rotation(2 * Math.PI), steps: [8, 16, 32, 64] },
  ];
  for (const { method, order, problem, steps } of cases) {
    it(`${method} converges at order ${order} on ${problem.name}`, () => {
      const errors = steps.map((n) => relativeErrorAtOne(problem, method, n));
      for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThan(errors[i - 1]);
      expect(Math.abs(convergenceOrder(steps, errors) - order)).toBeLessThan(0.3);
    });
  }
});

describe('fixed-grid solvers: one step against the tableau', () => {
  it('linear dx/dt = λx: each method multiplies by its stability polynomial R(λ·dt)', () => {
    const lambda = -1.3;
    const z = lambda * 0.5;
    const expectedFactor: Record<FixedGridMethod, number> = {
      euler: 1 + z,
      midpoint: 1 + z + z ** 2 / 2,
      heun2: 1 + z + z ** 2 / 2,
      rk4: 1 + z + z ** 2 / 2 + z ** 3 / 6 + z ** 4 / 24,
    };
    for (const method of FIXED_GRID_METHODS) {
      const x0 = tf.tensor1d([1, -2, 0.25]);
      const { x } = integrateFixedGrid((v) => tf.mul(v, lambda), x0, [0.25, 0.75], method);
      const got = take(x);
      x0.dispose();
      for (const [i, v] of [1, -2, 0.25].entries()) expect(got[i]).toBeCloseTo(expectedFactor[method] * v, 6);
    }
  });

  it('dx/dt = 5t⁴ over [0, 1] in one step: each method is its quadrature rule, at its stage times', () => {
    // ∫₀¹ 5t⁴ dt = 1. Left rectangle 0; midpoint 5/16; trapezoid 5/2; Simpson's 3/8 rule
    // (1/8)(0 + 3·5/81 + 3·80/81 + 5) = 55/54, which classic RK4 (Simpson's 1/3 rule: 25/24) misses.
    const expected: Record<FixedGridMethod, { increment: number; times: number[] }> = {
      euler: { increment: 0, times: [0] },
      midpoint: { increment: 5 / 16, times: [0, 0.5] },
      heun2: { increment: 5 / 2, times: [0, 1] },
      rk4: { increment: 55 / 54, times: [0, Math.fround(1 / 3), Math.fround(2 / 3), 1] },
    };
    for (const method of FIXED_GRID_METHODS) {
      const times: number[] = [];
      const x0 = tf.tensor1d([0.5]);
      const { x, nfe } = integrateFixedGrid(
        (v, t) => {
          times.push(t);
          return tf.mul(tf.onesLike(v), 5 * t ** 4);
        },
        x0,
        [0, 1],
        method,
      );
      x0.dispose();
      expect(take(x)[0] - 0.5).toBeCloseTo(expected[method].increment, 6);
      expect(times).toEqual(expected[method].times);
      expect(nfe).toBe(times.length);
    }
  });
});

// Produced with /usr/bin/python3 (torch 1.13, CPU, float32) by transcribing torchdiffeq 0.2.5's
// FixedGridODESolver.integrate, Euler/Midpoint/RK4 `_step_func` (rk4_alt_step_func) and
// `_grid_constructor_from_step_size`, and Meta's Heun2 (`t_pred = t0 + dt; y_pred = y0 + f0*dt;
// dt*0.5*(f0 + f_pred)`), with the time grid a float32 tensor, x0 = tensor(X0) and the velocity
// `t * y - y * y * y * 0.5 + (1 - t)`, printing `.tolist()` of the results.
const X0 = [-1.5, -0.3, 0.0, 0.2, 0.7, 1.1];
const torchVelocity: VelocityField = (y, t) => tf.add(tf.sub(tf.mul(t, y), tf.mul(tf.mul(tf.mul(y, y), y), 0.5)), Math.fround(1 - t));
const TORCH_EDM5_FINAL: Record<FixedGridMethod, number[]> = {
  euler: [-0.4461682140827179, 0.42198362946510315, 0.7879984974861145, 0.9943853616714478, 1.287156343460083, 1.3310673236846924],
  midpoint: [-1.006424069404602, 0.25286608934402466, 0.6820302605628967, 0.8981781005859375, 1.1904168128967285, 1.3046271800994873],
  heun2: [-0.8841642141342163, 0.2899150252342224, 0.7023632526397705, 0.9067766666412354, 1.1909486055374146, 1.309791088104248],
  rk4: [-0.9266421794891357, 0.24709054827690125, 0.6843045949935913, 0.9031732678413391, 1.2077547311782837, 1.3133915662765503],
};
// odeint(velocity, x0, tensor([0., .5, 1.]), method='midpoint', options={'step_size': 0.3})
const TORCH_STEP03_MIDPOINT_TRAJECTORY = [
  [-1.5, -0.30000001192092896, 0.0, 0.20000000298023224, 0.699999988079071, 1.100000023841858],
  [-0.9876149892807007, 0.06345155090093613, 0.3997994661331177, 0.6069827079772949, 1.0085498094558716, 1.2189372777938843],
  [-0.9934871196746826, 0.26603710651397705, 0.6976783871650696, 0.9122233390808105, 1.2070198059082031, 1.3118668794631958],
];

describe('fixed-grid solvers: bit-for-bit agreement with torchdiffeq', () => {
  for (const method of FIXED_GRID_METHODS) {
    it(`${method} on the 5-interval EDM grid`, () => {
      const x0 = tf.tensor1d(X0);
      const { x, nfe } = integrate(torchVelocity, x0, edmGrid(5), method);
      x0.dispose();
      expect(take(x)).toEqual(TORCH_EDM5_FINAL[method]);
      expect(nfe).toBe(5 * EVALUATIONS_PER_STEP[method]);
    });
  }

  it('step_size subdivision, with a requested time between solver steps interpolated linearly', () => {
    const x0 = tf.tensor1d(X0);
    const { x, nfe, trajectory } = integrateFixedGrid(torchVelocity, x0, [0, 0.5, 1], 'midpoint', {
      stepSize: 0.3,
      keepTrajectory: true,
    });
    x0.dispose();
    // Solver grid 0, 0.3, 0.6, 0.9, 1: four steps of two evaluations.
    expect(nfe).toBe(8);
    expect(trajectory!.map(take)).toEqual(TORCH_STEP03_MIDPOINT_TRAJECTORY);
    expect(take(x)).toEqual(TORCH_STEP03_MIDPOINT_TRAJECTORY[2]);
  });
});

describe('stepSizeGrid: torchdiffeq `_grid_constructor_from_step_size`', () => {
  // torch.arange(0, ceil((t1 − t0)/h + 1)) * h + t0 with the last point set to t1, float32;
  // printed by torch 1.13 for each (t0, t1, h).
  const cases: { start: number; end: number; h: number; grid: number[] }[] = [
    { start: 0, end: 1, h: 0.3, grid: [0.0, 0.30000001192092896, 0.6000000238418579, 0.9000000357627869, 1.0] },
    { start: 0, end: 1, h: 1 / 3, grid: [0.0, 0.3333333432674408, 0.6666666865348816, 1.0] },
    {
      start: 0.25,
      end: 0.75,
      h: 0.07,
      grid: [
        0.25, 0.3199999928474426, 0.38999998569488525, 0.46000000834465027, 0.5299999713897705, 0.6000000238418579, 0.6700000166893005, 0.7400000095367432,
        0.75,
      ],
    },
  ];
  for (const { start, end, h, grid } of cases) {
    it(`[${start}, ${end}] with step ${h.toPrecision(3)}`, () => {
      expect(stepSizeGrid(start, end, h)).toEqual(grid);
    });
  }

  it('keeps a short last step when the step does not divide the interval (t0 = 0.0123, h = 0.02)', () => {
    const grid = stepSizeGrid(0.0123, 1, 0.02);
    expect(grid).toHaveLength(51);
    expect(grid.slice(0, 2)).toEqual([0.012299999594688416, 0.03229999914765358]);
    expect(grid.slice(-3)).toEqual([0.9722999930381775, 0.9922999739646912, 1.0]);
  });

  it('h = 0.01 over [0, 1] gives 100 steps (101 points) with float32 multiples of h', () => {
    const grid = stepSizeGrid(0, 1, 0.01);
    expect(grid).toHaveLength(101);
    expect(grid.slice(1, 4)).toEqual([0.009999999776482582, 0.019999999552965164, 0.029999999329447746]);
    expect(grid.slice(-3)).toEqual([0.9799999594688416, 0.9899999499320984, 1.0]);
  });

  it('integrate with stepSize is integrate on the subdivided grid', () => {
    const problem = gaussianDecay(1);
    const x0 = tf.tensor1d(problem.x0);
    const subdivided = integrate(problem.f, x0, [0, 1], 'heun2', { stepSize: 0.03 });
    const explicit = integrate(problem.f, x0, stepSizeGrid(0, 1, 0.03), 'heun2');
    x0.dispose();
    // ⌈1/0.03 + 1⌉ = 35 points: 33 steps of 0.03 and a last one of 0.01.
    expect(subdivided.nfe).toBe(2 * 34);
    expect(explicit.nfe).toBe(2 * 34);
    expect(take(subdivided.x)).toEqual(take(explicit.x));
  });
});

describe('dopri5', () => {
  it('one step of dx/dt = λx multiplies by its stability polynomial; the error estimate is ⅔(R − R̂)', () => {
    // Hairer & Wanner: R(z) = Σ_{k≤5} z^k/k! + z⁶/600 for the 5th-order solution, and the
    // embedded 4th-order R̂(z) = Σ_{k≤4} z^k/k! + 1097/120000·z⁵ + 161/120000·z⁶ + 1/24000·z⁷.
    // torchdiffeq's error weights come from Shampine's embedded solution (1951/21600, 0,
    // 22642/50085, 451/720, −12231/42400, 649/6300, 1/60) = ⅓b + ⅔b̂, so its estimate is ⅔ of
    // Hairer's: x1 − x̂1 = ⅔(R − R̂)(z)·x0.
    const lambda = -1.3;
    const h = 0.5;
    const z = lambda * h;
    const R = 1 + z + z ** 2 / 2 + z ** 3 / 6 + z ** 4 / 24 + z ** 5 / 120 + z ** 6 / 600;
    const errorFactor = (2 / 3) * (z ** 5 * (1 / 120 - 1097 / 120000) + z ** 6 * (1 / 600 - 161 / 120000) - z ** 7 / 24000);
    const values = [1, -2];
    const { x1, error, stages } = tf.tidy(() => {
      const x = tf.tensor1d(values);
      return dopri5Step((v) => tf.mul(v, lambda), x, tf.mul(x, lambda), 0.25, h);
    });
    expect(stages).toHaveLength(7);
    const got = take(x1);
    const err = take(error);
    tf.dispose(stages);
    for (const [i, v] of values.entries()) {
      expect(got[i]).toBeCloseTo(R * v, 6);
      expect(Math.abs(err[i] - errorFactor * v)).toBeLessThan(1e-3 * Math.abs(errorFactor * v));
    }
  });

  const stiffish = {
    // A = [[−10.5, 9.5], [9.5, −10.5]] has eigenvalues −1 and −20 (eigenvectors (1, 1), (1, −1)):
    // x(t) = ½e^{−t}(1, 1) + ½e^{−20t}(1, −1) from x(0) = (1, 0). The fast mode bounds the step
    // by stability at loose tolerances; it is not stiff enough to need an implicit method.
    f: ((x) => tf.add(tf.mul(x, -10.5), tf.mul(tf.reverse(x), 9.5))) as VelocityField,
    x0: [1, 0],
    exact: (t: number) => [0.5 * Math.exp(-t) + 0.5 * Math.exp(-20 * t), 0.5 * Math.exp(-t) - 0.5 * Math.exp(-20 * t)],
  };
  const growth = {
    // dx/dt = cos(t)·x: x(t) = x(0)·e^{sin t}.
    f: ((x, t) => tf.mul(x, Math.cos(t))) as VelocityField,
    x0: [1, -0.5],
    exact: (t: number) => [Math.exp(Math.sin(t)), -0.5 * Math.exp(Math.sin(t))],
  };

  for (const [name, problem, tEnd] of [
    ['a stiff-ish linear system (eigenvalues −1, −20)', stiffish, 1],
    ['dx/dt = cos(t)·x, ending inside a step', growth, 0.77],
  ] as const) {
    it(`meets atol = rtol = tol on ${name}, with more evaluations for tighter tol`, () => {
      const nfes: number[] = [];
      for (const tol of [1e-3, 1e-4, 1e-5]) {
        let calls = 0;
        const x0 = tf.tensor1d(problem.x0);
        const result = integrateDopri5(
          (x, t) => {
            calls++;
            return problem.f(x, t);
          },
          x0,
          0,
          tEnd,
          { atol: tol, rtol: tol },
        );
        x0.dispose();
        const exact = problem.exact(tEnd);
        const got = take(result.x);
        for (const [i, v] of exact.entries()) expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(10 * (tol + tol * Math.abs(v)));
        expect(result.nfe).toBe(calls);
        expect(result.nfe).toBe(2 + 6 * (result.acceptedSteps + result.rejectedSteps));
        nfes.push(result.nfe);
      }
      expect(nfes[1]).toBeGreaterThanOrEqual(nfes[0]);
      expect(nfes[2]).toBeGreaterThan(nfes[0]);
    });
  }

  // torchdiffeq 0.2.5 `dopri5` transcribed to torch 1.13 (float32 state, float64 step control,
  // stages at c = 1 evaluated at nextafter(t1, −∞), quartic dense output at the end time), run
  // from x0 = X0 at t = 0 to 1 on the velocity above and on a stiffer one that rejects steps,
  // `t * y * 6 - y * y * y * 3 + (1 - t) * 4`.
  const stifferVelocity: VelocityField = (y, t) => tf.add(tf.sub(tf.mul(tf.mul(t, y), 6), tf.mul(tf.mul(tf.mul(y, y), y), 3)), Math.fround(1 - t) * 4);
  const TORCH_DOPRI5 = [
    {
      f: torchVelocity,
      tol: 1e-3,
      steps: [3, 0],
      x: [-0.9533913135528564, 0.266954630613327, 0.6998152136802673, 0.9147157669067383, 1.2148003578186035, 1.3163561820983887],
    },
    {
      f: torchVelocity,
      tol: 1e-5,
      steps: [5, 0],
      x: [-0.9248741865158081, 0.26696568727493286, 0.6997926831245422, 0.914665699005127, 1.2125376462936401, 1.314600944519043],
    },
    {
      f: stifferVelocity,
      tol: 1e-3,
      steps: [7, 2],
      x: [1.3708515167236328, 1.3812978267669678, 1.3816298246383667, 1.381727933883667, 1.3818289041519165, 1.3818596601486206],
    },
    {
      f: stifferVelocity,
      tol: 1e-5,
      steps: [13, 1],
      x: [1.3668837547302246, 1.3815096616744995, 1.3817744255065918, 1.3818470239639282, 1.3819164037704468, 1.381934404373169],
    },
  ];
  for (const { f, tol, steps, x: expected } of TORCH_DOPRI5) {
    const [accepted, rejected] = steps;
    it(`takes torchdiffeq's steps (${accepted} accepted, ${rejected} rejected) and lands on its state at tol ${tol}`, () => {
      const x0 = tf.tensor1d(X0);
      const result = integrateDopri5(f, x0, 0, 1, { atol: tol, rtol: tol });
      x0.dispose();
      expect([result.acceptedSteps, result.rejectedSteps]).toEqual(steps);
      expect(result.nfe).toBe(2 + 6 * (accepted + rejected));
      // Not bit for bit: torch sums the stages with a matmul, in its own order.
      expect(maxAbsDifference(take(result.x), expected)).toBeLessThan(2e-6);
    });
  }

  it('uses only the first and last grid times: intermediate times change nothing', () => {
    const a = tf.tensor1d(X0);
    const coarse = integrate(torchVelocity, a, [edmGrid(5)[0], 1], 'dopri5');
    const fine = integrate(torchVelocity, a, edmGrid(5), 'dopri5');
    a.dispose();
    expect(fine.nfe).toBe(coarse.nfe);
    expect(take(fine.x)).toEqual(take(coarse.x));
  });

  it('stops with a clear error after maxSteps attempts', () => {
    const x0 = tf.tensor1d([1, 0]);
    expect(() => integrateDopri5(rotation(200).f, x0, 0, 1, { atol: 1e-7, rtol: 1e-7, maxSteps: 5 })).toThrow(
      /dopri5 gave up after 5 steps at t = .*raise maxSteps/,
    );
    x0.dispose();
  });

  it('reports a velocity that turns non-finite instead of shrinking the step forever', () => {
    const x0 = tf.tensor1d([1, 2]);
    const blowUp: VelocityField = (x, t) => (t > 0.3 ? tf.mul(x, NaN) : tf.mul(x, 0.5));
    expect(() => integrateDopri5(blowUp, x0, 0, 1, { atol: 1e-5, rtol: 1e-5 })).toThrow(/non-finite/);
    x0.dispose();
  });

  it('previousFloat32 is the next float32 toward −∞', () => {
    expect(previousFloat32(1)).toBe(1 - 2 ** -24);
    expect(previousFloat32(Math.fround(0.3))).toBeLessThan(Math.fround(0.3));
    expect(Math.fround(previousFloat32(Math.fround(0.3)))).toBe(previousFloat32(Math.fround(0.3)));
    expect(previousFloat32(-1)).toBe(-(1 + 2 ** -23));
  });
});

describe('integrate: memory, ownership and progress', () => {
  for (const method of ODE_METHODS) {
    it(`${method}: 50 steps leave exactly one new tensor, the result; x0 stays usable`, () => {
      const x0 = tf.tensor2d([
        [1, 0],
        [0.5, -0.25],
      ]);
      const f: VelocityField = (x, t) => tf.mul(tf.reverse(x, 1), tf.tensor1d([-8 * (1 + t), 8 * (1 + t)]));
      const before = tf.memory().numTensors;
      const result = integrate(f, x0, uniformGrid(50), method, method === 'dopri5' ? { atol: 1e-6, rtol: 1e-6 } : {});
      expect(tf.memory().numTensors).toBe(before + 1);
      if (method === 'dopri5') expect(result.nfe).toBeGreaterThan(50);
      expect(result.x.shape).toEqual([2, 2]);
      expect(take(x0)).toEqual([1, 0, 0.5, -0.25]);
      result.x.dispose();
    });
  }

  it('a velocity that returns its input, or a tensor it keeps, is not disposed by the solver', () => {
    const kept = tf.tensor1d([1, 1]);
    for (const method of ODE_METHODS) {
      for (const f of [(x: tf.Tensor) => x, () => kept] as VelocityField[]) {
        const x0 = tf.tensor1d([1, 2]);
        const { x } = integrate(f, x0, [0, 0.5, 1], method);
        expect(x0.isDisposed).toBe(false);
        x0.dispose();
        x.dispose();
      }
    }
    expect(take(kept)).toEqual([1, 1]);
  });

  it('onStep reports steps done out of the total for fixed grids, time covered for dopri5', () => {
    const x0 = tf.tensor1d([1]);
    const fixed: [number, number][] = [];
    integrate(gaussianDecay(1).f, x0, [0, 1], 'rk4', { stepSize: 0.25, onStep: (d, n) => fixed.push([d, n]) }).x.dispose();
    expect(fixed).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    const adaptive: [number, number][] = [];
    integrate(gaussianDecay(1).f, x0, [0.5, 1], 'dopri5', { onStep: (d, n) => adaptive.push([d, n]) }).x.dispose();
    x0.dispose();
    expect(adaptive.length).toBeGreaterThan(1);
    expect(adaptive.at(-1)).toEqual([0.5, 0.5]);
    for (let i = 1; i < adaptive.length; i++) expect(adaptive[i][0]).toBeGreaterThan(adaptive[i - 1][0]);
  });
});

describe('integrate: argument errors', () => {
  const f: VelocityField = (x) => tf.neg(x);

  it('parseOdeMethod accepts the five methods and names them when rejecting another', () => {
    for (const m of ODE_METHODS) expect(parseOdeMethod(m)).toBe(m);
    expect(() => parseOdeMethod('heun3')).toThrow("unknown ODE method 'heun3'; expected one of: euler, midpoint, heun2, rk4, dopri5");
    const x0 = tf.tensor1d([1]);
    expect(() => integrate(f, x0, [0, 1], 'adams' as OdeMethod)).toThrow(/unknown ODE method 'adams'/);
    x0.dispose();
  });

  it('rejects grids that are not strictly increasing, too short or not finite', () => {
    const x0 = tf.tensor1d([1]);
    for (const grid of [[0, 0.5, 0.5, 1], [1, 0], [0.3, 0.3 + 1e-12], [0], [], [0, NaN]]) {
      for (const method of ODE_METHODS) expect(() => integrate(f, x0, grid, method)).toThrow(/time grid/);
    }
    expect(() => integrate(f, x0, [0, 0.5, 0.4, 1], 'euler')).toThrow(/strictly increasing .*t\[1\] = 0.5, t\[2\] = 0.4/);
    x0.dispose();
  });

  it('rejects a non-positive step size, a step size for dopri5 and a non-float32 state', () => {
    const x0 = tf.tensor1d([1]);
    expect(() => integrate(f, x0, [0, 1], 'euler', { stepSize: 0 })).toThrow(/stepSize must be a positive number/);
    expect(() => integrate(f, x0, [0, 1], 'dopri5', { stepSize: 0.1 })).toThrow(/stepSize applies to fixed-grid methods only/);
    const ints = tf.tensor1d([1], 'int32');
    expect(() => integrate(f, ints, [0, 1], 'rk4')).toThrow(/float32/);
    expect(() => integrate(f, ints, [0, 1], 'dopri5')).toThrow(/float32/);
    ints.dispose();
    x0.dispose();
  });
});
