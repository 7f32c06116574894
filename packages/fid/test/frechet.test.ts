import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNumpy, runPython, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { symmetricEigen } from '@mmmi/latents';
import { frechetDistance, psdSqrt } from '../src/frechet.js';
import { readStats, StatsAccumulator, writeStats } from '../src/stats.js';

interface Case {
  name: string;
  d: number;
  features1: number[] | null;
  n1: number;
  mu1: number[];
  sigma1: number[];
  mu2: number[];
  sigma2: number[];
  sqrt_sigma1: number[];
  fid_scipy: number;
  fid_eigh: number;
}
const fixtures: { cases: Case[] } = JSON.parse(readFileSync(new URL('./fixtures/frechet.json', import.meta.url), 'utf8'));
const stats = (mu: number[], sigma: number[]) => ({ mu: Float64Array.from(mu), sigma: Float64Array.from(sigma) });
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('symmetric eigen-decomposition', () => {
  it('finds the closed-form spectrum of a tridiagonal Toeplitz matrix, with orthonormal vectors', () => {
    const n = 40;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 2;
      if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
    }
    const { values, vectors } = symmetricEigen(a, n);
    const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => x - y);
    values.forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThan(1e-13));
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++) {
        let dot = 0;
        for (let j = 0; j < n; j++) dot += vectors![p * n + j] * vectors![q * n + j];
        expect(Math.abs(dot - (p === q ? 1 : 0))).toBeLessThan(1e-13);
      }
    expect(Array.from(symmetricEigen(a, n, true).values)).toEqual(Array.from(values));
  });

  it('reconstructs random symmetric matrices (A·v = λ·v)', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    for (const n of [1, 2, 7, 33]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rnd();
      const { values, vectors } = symmetricEigen(a, n);
      for (let k = 0; k < n; k++)
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += a[i * n + j] * vectors![k * n + j];
          expect(Math.abs(s - values[k] * vectors![k * n + i])).toBeLessThan(1e-13);
        }
    }
  });
});

describe('Fréchet distance against NumPy/SciPy', () => {
  for (const c of fixtures.cases) {
    // A rank-deficient Σ has eigenvalues at rounding level (~1e-16) whose square roots (~1e-8)
    // differ between any two implementations: that bounds the agreement there.
    const deficient = c.name.startsWith('rank deficient');
    const eighTol = deficient ? 1e-8 : 1e-9;
    const rootTol = deficient ? 1e-6 : 1e-9;
    it(`${c.name}: matches pytorch-fid's scipy formula to 1e-6 and the eigh formula to ${eighTol}`, () => {
      const s1 = stats(c.mu1, c.sigma1);
      const s2 = stats(c.mu2, c.sigma2);
      const fid = frechetDistance(s1, s2);
      expect(rel(fid, c.fid_scipy)).toBeLessThan(1e-6);
      expect(rel(fid, c.fid_eigh)).toBeLessThan(eighTol);
      const root = psdSqrt(s1.sigma, c.d);
      let worst = 0;
      root.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - c.sqrt_sigma1[i]))));
      expect(worst).toBeLessThan(rootTol);
      expect(frechetDistance(s1, s2, { sqrtSigma1: root })).toBe(fid);
    });
  }

  it('is zero between a distribution and itself, and rejects mismatched statistics', () => {
    const c = fixtures.cases[0];
    const s = stats(c.mu1, c.sigma1);
    expect(Math.abs(frechetDistance(s, s))).toBeLessThan(1e-9);
    expect(() => frechetDistance(s, stats(c.mu2.slice(1), c.sigma2))).toThrow(/sigma has 256 values, expected 15×15/);
    expect(() => frechetDistance(s, stats([...c.mu2.slice(1), NaN], c.sigma2))).toThrow(/non-finite/);
  });

  it('refuses a sigma that is no covariance (not symmetric, negative variance, not PSD) instead of printing a number', () => {
    const mu = [0, 0, 0];
    const good = stats(mu, [2, 0.5, 0, 0.5, 1, 0, 0, 0, 1]);
    expect(() => frechetDistance(good, stats(mu, [2, 0.5, 0, 0.4, 1, 0, 0, 0, 1]))).toThrow(
      /second statistics: sigma is not symmetric \(largest \|σᵢⱼ − σⱼᵢ\| 1\.000e-1 of 2\.000e\+0\): not a covariance/,
    );
    expect(() => frechetDistance(stats(mu, [-1, 0, 0, 0, -1, 0, 0, 0, -1]), good)).toThrow(/first statistics: sigma has a negative variance \(-1 at 0\)/);
    // symmetric with a non-negative diagonal, but the [[1,2],[2,1]] block has eigenvalues 3 and −1
    const indefinite = stats(mu, [1, 2, 0, 2, 1, 0, 0, 0, 1]);
    expect(() => frechetDistance(indefinite, good)).toThrow(
      /first statistics: sigma is not positive semi-definite \(eigenvalue -1\.000e\+0, largest magnitude 3\.000e\+0\)/,
    );
    expect(() => frechetDistance(good, indefinite)).toThrow(/second statistics: sigma is not positive semi-definite/);
  });
});

describe('statistics', () => {
  it('accumulated batch by batch equal numpy mean and np.cov(rowvar=False)', () => {
    const c = fixtures.cases.find((x) => x.features1)!;
    const acc = new StatsAccumulator(c.d);
    const split = 123;
    acc.add(c.features1!.slice(0, split * c.d), split);
    acc.add(c.features1!.slice(split * c.d), c.n1 - split);
    const r = acc.result();
    expect(r.count).toBe(c.n1);
    r.mu.forEach((v, i) => expect(Math.abs(v - c.mu1[i])).toBeLessThan(1e-12));
    r.sigma.forEach((v, i) => expect(Math.abs(v - c.sigma1[i])).toBeLessThan(1e-12));
    expect(() => new StatsAccumulator(4).result()).toThrow(/at least 2 samples/);
    expect(() => acc.add([1, 2, 3], 1)).toThrow(/expected 1×16/);
  });

  it.skipIf(!hasNumpy())('statistics files round-trip with NumPy (pytorch-fid layout: mu, sigma)', async () => {
    const dir = tempDir('mmmi-fid-');
    const c = fixtures.cases[0];
    const ours = join(dir, 'ours.npz');
    await writeStats(ours, stats(c.mu1, c.sigma1));
    const check = runPython(`
import numpy as np, json, sys
f = np.load(${JSON.stringify(ours)})
want = json.load(open(${JSON.stringify(new URL('./fixtures/frechet.json', import.meta.url).pathname)}))["cases"][0]
print(sorted(f.files), f["mu"].dtype, f["sigma"].shape, bool((f["mu"] == np.array(want["mu1"])).all() and (f["sigma"].ravel() == np.array(want["sigma1"])).all()))
np.savez(${JSON.stringify(join(dir, 'theirs.npz'))}, mu=f["mu"] * 2, sigma=f["sigma"].astype(np.float32))
`);
    expect(check.trim()).toBe(`['mu', 'sigma'] float64 (${c.d}, ${c.d}) True`);
    const back = await readStats(join(dir, 'theirs.npz'));
    back.mu.forEach((v, i) => expect(v).toBe(2 * c.mu1[i]));
    back.sigma.forEach((v, i) => expect(v).toBe(Math.fround(c.sigma1[i])));
    await expect(readStats(join(dir, 'nope.npz'))).rejects.toThrow(/nope\.npz/);
  });
});
