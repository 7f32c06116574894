/**
 * Ridge regression and the regression entry point against independent references: the
 * fitted predictions equal the augmented normal equations solved by Gaussian elimination
 * (and NumPy's solve where NumPy is installed); the primal and dual forms agree for the same
 * λ; the validation errors of the λ search equal a K-fold computed from scratch; the scoring
 * matches hand-computed values; every bad input is refused with an InputError before work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@mmmi/cli-kit';
import { hasNumpy, runPython, SeededRandom, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import type { RegressRow } from '../src/results.js';
import { bayesOptimum, DEFAULT_EXPONENTS, evaluateRegression, fitRidge, regressRow, regressTheta, type BayesOptimum } from '../src/regress/index.js';
import { columnStats, referenceRidge } from './regress-helpers.js';

/** y = xᵀβ + noise with correlated features and a non-zero intercept, as float64; β depends on p only. */
function linearProblem(n: number, p: number, seed: number, noise = 0.5): { x: Float64Array; y: Float64Array; beta: Float64Array } {
  const b = new SeededRandom(1000 + p);
  const beta = Float64Array.from({ length: p }, () => b.normal());
  const r = new SeededRandom(seed);
  const x = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const common = r.normal();
    let s = 3;
    for (let j = 0; j < p; j++) {
      // unequal scales and offsets, so that standardisation matters
      const v = (1 + j) * (r.normal() + 0.5 * common) + 10 * j;
      x[i * p + j] = v;
      s += (beta[j] * (v - 10 * j)) / (1 + j);
    }
    y[i] = s + noise * r.normal();
  }
  return { x, y, beta };
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rel: number): void {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(rel * scale);
}

describe('evaluateRegression', () => {
  it('scores against the test set’s own variance', () => {
    // errors 0, 0, 0, −1: MSE 1/4; Var_test(y) = 5/4 (divisor 4); R² = 1 − (1/4)/(5/4) = 0.8
    const s = evaluateRegression([1, 2, 3, 4], [1, 2, 3, 5]);
    expect(s.mse).toBeCloseTo(0.25, 15);
    expect(s.r2).toBeCloseTo(0.8, 15);
    expect(s.m).toBe(4);
    expect(evaluateRegression([1, 2, 3, 4], [2.5, 2.5, 2.5, 2.5]).r2).toBeCloseTo(0, 15);
    expect(evaluateRegression([1, 2], [1, 2]).r2).toBe(1);
  });

  it('refuses mismatched, short, non-finite or constant input', () => {
    expect(() => evaluateRegression([1, 2, 3], [1, 2])).toThrow(InputError);
    expect(() => evaluateRegression([1], [1])).toThrow(/at least 2/);
    expect(() => evaluateRegression([1, NaN], [1, 2])).toThrow(/row 1 is NaN/);
    expect(() => evaluateRegression([2, 2, 2], [1, 2, 3])).toThrow(/θ must vary/);
  });
});

describe('fitRidge at a fixed λ', () => {
  it('equals the augmented normal equations solved by Gaussian elimination, primal (p ≤ n) and dual (p > n)', () => {
    for (const [n, p] of [
      [80, 6],
      [25, 40],
    ]) {
      const { x, y } = linearProblem(n, p, n + p);
      const test = linearProblem(30, p, 7);
      const lambda = 2.5;
      const ref = referenceRidge(x, y, p, lambda, all(n), columnStats(x, n, p))(test.x, 30);
      const model = fitRidge(x, y, n, p, { lambda });
      expect(model.form).toBe(p <= n ? 'primal' : 'dual');
      expect(model.validation).toBeNull();
      expectClose(model.predict(test.x), ref, 1e-9);
    }
  });

  it('gives the same predictions in the primal and the dual form for the same λ', () => {
    for (const [n, p] of [
      [50, 12],
      [20, 35],
    ]) {
      const { x, y } = linearProblem(n, p, 3 * n + p, 1);
      const test = linearProblem(40, p, 11);
      for (const lambda of [0.01, 1, 100]) {
        const primal = fitRidge(x, y, n, p, { lambda, form: 'primal' }).predict(test.x);
        const dual = fitRidge(x, y, n, p, { lambda, form: 'dual' }).predict(test.x);
        expectClose(dual, primal, 1e-8);
      }
    }
  });

  it('ignores a feature that is constant on the training rows, and takes float32 features', () => {
    const n = 60;
    const { x, y } = linearProblem(n, 4, 5);
    const withConstant = new Float64Array(n * 5);
    for (let i = 0; i < n; i++) {
      withConstant.set(x.subarray(i * 4, i * 4 + 4), i * 5);
      withConstant[i * 5 + 4] = 7.25;
    }
    const test = linearProblem(10, 4, 6).x;
    const testWith = new Float64Array(50);
    for (let i = 0; i < 10; i++) testWith.set(test.subarray(i * 4, i * 4 + 4), i * 5);
    const plain = fitRidge(x, y, n, 4, { lambda: 0.3 }).predict(test);
    expectClose(fitRidge(withConstant, y, n, 5, { lambda: 0.3 }).predict(testWith), plain, 1e-12);
    const x32 = Float32Array.from(x);
    const ref = referenceRidge(x32, y, 4, 0.3, all(n), columnStats(x32, n, 4))(test, 10);
    expectClose(fitRidge(x32, y, n, 4, { lambda: 0.3 }).predict(test), ref, 1e-9);
  });

  it.skipIf(!hasNumpy())('matches NumPy’s solve of the same standardised problem', () => {
    const dir = tempDir('mi-bench-ridge-');
    for (const [n, p] of [
      [70, 9],
      [30, 50],
    ]) {
      const { x, y } = linearProblem(n, p, 100 + p);
      const test = linearProblem(20, p, 9);
      writeFileSync(join(dir, 'x.bin'), x);
      writeFileSync(join(dir, 'y.bin'), y);
      writeFileSync(join(dir, 't.bin'), test.x);
      const out = runPython(
        [
          'import sys, numpy as np',
          'd, n, p, lam = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])',
          "x = np.fromfile(d + '/x.bin').reshape(n, p); y = np.fromfile(d + '/y.bin'); t = np.fromfile(d + '/t.bin').reshape(-1, p)",
          'mu, sd = x.mean(0), x.std(0); z = (x - mu) / sd; yc = y - y.mean()',
          'w = np.linalg.solve(z.T @ z + lam * np.eye(p), z.T @ yc)',
          "print(' '.join(repr(float(v)) for v in y.mean() + ((t - mu) / sd) @ w))",
        ].join('\n'),
        [dir, String(n), String(p), '0.7'],
      );
      const numpy = out.trim().split(' ').map(Number);
      expectClose(fitRidge(x, y, n, p, { lambda: 0.7 }).predict(test.x), numpy, 1e-9);
    }
  });
});

describe('fitRidge λ by validation', () => {
  /** K-fold MSE from scratch: each fold's fit by the augmented normal equations on the other rows. */
  function referenceCv(x: Float64Array, y: Float64Array, n: number, p: number, lambda: number, folds: number, used: number): number {
    const stats = columnStats(x, n, p);
    let sse = 0;
    let count = 0;
    for (let f = 0; f < used; f++) {
      const fit = all(n).filter((i) => i % folds !== f);
      const held = all(n).filter((i) => i % folds === f);
      const predict = referenceRidge(x, y, p, lambda, fit, stats);
      const heldX = new Float64Array(held.length * p);
      held.forEach((i, k) => heldX.set(x.subarray(i * p, (i + 1) * p), k * p));
      const pred = predict(heldX, held.length);
      held.forEach((i, k) => (sse += (y[i] - pred[k]) ** 2));
      count += held.length;
    }
    return sse / count;
  }

  it('scores each λ by the K-fold error a from-scratch computation gives, in both forms, and takes the least', () => {
    for (const [n, p] of [
      [53, 7],
      [24, 30],
    ]) {
      const { x, y } = linearProblem(n, p, 17 + n, 2);
      const lambdas = [0.01, 0.3, 3, 30, 300];
      const model = fitRidge(x, y, n, p, { lambdas, folds: 4 });
      const v = model.validation!;
      expect(v.folds).toBe(4);
      expect(v.foldsUsed).toBe(4);
      expect(v.rows).toBe(n);
      expect(v.trials.map((t) => t.lambda)).toEqual(lambdas);
      const ref = lambdas.map((l) => referenceCv(x, y, n, p, l, 4, 4));
      expectClose(
        v.trials.map((t) => t.mse),
        ref,
        1e-9,
      );
      expect(model.lambda).toBe(lambdas[ref.indexOf(Math.min(...ref))]);
      // the other form scores the same folds identically
      const other = fitRidge(x, y, n, p, { lambdas, folds: 4, form: p <= n ? 'dual' : 'primal' });
      expectClose(
        other.validation!.trials.map((t) => t.mse),
        ref,
        1e-8,
      );
    }
  });

  it('scores fewer folds when the factorisations would exceed the budget, at least one', () => {
    const n = 40;
    const p = 5;
    const { x, y } = linearProblem(n, p, 23);
    const model = fitRidge(x, y, n, p, { lambdas: [0.1, 10], folds: 5, validationBudget: 1 });
    expect(model.validation!.foldsUsed).toBe(1);
    expect(model.validation!.rows).toBe(8);
    expect(model.validation!.trials[0].mse).toBeCloseTo(referenceCv(x, y, n, p, 0.1, 5, 1), 10);
  });

  it('walks the default grid down from the largest λ, refines around the best, and predicts close to the truth', () => {
    const n = 400;
    const p = 10;
    const { x, y } = linearProblem(n, p, 29, 0.3);
    const model = fitRidge(x, y, n, p);
    const v = model.validation!;
    expect(v.unit).toBe(n);
    const rel = v.trials.map((t) => t.relative);
    const gridPart = rel.slice(0, -2);
    expect(gridPart.map((r) => Math.round(Math.log10(r)))).toEqual(DEFAULT_EXPONENTS.slice(0, gridPart.length));
    const best = v.trials.reduce((a, b) => (b.mse < a.mse ? b : a));
    expect(model.lambda).toBe(best.lambda);
    const test = linearProblem(2000, p, 31, 0.3);
    // noise variance 0.09 is the least possible test MSE
    expect(evaluateRegression(test.y, model.predict(test.x)).mse).toBeLessThan(0.09 * 1.1);
  });
});

describe('bad input', () => {
  const { x, y } = linearProblem(30, 3, 41);

  it('fitRidge refuses it naming the cause', () => {
    expect(() => fitRidge(x, y, 30, 4)).toThrow(/90 feature values do not make 30 rows of 4/);
    expect(() => fitRidge(x, y.subarray(0, 29), 30, 3)).toThrow(/29 θ values for 30 rows/);
    expect(() => fitRidge(x.subarray(0, 3), y.subarray(0, 1), 1, 3)).toThrow(/1 training draws for ridge regression: at least 2/);
    expect(() => fitRidge(x, y, 30, 3, { folds: 20 })).toThrow(/at least 40 are needed/);
    expect(() => fitRidge(x, y, 30, 3, { lambda: 0 })).toThrow(InputError);
    expect(() => fitRidge(x, y, 30, 3, { lambdas: [] })).toThrow(InputError);
    const bad = x.slice();
    bad[7] = Infinity;
    expect(() => fitRidge(bad, y, 30, 3)).toThrow(/row 2, feature 1 is Infinity/);
    expect(() => fitRidge(x, new Float64Array(30).fill(1), 30, 3)).toThrow(/θ must vary/);
    expect(() => fitRidge(x, y, 30, 3).predict(x, 31)).toThrow(InputError);
  });

  it('regressTheta refuses it before any work, the CNN’s image shape included', async () => {
    const base = { trainFeatures: x, trainTheta: y, testFeatures: x, testTheta: y, dim: 3, model: 'ridge' as const };
    await expect(regressTheta({ ...base, trainTheta: y.subarray(0, 20) })).rejects.toThrow(/training rows: 90 feature values do not make 20 rows of 3/);
    await expect(regressTheta({ ...base, testFeatures: x.subarray(0, 30) })).rejects.toThrow(/test rows: 30 feature values do not make 30 rows/);
    await expect(regressTheta({ ...base, trainFeatures: x.subarray(0, 3), trainTheta: y.subarray(0, 1) })).rejects.toThrow(/1 training draws: at least 2/);
    await expect(regressTheta({ ...base, testFeatures: x.subarray(0, 3), testTheta: y.subarray(0, 1) })).rejects.toThrow(/1 test draws/);
    await expect(regressTheta({ ...base, model: 'forest' as 'ridge' })).rejects.toThrow(/regression model 'forest'/);
    // the CNN on rows that are not stacked 3×32×32 images: refused before a tfjs backend is even set up
    const backendBefore = tf.engine().backendName as string | null;
    await expect(regressTheta({ ...base, model: 'cnn' })).rejects.toThrow(/multiple of 3072 values; got 3/);
    const pixels = new Float32Array(12 * 3000);
    await expect(
      regressTheta({
        ...base,
        model: 'cnn',
        dim: 3000,
        trainFeatures: pixels,
        testFeatures: pixels,
        trainTheta: y.subarray(0, 12),
        testTheta: y.subarray(0, 12),
      }),
    ).rejects.toThrow(InputError);
    const images = new Float32Array(5 * 3072);
    await expect(regressTheta({ ...base, model: 'cnn', dim: 3072, trainFeatures: images, trainTheta: y.subarray(0, 5) })).rejects.toThrow(
      /5 training draws: at least 10/,
    );
    expect(tf.engine().backendName as string | null).toBe(backendBefore);
  });
});

describe('regressTheta with ridge', () => {
  it('fits, scores on the test rows and fills a RegressRow', async () => {
    const train = linearProblem(300, 8, 51);
    const test = linearProblem(500, 8, 52);
    const r = await regressTheta({ trainFeatures: train.x, trainTheta: train.y, testFeatures: test.x, testTheta: test.y, dim: 8, model: 'ridge' });
    const direct = fitRidge(train.x, train.y, 300, 8).predict(test.x);
    expect(Array.from(r.predictions)).toEqual(Array.from(direct));
    const s = evaluateRegression(test.y, direct);
    expect(r.testMse).toBe(s.mse);
    expect(r.r2).toBe(s.r2);
    expect(r.n).toBe(300);
    expect(r.testRows).toBe(500);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.details.model).toBe('ridge');
    if (r.details.model === 'ridge') {
      expect(r.details.form).toBe('primal');
      expect(r.details.relativeLambda).toBeCloseTo(r.details.lambda / 300, 12);
    }
    const bayes: BayesOptimum = { mi: 1.2, thetaVariance: 2, mse: 2 * Math.exp(-2.4), r2: 1 - Math.exp(-2.4) };
    const row: RegressRow = regressRow({ dataset: 'd', map: 'identity', subset: 'X_1', features: 'latents', seed: 4 }, bayes, r);
    expect(row).toEqual({
      dataset: 'd',
      map: 'identity',
      subset: 'X_1',
      mi: 1.2,
      model: 'ridge',
      features: 'latents',
      n: 300,
      seed: 4,
      testMse: r.testMse,
      r2: r.r2,
      bayesMse: bayes.mse,
      bayesR2: bayes.r2,
      seconds: r.seconds,
    });
    expect(bayesOptimum).toBeTypeOf('function');
  });
});
