import { describe, expect, it } from 'vitest';
import { constructiveStructure, samplingStructure } from '../src/construct.js';
import { pointwiseMutualInformation, mutualInformation } from '../src/mi.js';
import { latentModelFromTokens } from '../src/model.js';
import { Rng } from '../src/rng.js';
import { createSampler, sampleBatch } from '../src/sample.js';
import { denseSigma, type LatentStructure } from '../src/structure.js';
import type { SamplingSpec } from '../src/spec.js';
import { denseConstructiveSigma } from './dense-reference.js';
import { randomCase } from './random-specs.js';

/** Every entry of the sample covariance within 5 standard errors of Σ (order [θ, X…]). */
function expectSampleCovariance(m: LatentStructure, sigma: Float64Array, n: number, draws: number) {
  const batch = createSampler(m).sample(draws, new Rng(7, 99));
  const dim = n;
  const row = (c: number, a: number) => (a === 0 ? batch.theta[c] : batch.x[c * (dim - 1) + a - 1]);
  let worst = 0;
  for (let a = 0; a < dim; a++)
    for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let c = 0; c < draws; c++) s += row(c, a) * row(c, b);
      const est = s / draws;
      const want = sigma[a * dim + b];
      const se = Math.sqrt((sigma[a * dim + a] * sigma[b * dim + b] + want * want) / draws);
      worst = Math.max(worst, Math.abs(est - want) / se);
    }
  expect(worst).toBeLessThan(5);
}

describe('sampling', () => {
  it('constructive draws have covariance Σ (against the dense brute-force Σ)', () => {
    const c = randomCase(11);
    const m = constructiveStructure(c.spec, c.templates);
    const { sigma, n } = denseConstructiveSigma(c.dense);
    expectSampleCovariance(m, sigma, n, 40_000);
  });

  it('the structured sampler (sampling paradigm, indefinite core) draws from Σ', () => {
    const spec: SamplingSpec = {
      paradigm: 'sampling',
      nMod: 2,
      modDim: 5,
      covImages: null,
      covTheta: null,
      thetaVar: null,
      epsilon: 1e-6,
      delta: 0.5,
      covSeed: 3,
      labels: null,
    };
    const m = samplingStructure(spec);
    expectSampleCovariance(m, denseSigma(m, 'constructive'), 11, 40_000);
  });

  it('sampling paradigm with cov_images and scalar cov_theta draws from Σ', async () => {
    const { structure } = await latentModelFromTokens([
      '--generation_paradigm',
      'sampling',
      '--N_mod',
      '3',
      '--mod_dim',
      '3',
      '--cov_images',
      '[[1.0,0.5,0.2],[0.5,1.0,0.3],[0.2,0.3,1.0]]',
      '--cov_theta',
      '[0.3,0.2,0.1]',
      '--theta_var',
      '2',
    ]);
    expectSampleCovariance(structure, denseSigma(structure, 'constructive'), 10, 40_000);
  });

  it('is deterministic: same seed and batch → same bytes; batches differ', async () => {
    const { structure } = await latentModelFromTokens(['@../../generation_arguments/simple_fig1_DAG.txt']);
    const a = sampleBatch(structure, 42, 3, 4);
    const b = sampleBatch(structure, 42, 3, 4);
    expect(Buffer.from(a.x.buffer).equals(Buffer.from(b.x.buffer))).toBe(true);
    expect(Array.from(a.theta)).toEqual(Array.from(b.theta));
    const c = sampleBatch(structure, 42, 4, 4);
    expect(Array.from(c.theta)).not.toEqual(Array.from(a.theta));
    expect(a.x.length).toBe(4 * 2 * 3072);
  });

  it('standard normals: mean, variance, tails and a Kolmogorov–Smirnov test', () => {
    const rng = new Rng(123);
    const n = 200_000;
    const v = new Float64Array(n);
    rng.fillNormal(v);
    let s = 0;
    let s2 = 0;
    let s4 = 0;
    let tail = 0;
    for (const x of v) {
      s += x;
      s2 += x * x;
      s4 += x ** 4;
      if (Math.abs(x) > 3.442619855899) tail++;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(s4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    // P(|Z| > r) for the ziggurat's base-strip edge r
    expect(Math.abs(tail / n - 5.7622e-4)).toBeLessThan(5 * Math.sqrt(5.7622e-4 / n));
    const sorted = Float64Array.from(v).sort();
    const phi = (x: number) => 0.5 * erfc(-x / Math.SQRT2);
    let ks = 0;
    for (let i = 0; i < n; i++) ks = Math.max(ks, Math.abs(phi(sorted[i]) - (i + 0.5) / n));
    expect(ks).toBeLessThan(1.63 / Math.sqrt(n)); // 1% level
  });
});

describe('pointwise MI', () => {
  it('averages to I(X; θ) and matches the dense conditional density per sample', async () => {
    const { structure } = await latentModelFromTokens([
      '--N_mod',
      '3',
      '--N_u',
      '3',
      '--mod_dim',
      '6',
      '--N_u_theta',
      '2',
      '--T_vectors_method',
      'random',
      '--eta_arg',
      '[1.0,0.5]',
      '--rho_theta_arg',
      '[0.4,0.3]',
      '--rho_arg',
      '[1,0.8,1.2]',
      '--alpha',
      '1.3',
    ]);
    const draws = 60_000;
    const batch = sampleBatch(structure, 5, 0, draws);
    const pmi = pointwiseMutualInformation(structure, batch.theta, batch.x, draws);
    let mean = 0;
    let sq = 0;
    for (const v of pmi) {
      mean += v;
      sq += v * v;
    }
    mean /= draws;
    const sd = Math.sqrt(sq / draws - mean * mean);
    const exact = mutualInformation(structure, { mods: [0, 1, 2], theta: false }, { mods: [], theta: true });
    expect(Math.abs(mean - exact)).toBeLessThan((5 * sd) / Math.sqrt(draws));

    // per-sample check against dense Gaussian conditioning
    const S = denseSigma(structure, 'sampling');
    const nx = 18;
    const N = nx + 1;
    const Sxx = new Float64Array(nx * nx);
    for (let a = 0; a < nx; a++) for (let b = 0; b < nx; b++) Sxx[a * nx + b] = S[a * N + b];
    const bvec = Array.from({ length: nx }, (_, a) => S[a * N + nx]);
    const w = gaussSolve(Sxx, bvec, nx);
    const vth = S[nx * N + nx];
    const cond = vth - w.reduce((acc, x, i) => acc + x * bvec[i], 0);
    for (let c = 0; c < 5; c++) {
      const x = batch.x.subarray(c * nx, (c + 1) * nx);
      const mu = w.reduce((acc, wi, i) => acc + wi * x[i], 0);
      const th = batch.theta[c];
      const want = -0.5 * Math.log(cond / vth) - (th - mu) ** 2 / (2 * cond) + (th * th) / (2 * vth);
      expect(Math.abs(pmi[c] - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
    }
  });
});

function gaussSolve(a: Float64Array, b: number[], n: number): number[] {
  const m = Array.from({ length: n }, (_, i) => [...Array.from(a.subarray(i * n, (i + 1) * n)), b[i]]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    [m[k], m[p]] = [m[p], m[k]];
    for (let i = k + 1; i < n; i++) {
      const f = m[i][k] / m[k][k];
      for (let j = k; j <= n; j++) m[i][j] -= f * m[k][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = m[i][n];
    for (let j = i + 1; j < n; j++) s -= m[i][j] * x[j];
    x[i] = s / m[i][i];
  }
  return x;
}

/** erfc (Numerical Recipes erfcc, error < 1.2e-7): ample for a KS statistic at n = 2e5. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
