/**
 * PCA against independent truth: NumPy's eigh of np.cov (where NumPy is installed), a
 * brute-force power iteration with deflation on the explicitly formed covariance (always), and
 * exact algebraic facts (orthonormal components, exact reconstruction of rank-k data, the
 * projections' covariance). Both routes are exercised: the covariance route (d ≤ n) and the
 * Gram route (n < d), each with a Krylov basis that stops short of the whole space and one that
 * fills it.
 */
import { InputError } from '@mmmi/cli-kit';
import { hasNumpy, runPython, SeededRandom, tempDir } from '@mmmi/test-utils';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianMi } from '../src/gaussian.js';
import { descending, symmetricEigen } from '@mmmi/latents';
import { topEigen } from '../src/linear-algebra.js';
import { fitPca, pcaFeatures, project, reconstruct, type Pca } from '../src/pca.js';

/**
 * n samples of mean + z · diag(scales) · M, z standard normal (n×p), M random p×d: a covariance
 * of rank p with distinct, decaying eigenvalues when scales decay.
 */
function lowRank(random: SeededRandom, n: number, d: number, scales: number[]): Float64Array {
  const p = scales.length;
  const m = Array.from({ length: p * d }, () => random.normal());
  const mean = Array.from({ length: d }, () => 10 * random.normal());
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = scales.map((s) => s * random.normal());
    for (let j = 0; j < d; j++) {
      let v = mean[j];
      for (let l = 0; l < p; l++) v += z[l] * m[l * d + j];
      out[i * d + j] = v;
    }
  }
  return out;
}

/** Full-rank data with a decaying spectrum: low-rank signal plus white noise of sd `noise`. */
function decaying(random: SeededRandom, n: number, d: number, p: number, noise: number): Float64Array {
  const x = lowRank(
    random,
    n,
    d,
    Array.from({ length: p }, (_, l) => 0.8 ** l),
  );
  for (let i = 0; i < x.length; i++) x[i] += noise * random.normal();
  return x;
}

/** The sample covariance (divisor n − 1), written out plainly. */
function plainCovariance(x: Float64Array, n: number, d: number): number[][] {
  const mean = Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + j];
    return s / n;
  });
  const c = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) c[a][b] += (x[i * d + a] - mean[a]) * (x[i * d + b] - mean[b]);
  return c.map((row) => row.map((v) => v / (n - 1)));
}

/** Top-k eigenpairs by power iteration with deflation (converged to 1e-15 in the Rayleigh quotient). */
function powerIteration(c: number[][], k: number): { values: number[]; vectors: number[][] } {
  const d = c.length;
  const a = c.map((row) => row.slice());
  const values: number[] = [];
  const vectors: number[][] = [];
  const random = new SeededRandom(99);
  for (let t = 0; t < k; t++) {
    let v = Array.from({ length: d }, () => random.normal());
    let lambda = 0;
    for (let it = 0; it < 20000; it++) {
      const w = a.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
      const norm = Math.hypot(...w);
      const next = w.reduce((s, x, j) => s + x * v[j], 0) / v.reduce((s, x) => s + x * x, 0);
      v = w.map((x) => x / norm);
      if (Math.abs(next - lambda) <= 1e-15 * Math.abs(next) && it > 10) break;
      lambda = next;
    }
    values.push(lambda);
    vectors.push(v);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i][j] -= lambda * v[i] * v[j];
  }
  return { values, vectors };
}

function component(pca: Pca, c: number): Float64Array {
  return pca.components.subarray(c * pca.d, (c + 1) * pca.d);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function expectOrthonormal(pca: Pca, tolerance = 1e-12): void {
  for (let a = 0; a < pca.k; a++)
    for (let b = 0; b <= a; b++) expect(Math.abs(dot(component(pca, a), component(pca, b)) - (a === b ? 1 : 0))).toBeLessThan(tolerance);
}

function expectSignConvention(pca: Pca): void {
  for (let c = 0; c < pca.k; c++) {
    const v = component(pca, c);
    let best = 0;
    for (let j = 1; j < v.length; j++) if (Math.abs(v[j]) > Math.abs(v[best])) best = j;
    expect(v[best]).toBeGreaterThan(0);
  }
}

/** Q diag(values) Qᵀ for a random orthogonal Q (Gram–Schmidt of a normal matrix). */
function withSpectrum(random: SeededRandom, values: number[]): Float64Array {
  const d = values.length;
  const q: number[][] = [];
  while (q.length < d) {
    const v = Array.from({ length: d }, () => random.normal());
    for (let pass = 0; pass < 2; pass++)
      for (const u of q) {
        const s = dot(u, v);
        for (let j = 0; j < d; j++) v[j] -= s * u[j];
      }
    const norm = Math.hypot(...v);
    q.push(v.map((x) => x / norm));
  }
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let l = 0; l < d; l++) a[i * d + j] += q[l][i] * values[l] * q[l][j];
  return a;
}

describe('linear algebra under PCA', () => {
  it("symmetricEigen (latents', largest first by descending) recovers a known spectrum, repeated eigenvalues included, with orthonormal vectors", () => {
    const random = new SeededRandom(20);
    const values = [5, 5, 5, 3, 2, 2, 1, 0, 0, -1, 1e-3, 7];
    const d = values.length;
    const a = withSpectrum(random, values);
    const eig = descending(symmetricEigen(a, d));
    const sorted = [...values].sort((x, y) => y - x);
    for (let i = 0; i < d; i++) expect(Math.abs(eig.values[i] - sorted[i])).toBeLessThan(1e-13);
    for (let i = 0; i < d; i++) {
      const v = eig.vectors.subarray(i * d, (i + 1) * d);
      for (let r = 0; r < d; r++) expect(Math.abs(dot(a.subarray(r * d, (r + 1) * d), v) - eig.values[i] * v[r])).toBeLessThan(1e-13);
      for (let j = 0; j <= i; j++) expect(Math.abs(dot(v, eig.vectors.subarray(j * d, (j + 1) * d)) - (i === j ? 1 : 0))).toBeLessThan(1e-13);
    }
  });

  it('topEigen finds every copy of a repeated top eigenvalue even with one vector per block (restarts)', () => {
    const random = new SeededRandom(28);
    const values = [4, 4, 4, 2, ...Array.from({ length: 36 }, (_, i) => 1 - i / 40)];
    const d = values.length;
    const a = withSpectrum(random, values);
    const apply = (block: Float64Array, b: number) => {
      const out = new Float64Array(b * d);
      for (let c = 0; c < b; c++) for (let i = 0; i < d; i++) out[c * d + i] = dot(a.subarray(i * d, (i + 1) * d), block.subarray(c * d, (c + 1) * d));
      return out;
    };
    for (const blockSize of [1, 4]) {
      const eig = topEigen(apply, d, 4, { blockSize });
      expect(eig.converged).toBe(true);
      expect(Array.from(eig.values, (v) => Math.round(v * 1e9) / 1e9)).toEqual([4, 4, 4, 2]);
    }
  });
});

describe('fitPca: algebra', () => {
  it.each([
    ['covariance route (d ≤ n)', 300, 40],
    ['Gram route (n < d)', 60, 500],
  ])('%s: orthonormal components, sign convention, rank-k data reconstructed exactly', (_, n, d) => {
    const random = new SeededRandom(n + d);
    const k = 5;
    const x = lowRank(random, n, d, [3, 2, 1.5, 1, 0.5]);
    const pca = fitPca(x, n, d, k);
    expect(pca.route).toBe(d <= n ? 'covariance' : 'gram');
    expect(pca.converged).toBe(true);
    expectOrthonormal(pca);
    expectSignConvention(pca);
    const back = reconstruct(pca, project(pca, x, n), n);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(back[i] - x[i]));
    expect(worst).toBeLessThan(1e-9);
    // all the variance is in the k components
    const explained = pca.explainedVariance.reduce((s, v) => s + v, 0);
    expect(Math.abs(explained - pca.totalVariance) / pca.totalVariance).toBeLessThan(1e-10);
  });

  it('keeps more components than the rank: the surplus explains nothing and stays orthonormal (both routes)', () => {
    const random = new SeededRandom(21);
    for (const [n, d] of [
      [100, 30],
      [30, 100],
    ]) {
      const x = lowRank(random, n, d, [2, 1]);
      const pca = fitPca(x, n, d, 6);
      expectOrthonormal(pca, 1e-10);
      expectSignConvention(pca);
      for (let c = 2; c < 6; c++) expect(pca.explainedVariance[c]).toBeLessThan(1e-10 * pca.explainedVariance[0]);
    }
  });

  it('projections of the training data have zero mean and covariance diag(explained variance)', () => {
    const random = new SeededRandom(22);
    const [n, d, k] = [400, 30, 6];
    const x = decaying(random, n, d, 10, 0.05);
    const pca = fitPca(x, n, d, k);
    const z = project(pca, x, n);
    const c = plainCovariance(z, n, k);
    for (let a = 0; a < k; a++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += z[i * k + a];
      expect(Math.abs(mean / n)).toBeLessThan(1e-10);
      for (let b = 0; b < k; b++) {
        const want = a === b ? pca.explainedVariance[a] : 0;
        expect(Math.abs(c[a][b] - want)).toBeLessThan(1e-9 * pca.explainedVariance[0]);
      }
    }
  });

  it('explained variances equal the top eigenvalues by brute-force power iteration', () => {
    const random = new SeededRandom(23);
    const [n, d, k] = [500, 40, 5];
    // well separated leading eigenvalues, so that deflated power iteration converges to 1e-15
    const x = lowRank(
      random,
      n,
      d,
      Array.from({ length: 12 }, (_, l) => 0.6 ** l),
    );
    const truth = powerIteration(plainCovariance(x, n, d), k);
    const pca = fitPca(x, n, d, k);
    for (let c = 0; c < k; c++) {
      expect(Math.abs(pca.explainedVariance[c] - truth.values[c]) / truth.values[c]).toBeLessThan(1e-9);
      expect(Math.abs(Math.abs(dot(component(pca, c), truth.vectors[c])) - 1)).toBeLessThan(1e-8);
    }
  });

  it('is deterministic, and blind to the sign of the data and the order of the rows', () => {
    const random = new SeededRandom(24);
    const [n, d, k] = [200, 50, 4];
    const x = decaying(random, n, d, 8, 0.1);
    const a = fitPca(x, n, d, k);
    expect(fitPca(x, n, d, k).components).toEqual(a.components);
    expect(
      fitPca(
        x.map((v) => -v),
        n,
        d,
        k,
      ).components,
    ).toEqual(a.components);
    const reversed = new Float64Array(n * d);
    for (let i = 0; i < n; i++) reversed.set(x.subarray(i * d, (i + 1) * d), (n - 1 - i) * d);
    const b = fitPca(reversed, n, d, k);
    for (let i = 0; i < k * d; i++) expect(Math.abs(b.components[i] - a.components[i])).toBeLessThan(1e-8);
  });
});

describe.skipIf(!hasNumpy())('fitPca: NumPy', () => {
  const dir = tempDir('mmmi-pca-');
  const script = `
import sys, json, numpy as np
n, d, k = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
x = np.fromfile(sys.argv[1], dtype='<f8').reshape(n, d)
w, v = np.linalg.eigh(np.cov(x, rowvar=False))
order = np.argsort(w)[::-1]
print(json.dumps({'values': w[order[:k + 1]].tolist(), 'vectors': v[:, order[:k]].T.tolist()}))
`;
  it.each([
    ['covariance route, basis fills the space', 400, 60, 8, 0.3],
    ['Gram route, basis fills the space', 80, 300, 8, 0.3],
    ['covariance route, Krylov stops early', 1500, 400, 20, 0.05],
    ['Gram route, Krylov stops early', 300, 1000, 20, 0.05],
  ])('%s: eigenvalues to 1e-9, components to their Davis–Kahan bound', (_, n, d, k, noise) => {
    const random = new SeededRandom(n * 7 + d);
    const x = decaying(random, n, d, 40, noise);
    const file = join(dir, `x-${n}-${d}.f64`);
    writeFileSync(file, new Uint8Array(x.buffer));
    const reference = JSON.parse(runPython(script, [file, String(n), String(d), String(k)])) as { values: number[]; vectors: number[][] };
    const pca = fitPca(x, n, d, k);
    expect(pca.converged).toBe(true);
    if (noise < 0.1) expect(pca.basisSize).toBeLessThan(Math.min(n, d) / 2);
    const lambda = reference.values;
    for (let c = 0; c < k; c++) {
      expect(Math.abs(pca.explainedVariance[c] - lambda[c]) / lambda[c]).toBeLessThan(1e-9);
      // NumPy's vector, under our sign convention, is our component to within the angle the
      // solver's residual r allows (Davis–Kahan: sin θ ≤ r / gap), doubled, plus rounding
      const gap = Math.min(c > 0 ? lambda[c - 1] - lambda[c] : Infinity, lambda[c] - lambda[c + 1]);
      const bound = (2 * pca.maxResidual * lambda[0]) / gap + 1e-10;
      const v = reference.vectors[c];
      let best = 0;
      for (let j = 1; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[best])) best = j;
      const sign = Math.sign(v[best]);
      const ours = component(pca, c);
      let worst = 0;
      for (let j = 0; j < d; j++) worst = Math.max(worst, Math.abs(ours[j] - sign * v[j]));
      expect(worst).toBeLessThan(bound);
    }
  });
});

describe('pcaFeatures', () => {
  it('fits on the first rows, projects the rest, and keeps the MI of a low-dimensional dependence', () => {
    // u, v: 3-D latents with canonical correlations 0.8, 0.6, 0.4; x = u embedded in 40-D, y = v
    // in 30-D (random maps), plus white noise of sd 0.01 (a relative loss of ~1e-4 per latent)
    const random = new SeededRandom(25);
    const rho = [0.8, 0.6, 0.4];
    const truth = -0.5 * rho.reduce((s, r) => s + Math.log(1 - r * r), 0);
    const [n, dx, dy] = [4000, 40, 30];
    const ax = Array.from({ length: 3 * dx }, () => random.normal());
    const ay = Array.from({ length: 3 * dy }, () => random.normal());
    const x = new Float64Array(n * dx);
    const y = new Float64Array(n * dy);
    for (let i = 0; i < n; i++) {
      const u = rho.map(() => random.normal());
      const v = rho.map((r, l) => r * u[l] + Math.sqrt(1 - r * r) * random.normal());
      for (let j = 0; j < dx; j++) x[i * dx + j] = u.reduce((s, ul, l) => s + ul * ax[l * dx + j], 0) + 0.01 * random.normal();
      for (let j = 0; j < dy; j++) y[i * dy + j] = v.reduce((s, vl, l) => s + vl * ay[l * dy + j], 0) + 0.01 * random.normal();
    }
    const features = pcaFeatures({ n, x, dx, y, dy }, { kx: 3, ky: 3, trainFraction: 0.25 });
    expect(features.trainSamples).toBe(1000);
    expect(features.testSamples).toBe(3000);
    expect(features.samples).toMatchObject({ n: 3000, dx: 3, dy: 3 });
    expect(features.x!.samples).toBe(1000);
    // the projection is the training fit applied to the held-out rows
    expect(features.samples.x).toEqual(project(features.x!, x.subarray(1000 * dx), 3000));
    const est = gaussianMi(features.samples, { biasCorrected: true });
    expect(Math.abs(est.estimate - truth)).toBeLessThan(4 * est.standardError!);
  });

  it('passes a side through unchanged when its k is absent', () => {
    const random = new SeededRandom(26);
    const n = 50;
    const x = Float64Array.from({ length: n * 4 }, () => random.normal());
    const y = Float64Array.from({ length: n }, () => random.normal());
    const f = pcaFeatures({ n, x, dx: 4, y, dy: 1 }, { kx: 2 });
    expect(f.y).toBeUndefined();
    expect(f.samples.dy).toBe(1);
    expect(f.samples.y).toEqual(y.slice(25));
    expect(f.samples.dx).toBe(2);
  });

  it('refuses bad fractions and component counts, naming the side', () => {
    const random = new SeededRandom(27);
    const n = 20;
    const data = {
      n,
      x: Float64Array.from({ length: n * 4 }, () => random.normal()),
      dx: 4,
      y: Float64Array.from({ length: n * 2 }, () => random.normal()),
      dy: 2,
    };
    for (const f of [0, 1, 1.5, Number.NaN])
      expect(() => pcaFeatures(data, { kx: 1, trainFraction: f })).toThrow(/trainFraction = .*: must lie strictly between 0 and 1/);
    expect(() => pcaFeatures(data, { ky: 3 })).toThrow(InputError);
    expect(() => pcaFeatures(data, { ky: 3 })).toThrow(
      /y side: PCA with k = 3 components of 10 samples in 2 dimensions: k must be an integer in 1 … min\(d, n − 1\) = 2/,
    );
    expect(() => pcaFeatures(data, { kx: 1, trainFraction: 0.05 })).toThrow(/20 samples split 1 to fit and 19 to project/);
  });
});

describe('fitPca: refusals', () => {
  const x = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i));
  it.each([
    [() => fitPca(x, 10, 4, 0), /k = 0 components of 10 samples in 4 dimensions: k must be an integer in 1 … min\(d, n − 1\) = 4/],
    [() => fitPca(x, 10, 4, 5), /k = 5 components/],
    [() => fitPca(x.subarray(0, 8), 2, 4, 2), /k = 2 components of 2 samples .* = 1/],
    [() => fitPca(x, 10, 4, 1.5), /k = 1.5/],
    [() => fitPca(x, 1, 40, 1), /PCA on 1 samples: at least 2 are needed/],
    [() => fitPca(x, 10, 5, 2), /40 values given, 10 samples × 5 need 50/],
    [
      () =>
        fitPca(
          x.map((v, i) => (i === 13 ? Number.POSITIVE_INFINITY : v)),
          10,
          4,
          2,
        ),
      /sample 3, feature 1 is Infinity: samples must be finite/,
    ],
  ])('refusal %#', (f, message) => {
    expect(f).toThrow(InputError);
    expect(f).toThrow(message);
  });

  it('refuses projections of the wrong shape', () => {
    const pca = fitPca(x, 10, 4, 2);
    expect(() => project(pca, x, 9)).toThrow(/PCA projection: 40 values given, 9 samples × 4 need 36/);
    expect(() => reconstruct(pca, new Float64Array(5), 3)).toThrow(/PCA reconstruction: 5 values given, 3 samples × 2 need 6/);
  });
});
