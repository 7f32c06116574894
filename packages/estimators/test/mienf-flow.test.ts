/**
 * MIENF's parts against independent arithmetic, with no training: each flow layer and whole
 * side flows, their parameters set to random values (the layers start as the identity, which
 * would test nothing), checked for
 *
 *  - the inverse: f⁻¹(f(x)) = x to 1e-4. Values are O(1) and float32 carries 7 digits; a few
 *    dozen ops each way leave errors near 1e-6, while a wrong inverse is off by O(0.1);
 *  - the log-determinant against a numerical Jacobian: central differences at h = 0.02 and
 *    0.01 combined by Richardson extrapolation (truncation O(h⁴) ≈ 1e-8), float32 rounding of
 *    f (≈ 2e-7 relative) divided by 2h gives ≈ 1e-5 per entry, so log|det J| agrees to 1e-3;
 *    a missing or wrong term (the −½ log(1 + x²) of sinh-arcsinh, a log-scale of the wrong
 *    half) is off by 0.05 or more at these parameter sizes;
 *  - a one-dimensional flow's density N(f(x))·f′(x) integrated over [a, b] (trapezoid, step
 *    0.005) equal to the standard normal mass of [f(a), f(b)], to 1e-3 (the trapezoid error of
 *    these smooth integrands is below 1e-5): log f′ right everywhere on the grid, not at a few points;
 *  - the tridiagonal base's log density, pointwise MI and MI against the multivariate normal
 *    computed in float64 by LU elimination of the full (dx + dy)-dimensional covariance;
 *  - the canonical start: its maps bring the training rows to the tridiagonal form (identity
 *    covariance per side, cross-covariance diag(ρ)) to 1e-9, and its correlations equal the
 *    Gaussian estimator's canonical correlations (computed there another way) to 1e-9.
 *
 * Then the estimator's contract: bad input refused with an InputError naming the cause before
 * any training (no curve point, no tensor made), seeding (same seed, same numbers bit for bit),
 * no leaked tensors.
 */
import { InputError } from '@mmmi/cli-kit';
import { SeededRandom } from '@mmmi/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PairedSamples } from '../src/estimator.js';
import { mulberry32 } from '../src/random.js';
import { gaussianMi } from '../src/gaussian.js';
import {
  actNorm,
  affineCoupling,
  canonicalForm,
  fitMienf,
  luLinear,
  makeSideFlow,
  mienf,
  ParameterPack,
  sinhArcsinh,
  tridiagonalBase,
  tridiagonalMiOf,
  type FlowCurvePoint,
  type FlowLayer,
  type MienfOptions,
} from '../src/flow/index.js';
import { ensureTrainingBackend } from '../src/variational/index.js';
import { gaussianPairs } from './variational-data.js';

beforeAll(async () => {
  await ensureTrainingBackend();
});

/** A layer with its own parameters, set to seeded normal values of sd `scale` (every layer starts as the identity, which would test nothing). */
interface Randomised {
  layer: FlowLayer;
  pack: ParameterPack;
}
function randomised(layer: FlowLayer, seed: number, scale = 0.4): Randomised {
  const pack = new ParameterPack(layer.parameters);
  const random = new SeededRandom(seed);
  tf.tidy(() => pack.variable.assign(tf.tensor1d(Float32Array.from({ length: pack.size }, () => scale * random.normal()))));
  return { layer, pack };
}

function rows(random: SeededRandom, n: number, d: number): Float32Array {
  return Float32Array.from({ length: n * d }, () => random.normal());
}

function forwardOf({ layer, pack }: Randomised, x: Float32Array, d: number): { z: Float32Array; logDet: Float32Array } {
  return tf.tidy(() => {
    const n = x.length / d;
    const o = layer.forward(tf.tensor2d(x, [n, d]), pack.unpack());
    // a linear layer's log-det is one scalar for every row
    return { z: o.z.dataSync() as Float32Array, logDet: tf.add(tf.zeros([n]), o.logDet).dataSync() as Float32Array };
  });
}

/** log|det M| of a d×d matrix by LU elimination with partial pivoting, float64. */
function logAbsDet(m: number[][]): number {
  const a = m.map((r) => r.slice());
  const d = a.length;
  let s = 0;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    s += Math.log(Math.abs(a[c][c]));
    for (let r = c + 1; r < d; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k < d; k++) a[r][k] -= f * a[c][k];
    }
  }
  return s;
}

/** The numerical Jacobian ∂z/∂x of one row (Richardson-extrapolated central differences), evaluated in one forward batch. */
function numericalJacobian(layer: Randomised, x: Float32Array, d: number): number[][] {
  const steps = [0.01, 0.005];
  const batch: number[] = [];
  for (const h of steps)
    for (let j = 0; j < d; j++)
      for (const sign of [1, -1]) {
        const row = Array.from(x);
        row[j] += sign * h;
        batch.push(...row);
      }
  const { z } = forwardOf(layer, Float32Array.from(batch), d);
  const derivative = (s: number, j: number, i: number) => (z[(s * 2 * d + 2 * j) * d + i] - z[(s * 2 * d + 2 * j + 1) * d + i]) / (2 * steps[s]);
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (4 * derivative(1, j, i) - derivative(0, j, i)) / 3));
}

function checkLayer(layer: Randomised, d: number, seed: number): { inverseError: number; logDetError: number } {
  const random = new SeededRandom(seed);
  const n = 6;
  const x = rows(random, n, d);
  const { z, logDet } = forwardOf(layer, x, d);
  const back = tf.tidy(() => layer.layer.inverse(tf.tensor2d(z, [n, d]), layer.pack.unpack()).dataSync());
  let inverseError = 0;
  for (let i = 0; i < x.length; i++) inverseError = Math.max(inverseError, Math.abs(back[i] - x[i]));
  let logDetError = 0;
  for (let r = 0; r < n; r++) {
    const jac = numericalJacobian(layer, x.subarray(r * d, (r + 1) * d), d);
    logDetError = Math.max(logDetError, Math.abs(logAbsDet(jac) - logDet[r]));
  }
  return { inverseError, logDetError };
}

describe('flow layers: inverse and log-determinant', () => {
  const cases: [string, number, (d: number) => FlowLayer][] = [
    ['actnorm', 3, (d) => actNorm(d)],
    ['sinh-arcsinh', 3, (d) => sinhArcsinh(d)],
    ['LU linear', 4, (d) => luLinear(d, 5)],
    ['affine coupling, first half passes', 5, (d) => affineCoupling({ dim: d, hidden: 8, layers: 2, passFirst: true }, mulberry32(11))],
    ['affine coupling, last half passes', 5, (d) => affineCoupling({ dim: d, hidden: 8, layers: 1, passFirst: false }, mulberry32(12))],
  ];
  for (const [name, d, make] of cases) {
    it(`${name} (d = ${d}): f⁻¹(f(x)) = x to 1e-4, log|det| = the numerical Jacobian's to 1e-3; no leaked tensors`, () => {
      const layer = randomised(make(d), d * 7 + name.length);
      const before = tf.memory().numTensors;
      const { inverseError, logDetError } = checkLayer(layer, d, 3);
      expect(tf.memory().numTensors).toBe(before);
      console.info(`${name}: inverse error ${inverseError.toExponential(1)}, log-det error ${logDetError.toExponential(1)}`);
      expect(inverseError).toBeLessThan(1e-4);
      expect(logDetError).toBeLessThan(1e-3);
      layer.pack.dispose();
    });
  }

  for (const d of [1, 2, 3, 5]) {
    it(`a side flow of 3 blocks on ${d} value${d > 1 ? 's' : ''}: the same checks through the whole stack`, () => {
      const flow = randomised(makeSideFlow({ dim: d, blocks: 3, hidden: 8, layers: 2 }, mulberry32(100 + d)), 40 + d, 0.25);
      const { inverseError, logDetError } = checkLayer(flow, d, 9);
      console.info(`side flow d = ${d}: inverse error ${inverseError.toExponential(1)}, log-det error ${logDetError.toExponential(1)}`);
      expect(inverseError).toBeLessThan(1e-4);
      expect(logDetError).toBeLessThan(1e-3);
      flow.pack.dispose();
    });
  }

  it('a 1-D flow is a density: ∫ N(f(x); 0, 1)·f′(x) dx over [a, b] = the standard normal mass of [f(a), f(b)], to 1e-3', () => {
    const flow = randomised(makeSideFlow({ dim: 1, blocks: 3, hidden: 8, layers: 2 }, mulberry32(1)), 77, 0.5);
    const step = 0.005;
    const grid = Float32Array.from({ length: Math.round(40 / step) + 1 }, (_, i) => -20 + i * step);
    const { z, logDet } = forwardOf(flow, grid, 1);
    const trapezoid = (values: (i: number) => number, count: number, h: number) => {
      let sum = 0;
      for (let i = 0; i < count; i++) sum += (i === 0 || i === count - 1 ? 0.5 : 1) * values(i) * h;
      return sum;
    };
    const integral = trapezoid((i) => Math.exp(-0.5 * z[i] * z[i] + logDet[i]) / Math.sqrt(2 * Math.PI), grid.length, step);
    // the same mass in latent space, where it needs no flow: ∫ N(t) dt over [f(a), f(b)]
    const [lo, hi] = [z[0], z[grid.length - 1]];
    const m = 200_000;
    const mass = trapezoid((i) => Math.exp(-0.5 * (lo + ((hi - lo) * i) / (m - 1)) ** 2) / Math.sqrt(2 * Math.PI), m, (hi - lo) / (m - 1));
    expect(hi).toBeGreaterThan(lo); // increasing, as every layer is
    expect(mass).toBeGreaterThan(0.5); // the grid covers most of the density, so the check has something to compare
    console.info(`1-D flow density on [-20, 20]: ∫ = ${integral.toFixed(6)}, normal mass of [${lo.toFixed(2)}, ${hi.toFixed(2)}] = ${mass.toFixed(6)}`);
    expect(Math.abs(integral - mass)).toBeLessThan(1e-3);
    flow.pack.dispose();
  });
});

describe('the tridiagonal base against the full multivariate normal (float64, by LU)', () => {
  const dx = 3;
  const dy = 2;
  const rho = [0.8, -0.45];
  /** Σ = [[I, R], [Rᵀ, I]] with R_jj = ρ_j. */
  const sigma: number[][] = Array.from({ length: dx + dy }, (_, i) => Array.from({ length: dx + dy }, (_, j) => (i === j ? 1 : 0)));
  rho.forEach((r, j) => {
    sigma[j][dx + j] = r;
    sigma[dx + j][j] = r;
  });
  /** log N(v; 0, Σ) by solving Σ w = v (Gauss–Jordan) and log det Σ by LU. */
  const logNormal = (v: number[], s: number[][]): number => {
    const d = v.length;
    const a = s.map((row, i) => [...row, v[i]]);
    for (let c = 0; c < d; c++) {
      let p = c;
      for (let r = c + 1; r < d; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
      [a[c], a[p]] = [a[p], a[c]];
      for (let r = 0; r < d; r++)
        if (r !== c) {
          const f = a[r][c] / a[c][c];
          for (let k = c; k <= d; k++) a[r][k] -= f * a[c][k];
        }
    }
    const w = a.map((row, i) => row[d] / row[i]);
    const quad = v.reduce((acc, vi, i) => acc + vi * w[i], 0);
    return -0.5 * quad - 0.5 * logAbsDet(s) - (d / 2) * Math.log(2 * Math.PI);
  };
  const block = (from: number, to: number) => sigma.slice(from, to).map((row) => row.slice(from, to));

  it('log density and pointwise MI to 2e-5 (float32), the MI ½ log(det Σx det Σy / det Σ) to 1e-6', () => {
    const base = tridiagonalBase(dx, dy);
    const a = tf.tensor1d(rho.map(Math.atanh));
    const random = new SeededRandom(5);
    const n = 20;
    const xi = rows(random, n, dx);
    const eta = rows(random, n, dy);
    const [logQ, pmi] = tf.tidy(() => {
      const u = tf.tensor2d(xi, [n, dx]);
      const v = tf.tensor2d(eta, [n, dy]);
      return [base.logDensity(u, v, [a]).dataSync(), base.pointwiseMi(u, v, [a]).dataSync()];
    });
    for (let i = 0; i < n; i++) {
      const u = Array.from(xi.subarray(i * dx, (i + 1) * dx));
      const v = Array.from(eta.subarray(i * dy, (i + 1) * dy));
      const joint = logNormal([...u, ...v], sigma);
      expect(Math.abs(logQ[i] - joint)).toBeLessThan(2e-5 * Math.max(1, Math.abs(joint)));
      const marginals = logNormal(u, block(0, dx)) + logNormal(v, block(dx, dx + dy));
      expect(Math.abs(pmi[i] - (joint - marginals))).toBeLessThan(2e-5 * Math.max(1, Math.abs(joint)));
    }
    const exact = 0.5 * (logAbsDet(block(0, dx)) + logAbsDet(block(dx, dx + dy)) - logAbsDet(sigma));
    expect(Math.abs(tridiagonalMiOf(a.dataSync()) - exact)).toBeLessThan(1e-6);
    a.dispose();
  });
});

describe('the estimator: refusals, seeding, tensors', () => {
  const small = gaussianPairs(600, [0.8, 0.3], 2);
  const quick: MienfOptions = { steps: 40, batchSize: 64, blocks: 2, hidden: 8, evalEvery: 20, patience: 0 };

  const refused = async (data: PairedSamples, options: MienfOptions, message: RegExp) => {
    let reported = 0;
    const before = tf.memory().numTensors;
    const run = mienf.estimate(data, { ...options, onProgress: () => reported++ });
    await expect(run).rejects.toThrow(InputError);
    await expect(run).rejects.toThrow(message);
    expect(reported).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  };

  it('bad options, each named', async () => {
    await refused(small, { blocks: 0 }, /blocks = 0: an integer ≥ 1 is needed/);
    await refused(small, { hidden: 2.5 }, /hidden = 2.5: an integer ≥ 1 is needed/);
    await refused(small, { layers: 0 }, /layers = 0: an integer ≥ 1 is needed/);
    await refused(small, { steps: -1 }, /steps = -1: an integer ≥ 1 is needed/);
    await refused(small, { batchSize: 1 }, /batchSize = 1: an integer ≥ 2 is needed/);
    await refused(small, { learningRate: 0 }, /learningRate = 0: a finite number > 0 is needed/);
    await refused(small, { learningRate: NaN }, /learningRate = NaN/);
    await refused(small, { seed: -3 }, /seed = -3: an integer ≥ 0 is needed/);
    await refused(small, { trainFraction: 1 }, /trainFraction = 1: a number strictly between 0 and 1 is needed/);
    await refused(small, { evalEvery: 0 }, /evalEvery = 0/);
    await refused(small, { patience: -1 }, /patience = -1/);
    await refused(small, { readout: 'mean' as never }, /readout = 'mean': expected one of base, latents/);
    await refused(small, { backend: 'abacus' }, /backend = 'abacus': expected one of/);
    await refused(small, { start: 'random' as never }, /start = 'random': expected one of canonical, identity/);
  });

  it('bad data, each named', async () => {
    await refused(gaussianPairs(300, [0.5], 1), { batchSize: 256 }, /300 samples with trainFraction 0.5 leave 150 for training, fewer than one batch of 256/);
    await refused(gaussianPairs(3, [0.5], 1), {}, /3 paired samples: at least 4 are needed/);
    await refused({ ...small, x: small.x.subarray(1) }, quick, /x holds 1199 values, 600 samples × 2 need 1200/);
    const bad = Float64Array.from(small.y);
    bad[7] = Infinity;
    await refused({ ...small, y: bad }, quick, /y\[7\] = Infinity: samples must be finite/);
    const constant = Float64Array.from(small.x);
    for (let i = 0; i < small.n; i++) constant[i * 2 + 1] = 4;
    await refused({ ...small, x: constant }, quick, /x feature 1 is constant on the 300 training rows/);
    await refused(
      gaussianPairs(40, [0.5, 0.5, 0.5, 0.5, 0.5], 1),
      { batchSize: 8, readout: 'latents' },
      /readout 'latents' fits a Gaussian to 10 held-out rows of 5 \+ 5/,
    );
    await refused(gaussianPairs(20, [0.5, 0.5, 0.5, 0.5, 0.5], 1), { batchSize: 4 }, /leave 10 training rows for 5 \+ 5 dimensions: more than 11 are needed/);
    const collinear = Float64Array.from(small.x);
    for (let i = 0; i < small.n; i++) collinear[i * 2 + 1] = 2 * collinear[i * 2] - 1;
    await refused({ ...small, x: collinear }, quick, /x feature 1 is, to within 1e-10 of its variance, a linear combination of the x features before it/);
  });

  it('the same seed gives the same numbers bit for bit, another seed others; no leaked tensors', async () => {
    const before = tf.memory().numTensors;
    const a = await mienf.estimate(small, { ...quick, seed: 3 });
    const b = await mienf.estimate(small, { ...quick, seed: 3 });
    const c = await mienf.estimate(small, { ...quick, seed: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(b.estimate).toBe(a.estimate);
    expect(b.details?.rho).toEqual(a.details?.rho);
    const withoutTimes = (e: typeof a) =>
      (e.details?.curve as FlowCurvePoint[]).map(({ step, trainNll, heldOutNll, mi }) => ({ step, trainNll, heldOutNll, mi }));
    expect(withoutTimes(b)).toEqual(withoutTimes(a));
    expect(c.estimate).not.toBe(a.estimate);
  });

  it('a kept model: pointwise MI and latents, then dispose frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const fitted = await fitMienf(small, quick);
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    const pmi = fitted.pointwiseMi(small.x, small.y, small.n);
    const { xi, eta } = fitted.latents(small.x, small.y, small.n);
    expect(pmi.length).toBe(small.n);
    expect(xi.length).toBe(small.n * 2);
    expect(eta.length).toBe(small.n * 2);
    expect(pmi.every(Number.isFinite)).toBe(true);
    expect(() => fitted.pointwiseMi(small.x, small.y, small.n + 1)).toThrow(/x holds 1200 values, 601 pairs × 2 need 1202/);
    fitted.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => fitted.pointwiseMi(small.x, small.y, small.n)).toThrow(/disposed/);
  });
});

describe('the canonical start', () => {
  it('A_x, A_y bring the training rows to the tridiagonal form; the correlations equal the Gaussian estimator’s (to 1e-9)', () => {
    // unequal sides and unequal correlations: x 4-D, y 3-D, mixed by rotations
    const pairs = gaussianPairs(3000, [0.8, 0.5, 0.2, 0], 21, true);
    const y3 = new Float64Array(pairs.n * 3);
    for (let i = 0; i < pairs.n; i++) y3.set(pairs.y.subarray(i * 4, i * 4 + 3), i * 3);
    const data: PairedSamples = { ...pairs, y: y3, dy: 3 };
    const { ax, ay, rho } = canonicalForm(data.x, 4, data.y, 3, data.n);
    const map = (a: Float64Array, v: Float64Array, d: number) => {
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i += d) for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) out[i + r] += a[r * d + c] * v[i + c];
      return out;
    };
    const xi = map(ax, data.x, 4);
    const eta = map(ay, data.y, 3);
    // the sample covariance (divisor n − 1, as canonicalForm's) of the canonical variates
    const mean = (v: Float64Array, d: number, j: number) => v.filter((_, i) => i % d === j).reduce((s, t) => s + t, 0) / data.n;
    const cov = (u: Float64Array, du: number, j: number, v: Float64Array, dv: number, l: number) => {
      const mu = mean(u, du, j);
      const mv = mean(v, dv, l);
      let s = 0;
      for (let i = 0; i < data.n; i++) s += (u[i * du + j] - mu) * (v[i * dv + l] - mv);
      return s / (data.n - 1);
    };
    for (let j = 0; j < 4; j++) for (let l = 0; l < 4; l++) expect(Math.abs(cov(xi, 4, j, xi, 4, l) - (j === l ? 1 : 0))).toBeLessThan(1e-9);
    for (let j = 0; j < 3; j++) for (let l = 0; l < 3; l++) expect(Math.abs(cov(eta, 3, j, eta, 3, l) - (j === l ? 1 : 0))).toBeLessThan(1e-9);
    for (let j = 0; j < 4; j++) for (let l = 0; l < 3; l++) expect(Math.abs(cov(xi, 4, j, eta, 3, l) - (j === l ? rho[j] : 0))).toBeLessThan(1e-9);
    const independent = gaussianMi(data).details?.canonicalCorrelations as number[];
    rho.forEach((r, j) => expect(Math.abs(r - independent[j])).toBeLessThan(1e-9));
  });
});
