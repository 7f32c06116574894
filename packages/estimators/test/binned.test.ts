/**
 * The binned estimator against independent truth: the χ² law of the plug-in under independence,
 * the exact MI −½ log(1 − ρ²) of a bivariate normal and the exact MI of its quantile-binned
 * version (integrated numerically here from the normal distribution, no samples), and the
 * spread over seeds for the standard error. Monotone-map invariance is checked bit for bit.
 *
 * Tolerances: single estimates within 4 standard errors (of the delta method under dependence,
 * of the χ² law under independence): probability 6·10⁻⁵ of a false failure per check for an
 * asymptotically normal estimate. The remaining bias after Miller–Madow is small next to that
 * (measured over 200 seeds at ρ = 0.9: +0.0049 nats at n = 2000, +0.0026 at n = 10 000, about a
 * quarter of a standard error).
 */
import { InputError } from '@mmmi/cli-kit';
import { SeededRandom } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { binned, binnedMi, defaultBins, quantileBins } from '../src/binned.js';
import type { PairedSamples } from '../src/estimator.js';

function bivariateNormal(seed: number, n: number, rho: number): PairedSamples {
  const random = new SeededRandom(seed);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = random.normal();
    y[i] = rho * x[i] + Math.sqrt(1 - rho * rho) * random.normal();
  }
  return { n, x, dx: 1, y, dy: 1 };
}

/** erfc(x) for x ≥ 0: Taylor series of erf below 3 (cancellation ≤ 1e-13), Lentz's continued fraction above. */
function erfc(x: number): number {
  if (x < 3) {
    let term = x;
    let sum = x;
    for (let k = 1; k < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); k++) {
      term *= (-x * x) / k;
      sum += term / (2 * k + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    c = x + a / c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** The standard normal distribution function. */
function phi(t: number): number {
  return t >= 0 ? 1 - 0.5 * erfc(t / Math.SQRT2) : 0.5 * erfc(-t / Math.SQRT2);
}

/** Its inverse, by bisection to 1e-15. */
function phiInverse(p: number): number {
  let lo = -40;
  let hi = 40;
  while (hi - lo > 1e-15 * Math.max(1, Math.abs(lo))) {
    const mid = (lo + hi) / 2;
    if (phi(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The MI of a ρ-correlated standard bivariate normal after quantile binning into B equal-
 * probability bins a side: cell probabilities P_ij = ∫_{e_i}^{e_{i+1}} φ(x) [Φ((e_{j+1} − ρx)/s) −
 * Φ((e_j − ρx)/s)] dx (s = √(1 − ρ²)), by Simpson's rule on each x-bin (tails cut at ±9),
 * then Σ P_ij log(B² P_ij).
 */
function binnedNormalMi(rho: number, bins: number): number {
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === 0 ? -9 : i === bins ? 9 : phiInverse(i / bins)));
  const s = Math.sqrt(1 - rho * rho);
  const steps = 400;
  let mi = 0;
  for (let i = 0; i < bins; i++) {
    const [a, b] = [edges[i], edges[i + 1]];
    const h = (b - a) / steps;
    const cell = new Float64Array(bins);
    for (let m = 0; m <= steps; m++) {
      const x = a + m * h;
      const w = ((m === 0 || m === steps ? 1 : m % 2 ? 4 : 2) * h) / 3;
      const density = Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
      let previous = 0;
      for (let j = 0; j < bins; j++) {
        const upper = j === bins - 1 ? 1 : phi((edges[j + 1] - rho * x) / s);
        cell[j] += w * density * (upper - previous);
        previous = upper;
      }
    }
    for (let j = 0; j < bins; j++) if (cell[j] > 0) mi += cell[j] * Math.log(bins * bins * cell[j]);
  }
  return mi;
}

describe('binned estimator: truth', () => {
  it('the test’s own normal integrals are right (Φ, Φ⁻¹, the binned MI against SciPy’s value)', () => {
    expect(phi(0)).toBe(0.5);
    expect(phi(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(phi(-5)).toBeCloseTo(2.866515718791939e-7, 20);
    expect(phiInverse(0.975)).toBeCloseTo(1.959963984540054, 12);
    // scipy.integrate.quad over scipy.stats.norm, to 1e-12: 0.7905748611496686
    expect(binnedNormalMi(0.9, 22)).toBeCloseTo(0.7905748611496686, 7);
  });

  it('independent: Miller–Madow brings the plug-in’s χ² bias (B − 1)²/(2n) to ≈ 0', () => {
    const n = 10_000;
    const est = binnedMi(bivariateNormal(31, n, 0));
    const bins = 22;
    const df = (bins - 1) ** 2;
    // 2n Î_plug ~ χ²_df: mean df/(2n), sd √(2 df)/(2n) = 0.0015 nats here
    const sd = Math.sqrt(2 * df) / (2 * n);
    expect(est.details).toMatchObject({ bins, occupiedBinsX: bins, occupiedBinsY: bins, occupiedCells: bins * bins, millerMadow: true });
    expect(est.details!.millerMadowCorrection).toBeCloseTo(-df / (2 * n), 15);
    expect(Math.abs((est.details!.plugIn as number) - df / (2 * n))).toBeLessThan(4 * sd);
    expect(Math.abs(est.estimate)).toBeLessThan(4 * sd);
    // the delta-method error is first order, conservative here: between the χ² sd and 2× it
    expect(est.standardError!).toBeGreaterThan(sd);
    expect(est.standardError!).toBeLessThan(2 * sd);
  });

  it('ρ = 0.9: within 4 standard errors of the binned MI, so within discretisation bias + 4 SE of −½ log(1 − ρ²)', () => {
    const n = 10_000;
    const rho = 0.9;
    const est = binnedMi(bivariateNormal(32, n, rho));
    const truth = -0.5 * Math.log(1 - rho * rho);
    const binnedTruth = binnedNormalMi(rho, 22);
    const discretisation = truth - binnedTruth; // 0.040 nats: binning can only lose information
    expect(discretisation).toBeGreaterThan(0);
    expect(Math.abs(est.estimate - binnedTruth)).toBeLessThan(4 * est.standardError!);
    expect(Math.abs(est.estimate - truth)).toBeLessThan(discretisation + 4 * est.standardError!);
    expect(est.estimate).toBeLessThan(truth + 4 * est.standardError!);
  });

  it('the spread of 50 estimates (n = 2000, ρ = 0.9) matches the mean delta-method error within 30%', () => {
    // sample sd over 50 seeds: relative error 1/√98 ≈ 10%, so 30% is 3 of those
    const estimates: number[] = [];
    const errors: number[] = [];
    for (let seed = 0; seed < 50; seed++) {
      const est = binnedMi(bivariateNormal(3000 + seed, 2000, 0.9));
      estimates.push(est.estimate);
      errors.push(est.standardError!);
    }
    const mean = estimates.reduce((s, v) => s + v, 0) / 50;
    const sd = Math.sqrt(estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / 49);
    const meanError = errors.reduce((s, v) => s + v, 0) / 50;
    expect(sd / meanError).toBeGreaterThan(0.7);
    expect(sd / meanError).toBeLessThan(1.3);
    // and the mean is the binned MI at B = 13 plus the bias Miller–Madow leaves (measured over
    // 200 seeds: +0.0049 ± 0.0013 nats, a quarter of a standard error), within 3 standard errors
    // of the mean
    const residualBias = 0.0049;
    expect(Math.abs(mean - binnedNormalMi(0.9, 13) - residualBias)).toBeLessThan((3 * sd) / Math.sqrt(50));
  });
});

describe('binned estimator: ranks only', () => {
  it('is exactly invariant to strictly increasing maps of either side', () => {
    const data = bivariateNormal(33, 3000, 0.6);
    const before = binnedMi(data);
    const after = binnedMi({ ...data, x: data.x.map(Math.exp), y: data.y.map((v) => v ** 3 + v - 100) });
    expect(after.estimate).toBe(before.estimate);
    expect(after.standardError).toBe(before.standardError);
    expect(after.details).toEqual(before.details);
  });

  it('gives equal counts per bin, and one bin to tied values', () => {
    const v = Float64Array.from({ length: 12 }, (_, i) => (i * 7) % 12); // a permutation of 0…11
    expect(Array.from(quantileBins(v, 3))).toEqual(Array.from(v, (r) => Math.floor(r / 4)));
    // ties: 0 0 0 0 0 1 1 2 2 2 3 3 (sorted) over 3 bins: ranks 0, 5, 7, 10 → bins 0, 1, 1, 2
    const tied = Float64Array.of(2, 0, 3, 1, 0, 2, 0, 3, 1, 0, 2, 0);
    expect(Array.from(quantileBins(tied, 3))).toEqual([1, 0, 2, 1, 0, 1, 0, 2, 1, 0, 1, 0]);
  });

  it('counts the occupied bins where ties leave some empty', () => {
    const random = new SeededRandom(34);
    const n = 1000;
    const x = Float64Array.from({ length: n }, () => Math.floor(random.uniform() * 3)); // 3 values, 10 bins
    const y = Float64Array.from({ length: n }, () => random.normal());
    const est = binnedMi({ n, x, dx: 1, y, dy: 1 });
    expect(est.details!.bins).toBe(10);
    expect(est.details!.occupiedBinsX).toBe(3);
    expect(est.details!.occupiedBinsY).toBe(10);
  });

  it('defaults to ⌈n^(1/3)⌉ bins, computed exactly', () => {
    expect([8, 9, 27, 28, 1000, 1001, 2000, 10_000, 1_000_000, 1_000_001, 2].map(defaultBins)).toEqual([2, 3, 3, 4, 10, 11, 13, 22, 100, 101, 2]);
  });

  it('takes explicit bins, switches Miller–Madow off, and works through the MiEstimator interface', async () => {
    const data = bivariateNormal(35, 500, 0.5);
    const plug = binnedMi(data, { bins: 5, millerMadow: false });
    expect(plug.details!.bins).toBe(5);
    expect(plug.estimate).toBe(plug.details!.plugIn);
    const mm = await binned.estimate(data, { bins: 5 });
    expect(mm.estimate).toBeCloseTo(plug.estimate - ((mm.details!.occupiedCells as number) - 2 * 5 + 1) / (2 * 500), 15);
    expect(binned.name).toBe('binned');
    expect(mm.estimator).toBe('binned');
    expect(mm.samples).toBe(500);
  });
});

describe('binned estimator: refusals', () => {
  it.each([
    [{ ...bivariateNormal(36, 10, 0), dx: 2, x: new Float64Array(20) }, {}, /one-dimensional x and y, got dx = 2 and dy = 1/],
    [{ ...bivariateNormal(36, 10, 0), dy: 3, y: new Float64Array(30) }, {}, /got dx = 1 and dy = 3/],
    [bivariateNormal(36, 10, 0), { bins: 1 }, /bins = 1: must be an integer in 2 … n = 10/],
    [bivariateNormal(36, 10, 0), { bins: 11 }, /bins = 11/],
    [bivariateNormal(36, 10, 0), { bins: 2.5 }, /bins = 2.5/],
    [{ ...bivariateNormal(36, 10, 0), y: Float64Array.of(0, 1, 2, Number.NaN, 4, 5, 6, 7, 8, 9) }, {}, /y\[3\] = NaN: samples must be finite/],
    [bivariateNormal(36, 1, 0), {}, /1 paired samples: at least 2 are needed/],
  ])('refusal %#', (data, options, message) => {
    expect(() => binnedMi(data, options)).toThrow(InputError);
    expect(() => binnedMi(data, options)).toThrow(message);
  });
});
