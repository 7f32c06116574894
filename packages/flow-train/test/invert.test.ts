/**
 * The inverse of a fixed-grid integration (solvers/invert.ts): on a linear field, where a
 * step is x_{n+1} = M·x_n + c with M and c known in closed form, every fixed-grid solver's
 * inverse recovers the start; dopri5 is refused; a grid too coarse for a stiff field is
 * reported as not converged, naming the step; the flow's inverse (guidance, threads)
 * recovers the noise a flow model integrated.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { SeededRandom } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowModel } from '../src/flow-model.js';
import { invertFlowRows } from '../src/invert-flow.js';
import { ModelThreads } from '../src/parallel/model-threads.js';
import { integrateFlowRows } from '../src/sample.js';
import { FIXED_GRID_METHODS, integrateFixedGrid, type FixedGridMethod } from '../src/solvers/fixed-grid.js';
import type { VelocityField } from '../src/solvers/index.js';
import { DEFAULT_INVERT_TOLERANCE, invertIntegration, InversionError, unconvergedSteps } from '../src/solvers/invert.js';
import { uniformGrid } from '../src/time-grid.js';
import { microConfig } from './helpers/training.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** v(x, t) = A·x + b (rows of x are states in R²). */
const A = [
  [-0.8, 0.5],
  [-0.3, -0.4],
];
const b = [0.2, -0.1];
const linear: VelocityField = (x) => tf.tidy(() => tf.add(tf.matMul(x as tf.Tensor2D, tf.transpose(tf.tensor2d(A))), tf.tensor1d(b)));

type Mat = number[][];
const mul = (p: Mat, q: Mat): Mat => p.map((r) => q[0].map((_, j) => r.reduce((s, v, k) => s + v * q[k][j], 0)));
const add = (p: Mat, q: Mat): Mat => p.map((r, i) => r.map((v, j) => v + q[i][j]));
const scale = (p: Mat, s: number): Mat => p.map((r) => r.map((v) => v * s));
const eye: Mat = [
  [1, 0],
  [0, 1],
];

/** One step of `method` on the linear field is x ↦ P(hA)·x + h·Q(hA)·b with these polynomials. */
function stepMatrices(method: FixedGridMethod, h: number): { M: Mat; N: Mat } {
  const hA = scale(A, h);
  const hA2 = mul(hA, hA);
  const hA3 = mul(hA2, hA);
  const terms: Record<FixedGridMethod, number[]> = { euler: [1, 1], midpoint: [1, 1, 1 / 2], heun2: [1, 1, 1 / 2], rk4: [1, 1, 1 / 2, 1 / 6, 1 / 24] };
  const powers = [eye, hA, hA2, hA3, mul(hA3, hA)];
  const c = terms[method];
  // M = Σ c_k (hA)^k; N = h·Σ_{k≥1} c_k (hA)^(k−1)
  const M = c.reduce((s, ck, k) => add(s, scale(powers[k], ck)), scale(eye, 0));
  const N = c.slice(1).reduce((s, ck, k) => add(s, scale(powers[k], ck * h)), scale(eye, 0));
  return { M, N };
}

/** The exact inverse of the whole integration on the linear field, in float64: x_n = M⁻¹(x_{n+1} − N·b), from the last step back. */
function exactInverse(method: FixedGridMethod, grid: number[], x1: number[][]): number[][] {
  let x = x1.map((r) => [...r]);
  for (let n = grid.length - 2; n >= 0; n--) {
    const { M, N } = stepMatrices(method, Math.fround(grid[n + 1]) - Math.fround(grid[n]));
    const det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
    const inv = [
      [M[1][1] / det, -M[0][1] / det],
      [-M[1][0] / det, M[0][0] / det],
    ];
    const c = [N[0][0] * b[0] + N[0][1] * b[1], N[1][0] * b[0] + N[1][1] * b[1]];
    x = x.map((r) => [inv[0][0] * (r[0] - c[0]) + inv[0][1] * (r[1] - c[1]), inv[1][0] * (r[0] - c[0]) + inv[1][1] * (r[1] - c[1])]);
  }
  return x;
}

const rows = (t: tf.Tensor): number[][] => (t.arraySync() as number[][]).map((r) => [...r]);
const maxDiff = (p: number[][], q: number[][]) => Math.max(...p.flatMap((r, i) => r.map((v, j) => Math.abs(v - q[i][j]))));

describe('inverting a fixed-grid integration', () => {
  const x0Rows = [
    [1, -0.5],
    [-2, 0.3],
    [0.7, 2.5],
  ];

  it.each(FIXED_GRID_METHODS)('%s: recovers the start of a linear flow, which is the closed-form inverse, to the tolerance', async (method) => {
    const grid = uniformGrid(6);
    const x0 = tf.tensor2d(x0Rows);
    const { x: x1 } = integrateFixedGrid(linear, x0, grid, method);
    const { x, report } = await invertIntegration(linear, x1, grid, method);
    expect(report.converged).toBe(true);
    expect(report.steps).toHaveLength(6);
    expect(report.steps.map((s) => s.step)).toEqual([0, 1, 2, 3, 4, 5]);
    // contraction of g on a step is about Lip(Φ) ≈ h·‖A‖ ≈ 0.17: a few iterations each
    for (const s of report.steps) {
      expect(s.iterations).toBeLessThan(15);
      expect(s.lastChange).toBeLessThanOrEqual(s.threshold);
      expect(s.contraction!).toBeLessThan(0.5);
    }
    const scaleOf = 2.5;
    expect(maxDiff(rows(x), x0Rows)).toBeLessThan(20 * DEFAULT_INVERT_TOLERANCE * scaleOf);
    expect(maxDiff(rows(x), exactInverse(method, grid, rows(x1)))).toBeLessThan(20 * DEFAULT_INVERT_TOLERANCE * scaleOf);
    expect(report.forwardResidual!.maxAbs).toBeLessThan(1e-5);
    tf.dispose([x0, x1, x]);
  });

  it('inverts a step-size subdivided integration (rk4, step_size 0.15) on the solver grid', async () => {
    const x0 = tf.tensor2d(x0Rows);
    const { x: x1 } = integrateFixedGrid(linear, x0, [0, 1], 'rk4', { stepSize: 0.15 });
    const { x, report } = await invertIntegration(linear, x1, [0, 1], 'rk4', { stepSize: 0.15 });
    // torchdiffeq's grid 0, 0.15, …, 0.9, then 1: 7 steps, the last one shorter
    expect(report.steps).toHaveLength(7);
    expect(report.steps[6].t0).toBeCloseTo(0.9, 6);
    expect(report.steps[6].t1).toBe(1);
    expect(report.converged).toBe(true);
    expect(maxDiff(rows(x), x0Rows)).toBeLessThan(1e-4);
    tf.dispose([x0, x1, x]);
  });

  it('refuses dopri5 with the reason', async () => {
    const x1 = tf.tensor2d(x0Rows);
    await expect(invertIntegration(linear, x1, [0, 1], 'dopri5')).rejects.toThrow(InversionError);
    await expect(invertIntegration(linear, x1, [0, 1], 'dopri5')).rejects.toThrow(/adaptively.*fixed-grid method/);
    x1.dispose();
  });

  it('reports a grid too coarse for a stiff field as not converged, naming the step, instead of hiding it', async () => {
    // v = λx, λ = 30: on 4 euler steps h·λ = 7.5 > 1 (g is no contraction); on 60 steps h·λ = 0.5
    const stiff: VelocityField = (x) => tf.mul(x, 30);
    const x0 = tf.tensor2d(x0Rows);
    for (const [steps, converges] of [
      [4, false],
      [60, true],
    ] as const) {
      const grid = uniformGrid(steps);
      const { x: x1 } = integrateFixedGrid(stiff, x0, grid, 'euler');
      const { x, report } = await invertIntegration(stiff, x1, grid, 'euler', { maxIterations: 30 });
      expect(report.converged).toBe(converges);
      if (!converges) {
        expect(report.steps.every((s) => !s.converged)).toBe(true);
        // the iteration grows the change by h·λ each time: stopped early, contraction ≈ 7.5
        expect(report.steps[3].iterations).toBeLessThan(30);
        expect(report.steps[3].contraction!).toBeCloseTo(7.5, 1);
        const named = unconvergedSteps(report);
        expect(named).toHaveLength(4);
        expect(report.steps[3].outcome).toBe('diverged');
        expect(named[3]).toMatch(/^step 4 \(t 0\.7500 → 1\.000: diverged after \d+ iterations, last change .* > .*, contraction 7\.5\)$/);
      } else {
        expect(report.steps.every((s) => s.contraction! < 0.6)).toBe(true);
        expect(maxDiff(rows(x), x0Rows)).toBeLessThan(1e-4);
      }
      tf.dispose([x1, x]);
    }
    x0.dispose();
  });
});

describe('inverting the flow', () => {
  const config = microConfig();
  let model: FlowModel;
  let pool: ModelThreads;
  const rng = new SeededRandom(8);
  const n = 3;
  const labels = Int32Array.from([0, 1, config.numClasses]);
  const x0 = Float32Array.from({ length: n * 8 * 8 * 3 }, () => rng.normal());
  const settings = { odeMethod: 'heun2', odeOptions: { nfe: 4 }, cfgScale: 0.5, edmSchedule: false };

  beforeAll(async () => {
    model = new FlowModel(config, { seed: 3 });
    // non-zero weights everywhere (the zero-initialised output layer would make the flow the identity)
    const values = await model.values();
    for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += 0.05 * rng.normal();
    model.setValues(values);
    pool = await ModelThreads.start(config, 'cpu', 1);
  });
  afterAll(async () => {
    await pool?.close();
    model?.dispose();
  });

  it('recovers the noise of a guided flow (heun2, cfg 0.5), on one thread and on shards of the rows, with the forward residual', async () => {
    const x1 = await integrateFlowRows(model, model.params, x0, labels, settings);
    expect(Math.max(...Array.from(x1, (v, i) => Math.abs(v - x0[i])))).toBeGreaterThan(1e-2);
    for (const threads of [undefined, pool]) {
      const { x0: back, report } = await invertFlowRows(model, model.params, x1, labels, settings, { threads });
      expect(report.converged).toBe(true);
      expect(report.steps).toHaveLength(4);
      expect(Math.max(...Array.from(back, (v, i) => Math.abs(v - x0[i])))).toBeLessThan(1e-4);
      expect(report.forwardResidual!.maxAbs).toBeLessThan(1e-5);
      expect(report.nfe).toBeGreaterThan(4 * 2 * 2);
    }
  });

  it('refuses dopri5 before any work', async () => {
    await expect(invertFlowRows(model, model.params, x0, labels, { ...settings, odeMethod: 'dopri5' })).rejects.toThrow(/dopri5 cannot be inverted/);
  });
});
