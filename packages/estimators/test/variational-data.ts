/**
 * Test data with closed-form mutual information for the variational estimators' tests.
 *
 *  - Gaussian pairs: coordinates (u_c, v_c) standard bivariate normal with correlation ρ_c,
 *    independent across c, so I = −½ Σ_c log(1 − ρ_c²); optionally mixed by fixed random
 *    rotations, x = Q u and y = R v (orthogonal, so invertible and well conditioned), which
 *    leaves I unchanged while making every x feature depend on every y feature.
 *  - Images: x = p·z + σ·ε (p a fixed random 3×32×32 pattern, ε white noise), y = ρ z + √(1 − ρ²) e.
 *    s = pᵀx/|p|² = z + (σ/|p|)·η is sufficient for z in x and y depends on x only through z, so
 *    I(X; Y) = I(s; Y) = −½ log(1 − r²) with r = ρ/√(1 + σ²/|p|²).
 */
import { SeededRandom } from '@mmmi/test-utils';
import { expect } from 'vitest';
import type { MiEstimate, PairedSamples } from '../src/estimator.js';

/**
 * The checks every trained estimate gets: at least truth − `below`; at most truth + 4 of its
 * standard errors + 0.01 (a lower bound read on held-out rows exceeds the truth only through their
 * sampling noise and float32 rounding); InfoNCE also at most log of its batch size.
 */
export function checkEstimate(e: MiEstimate, truth: number, below: number): void {
  expect(e.estimate).toBeGreaterThan(truth - below);
  expect(e.standardError).not.toBeNull();
  expect(e.estimate).toBeLessThan(truth + 4 * (e.standardError as number) + 0.01);
  if (e.estimator === 'infonce') expect(e.estimate).toBeLessThanOrEqual(Math.log(e.details?.evalBatchSize as number) + 1e-6);
}

export const gaussianMiOf = (rhos: readonly number[]): number => rhos.reduce((s, r) => s - 0.5 * Math.log(1 - r * r), 0);

/** A random orthogonal d×d matrix: Gram–Schmidt on Gaussian rows. */
function randomRotation(random: SeededRandom, d: number): number[][] {
  const q: number[][] = [];
  while (q.length < d) {
    const v = Array.from({ length: d }, () => random.normal());
    for (const u of q) {
      const dot = u.reduce((s, ui, i) => s + ui * v[i], 0);
      for (let i = 0; i < d; i++) v[i] -= dot * u[i];
    }
    const norm = Math.sqrt(v.reduce((s, vi) => s + vi * vi, 0));
    if (norm > 1e-6) q.push(v.map((vi) => vi / norm));
  }
  return q;
}

/** n pairs of d = rhos.length dimensions each; `mixed` applies fixed random rotations to each side. */
export function gaussianPairs(n: number, rhos: readonly number[], seed: number, mixed = false): PairedSamples {
  const d = rhos.length;
  const random = new SeededRandom(seed);
  const a = mixed ? randomRotation(random, d) : null;
  const b = mixed ? randomRotation(random, d) : null;
  const x = new Float64Array(n * d);
  const y = new Float64Array(n * d);
  const u = new Float64Array(d);
  const v = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      u[c] = random.normal();
      v[c] = rhos[c] * u[c] + Math.sqrt(1 - rhos[c] ** 2) * random.normal();
    }
    for (let r = 0; r < d; r++) {
      let sx = 0;
      let sy = 0;
      for (let c = 0; c < d; c++) {
        sx += (a ? a[r][c] : r === c ? 1 : 0) * u[c];
        sy += (b ? b[r][c] : r === c ? 1 : 0) * v[c];
      }
      x[i * d + r] = sx;
      y[i * d + r] = sy;
    }
  }
  return { n, x, dx: d, y, dy: d };
}

/** The same pairs with f applied to every x value and g to every y value. */
export function mapped(data: PairedSamples, f: (v: number) => number, g: (v: number) => number): PairedSamples {
  return { ...data, x: data.x.map(f), y: data.y.map(g) };
}

/** The exact pointwise mutual information log p(x, y)/(p(x)p(y)) of a standard bivariate normal pair with correlation ρ. */
export function gaussianPmi(x: number, y: number, rho: number): number {
  return -0.5 * Math.log(1 - rho * rho) - (rho * rho * x * x - 2 * rho * x * y + rho * rho * y * y) / (2 * (1 - rho * rho));
}

/** Image pairs (see the module notes): x has `images` stacked 3×32×32 images (the same z), y one value. */
export function imagePairs(n: number, rho: number, sigma: number, seed: number, images = 1): { data: PairedSamples; truth: number } {
  const random = new SeededRandom(seed);
  const d = 3072 * images;
  const p = new Float64Array(d);
  for (let j = 0; j < d; j++) p[j] = random.normal();
  const pp = p.reduce((s, v) => s + v * v, 0);
  const x = new Float64Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = random.normal();
    y[i] = rho * z + Math.sqrt(1 - rho * rho) * random.normal();
    for (let j = 0; j < d; j++) x[i * d + j] = p[j] * z + sigma * random.normal();
  }
  const r = rho / Math.sqrt(1 + (sigma * sigma) / pp);
  return { data: { n, x, dx: d, y, dy: 1 }, truth: -0.5 * Math.log(1 - r * r) };
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
