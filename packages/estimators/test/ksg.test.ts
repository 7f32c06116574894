/**
 * The KSG estimators against independent truth: the fast neighbour search against brute force
 * (exact equality), a small case worked by hand, Gaussians against the closed form
 * I = ½ log(det Σx det Σy / det Σ), invariances, independence, refusals; digamma against
 * closed forms.
 *
 * Where the tolerances come from: a sweep over 20 seeds per case (not these tests' seeds) at
 * the n used here gave, in nats (mean error; standard deviation of the estimate over seeds;
 * mean reported standard error):
 *
 *   1-D ρ = 0.5, n = 5000      ksg1 +0.002, 0.010, 0.011    ksg2 +0.003, 0.011, 0.012
 *   1-D ρ = 0.9, n = 5000      ksg1 +0.001, 0.014, 0.015    ksg2 +0.001, 0.016, 0.016
 *   5-D dense,   n = 5000      ksg1 −0.100, 0.017, 0.012    ksg2 −0.088, 0.016, 0.013
 *   5-D sparse,  n = 5000      ksg1 −0.141, 0.016, 0.011    ksg2 −0.129, 0.018, 0.012
 *   independent 1-D, 5-D       |mean| ≤ 0.001, 0.008–0.010, 0.009–0.010
 *
 * So in 1-D (2-D joint space) KSG's bias is negligible and the reported standard error matches
 * the real spread; in 5 + 5 dimensions KSG underestimates by 0.09–0.14 nats (its known bias
 * with dimension: the paper's figs. 4–9; the sparse case, with 8 of 10 coordinates pure noise,
 * is worse) and the reported standard error, which ignores the dependence between the per-point
 * terms, is ~70% of the real spread. Each check allows the bias plus 3–4 standard errors.
 */
import { InputError } from '@mmmi/cli-kit';
import { SeededRandom } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import type { PairedSamples } from '../src/estimator.js';
import { ksg, ksg1, ksg2 } from '../src/ksg.js';
import { bruteForceNeighbours, ksgNeighbours, type KsgVariant } from '../src/neighbours.js';
import { digamma, EULER_GAMMA } from '../src/special.js';

type Matrix = number[][];

const matmul = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: Matrix): Matrix => a[0].map((_, j) => a.map((row) => row[j]));
const identity = (d: number): Matrix => Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));

/** Lower-triangular L with L Lᵀ = a. */
function cholesky(a: Matrix): Matrix {
  const n = a.length;
  const l = a.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j && !(s > 0)) throw new Error('not positive definite');
      l[i][j] = i === j ? Math.sqrt(s) : s / l[j][j];
    }
  }
  return l;
}

const logDet = (a: Matrix): number => 2 * cholesky(a).reduce((s, row, i) => s + Math.log(row[i]), 0);

interface Gaussian {
  sigma: Matrix;
  dx: number;
  dy: number;
  /** The exact I(X; Y) = ½ (log det Σx + log det Σy − log det Σ), nats. */
  mi: number;
}

/**
 * The joint Gaussian of X ~ N(0, Σx) and Y = B X + σ E, E standard normal: Σy = B Σx Bᵀ + σ² I
 * and Cov(X, Y) = Σx Bᵀ, positive definite by construction. The MI comes from the blocks of Σ.
 */
function gaussian(sx: Matrix, b: Matrix, noiseVariance: number): Gaussian {
  const dx = sx.length;
  const dy = b.length;
  const sy = matmul(matmul(b, sx), transpose(b)).map((row, i) => row.map((v, j) => v + (i === j ? noiseVariance : 0)));
  const c = matmul(sx, transpose(b));
  const ct = transpose(c);
  const sigma = [...sx.map((row, i) => [...row, ...c[i]]), ...sy.map((row, i) => [...ct[i], ...row])];
  return { sigma, dx, dy, mi: 0.5 * (logDet(sx) + logDet(sy) - logDet(sigma)) };
}

/** n draws of N(0, Σ) as L w, split into the x and y sides, each side optionally mapped elementwise. */
function sample(g: Gaussian, n: number, seed: number, fx?: (v: number) => number, fy?: (v: number) => number): PairedSamples {
  const { dx, dy } = g;
  const l = cholesky(g.sigma);
  const rng = new SeededRandom(seed);
  const x = new Float64Array(n * dx);
  const y = new Float64Array(n * dy);
  const w = new Float64Array(dx + dy);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < dx + dy; c++) w[c] = rng.normal();
    for (let r = 0; r < dx + dy; r++) {
      let s = 0;
      for (let c = 0; c <= r; c++) s += l[r][c] * w[c];
      if (r < dx) x[i * dx + r] = fx ? fx(s) : s;
      else y[i * dy + r - dx] = fy ? fy(s) : s;
    }
  }
  return { n, x, dx, y, dy };
}

/** 1-D pair with correlation ρ: I = −½ log(1 − ρ²). */
const correlated1d = (rho: number): Gaussian => gaussian([[1]], [[rho]], 1 - rho * rho);
/** 5 + 5 dimensions, every cross-covariance nonzero; X equicorrelated (0.3). I ≈ 0.814. */
const dense5 = gaussian(
  identity(5).map((row, i) => row.map((_, j) => (i === j ? 1 : 0.3))),
  identity(5).map((row, i) => row.map((_, j) => 0.25 + 0.15 * Math.cos(1 + i + 2 * j))),
  1,
);
/** 5 + 5 dimensions, two coupled pairs (x₀ → y₀, x₂ → y₃), the rest independent noise. I ≈ 0.693. */
const sparse5 = gaussian(
  identity(5),
  identity(5).map((row, i) => row.map((_, j) => (i === 0 && j === 0 ? 1.2 : i === 3 && j === 2 ? 0.8 : 0))),
  1,
);

function randomSamples(rng: SeededRandom, n: number, dx: number, dy: number, draw: () => number): PairedSamples {
  return { n, dx, dy, x: Float64Array.from({ length: n * dx }, draw), y: Float64Array.from({ length: n * dy }, draw) };
}

function expectSameNeighbours(data: PairedSamples, k: number, variant: KsgVariant): void {
  const fast = ksgNeighbours(data, k, variant);
  const slow = bruteForceNeighbours(data, k, variant);
  for (const key of ['epsilon', 'epsilonX', 'epsilonY', 'nx', 'ny'] as const) {
    const a = fast[key];
    const b = slow[key];
    let first = -1;
    for (let i = 0; i < data.n && first < 0; i++) if (a[i] !== b[i]) first = i;
    expect(first, `${key} differs at ${first} (n ${data.n}, dims ${data.dx}+${data.dy}, k ${k}, variant ${variant}): ${a[first]} vs ${b[first]}`).toBe(-1);
  }
}

describe('digamma', () => {
  it('matches closed forms to 1e-13', () => {
    expect(Math.abs(digamma(1) + EULER_GAMMA)).toBeLessThan(1e-13);
    expect(Math.abs(digamma(0.5) - (-EULER_GAMMA - 2 * Math.LN2))).toBeLessThan(1e-13);
    expect(Math.abs(digamma(0.25) - (-EULER_GAMMA - Math.PI / 2 - 3 * Math.LN2))).toBeLessThan(1e-13);
    // ψ(n) = H_{n−1} − γ, both sides of the switch to the asymptotic series at 6
    let harmonic = 0;
    for (let n = 1; n <= 200; n++) {
      expect(Math.abs(digamma(n) - (harmonic - EULER_GAMMA)), `ψ(${n})`).toBeLessThan(1e-13);
      harmonic += 1 / n;
    }
  });

  it('satisfies ψ(x + 1) = ψ(x) + 1/x off the integers', () => {
    for (const x of [1e-3, 0.1, 0.7, 1.5, 4.99, 5.5, 6.01, 12.3, 100.25, 1e4 + 0.5, 1e8]) {
      expect(Math.abs(digamma(x + 1) - digamma(x) - 1 / x), `x = ${x}`).toBeLessThan(1e-13 * Math.max(1, 1 / x));
    }
  });

  it('is NaN off its domain and ∞ at ∞', () => {
    expect(digamma(0)).toBeNaN();
    expect(digamma(-1.5)).toBeNaN();
    expect(digamma(Number.NaN)).toBeNaN();
    expect(digamma(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('neighbours', () => {
  it('worked by hand: 4 points, k = 1, a tie broken by index', () => {
    // points (0,0), (1,2), (3,3), (7,10); joint distances 01: 2, 02: 3, 03: 10, 12: 2, 13: 8, 23: 7.
    // Point 1 is at 2 from both 0 and 2: the lower index, 0, is its neighbour.
    const data: PairedSamples = { n: 4, dx: 1, dy: 1, x: Float64Array.of(0, 1, 3, 7), y: Float64Array.of(0, 2, 3, 10) };
    for (const count of [ksgNeighbours, bruteForceNeighbours]) {
      const v1 = count(data, 1, 1);
      expect([...v1.epsilon]).toEqual([2, 2, 2, 7]);
      expect([...v1.nx]).toEqual([1, 1, 0, 2]);
      expect([...v1.ny]).toEqual([0, 1, 1, 0]);
      const v2 = count(data, 1, 2);
      expect([...v2.epsilonX]).toEqual([1, 1, 2, 4]);
      expect([...v2.epsilonY]).toEqual([2, 2, 1, 7]);
      expect([...v2.nx]).toEqual([1, 1, 1, 1]);
      expect([...v2.ny]).toEqual([1, 2, 1, 1]);
    }
    // ψ(1) = −γ, ψ(2) = 1 − γ, ψ(3) = 3/2 − γ, ψ(4) = 11/6 − γ: the γ cancel.
    // ksg1 terms 11/6 − (1, 2, 1, 3/2) = (5/6, −1/6, 5/6, 1/3): mean 11/24, sd² = 0.6875/3
    // on the raw coordinates (the default scales each column to unit variance first)
    const e1 = ksg1.estimate(data, { k: 1, standardize: false });
    expect(e1.estimate).toBeCloseTo(11 / 24, 14);
    expect(e1.standardError).toBeCloseTo(Math.sqrt(0.6875 / 12), 14);
    // ksg2: ψ(1) − 1 + ψ(4) − ⟨ψ(nx) + ψ(ny)⟩ = 11/6 − 1 − 1/4
    expect(ksg2.estimate(data, { k: 1, standardize: false }).estimate).toBeCloseTo(7 / 12, 14);
  });

  it('the fast search equals brute force exactly: n 6–300, dims 1–5 per side, k 1–5, both variants', () => {
    const rng = new SeededRandom(7);
    for (const n of [6, 40, 300]) {
      for (let dx = 1; dx <= 5; dx++) {
        for (let dy = 1; dy <= 5; dy++) {
          const data = randomSamples(rng, n, dx, dy, () => rng.normal());
          for (let k = 1; k <= 5; k++) for (const variant of [1, 2] as const) expectSameNeighbours(data, k, variant);
        }
      }
    }
  });

  it('equals brute force on larger n and on heavy-tailed, correlated data', () => {
    const rng = new SeededRandom(8);
    for (const [dx, dy] of [
      [1, 1],
      [2, 3],
      [5, 5],
    ]) {
      const data = randomSamples(rng, 2000, dx, dy, () => rng.normal() ** 3);
      for (const k of [1, 4]) for (const variant of [1, 2] as const) expectSameNeighbours(data, k, variant);
    }
    const g = sample(correlated1d(0.99), 1500, 9);
    for (const variant of [1, 2] as const) expectSameNeighbours(g, 3, variant);
  });

  it('equals brute force where ties and duplicates abound (values on a grid of 5)', () => {
    // many equal distances: the (distance, index) order must decide them the same way in both
    const rng = new SeededRandom(10);
    for (const [n, dx, dy] of [
      [60, 1, 1],
      [200, 1, 2],
      [300, 2, 2],
      [400, 3, 1],
    ]) {
      const data = randomSamples(rng, n, dx, dy, () => rng.int(0, 4));
      for (let k = 1; k <= 5; k++) for (const variant of [1, 2] as const) expectSameNeighbours(data, k, variant);
    }
  });
});

describe('KSG on correlated Gaussians', () => {
  // in a 2-D joint space: bias ≤ 0.003 over 20 seeds, reported SE ≈ real spread → allow 0.01 + 3 SE
  for (const [rho, seed] of [
    [0.5, 21],
    [0.9, 22],
  ]) {
    it(`1-D, ρ = ${rho}, n = 5000: within 0.01 + 3 SE of −½ log(1 − ρ²)`, () => {
      const g = correlated1d(rho);
      expect(g.mi).toBeCloseTo(-0.5 * Math.log(1 - rho * rho), 12);
      const data = sample(g, 5000, seed);
      for (const estimator of [ksg1, ksg2]) {
        const e = estimator.estimate(data);
        const se = e.standardError ?? Number.NaN;
        expect(se).toBeGreaterThan(0.005);
        expect(se).toBeLessThan(0.03);
        expect(Math.abs(e.estimate - g.mi), `${estimator.name}: ${e.estimate} vs ${g.mi} ± ${se}`).toBeLessThan(0.01 + 3 * se);
      }
    });
  }

  // 5 + 5 dimensions: KSG underestimates by 0.09–0.14 (measured above); allow that bias plus
  // 4 reported SEs (~3 real ones) below the truth, and no bias above it
  for (const [name, g, bias, seed] of [
    ['dense', dense5, 0.12, 23],
    ['sparse', sparse5, 0.16, 24],
  ] as const) {
    it(`5-D ${name} cross-covariance, n = 5000: between I − ${bias} − 4 SE and I + 4 SE`, () => {
      const data = sample(g, 5000, seed);
      for (const estimator of [ksg1, ksg2]) {
        const e = estimator.estimate(data);
        const se = e.standardError ?? Number.NaN;
        const why = `${estimator.name}: ${e.estimate} vs ${g.mi} ± ${se}`;
        expect(e.estimate, why).toBeGreaterThan(g.mi - bias - 4 * se);
        expect(e.estimate, why).toBeLessThan(g.mi + 4 * se);
      }
    });
  }

  it('the closed forms of the 5-D cases', () => {
    // sparse: two independent pairs with Var(y) = b² + 1, so I = ½ log(1 + 1.2²) + ½ log(1 + 0.8²)
    expect(sparse5.mi).toBeCloseTo(0.5 * Math.log(1 + 1.44) + 0.5 * Math.log(1 + 0.64), 12);
    expect(dense5.mi).toBeGreaterThan(0.5);
    expect(dense5.mi).toBeLessThan(1.2);
  });
});

describe('KSG invariances and independence', () => {
  it('an invertible elementwise map of each side (x → x³ + x, y → eʸ) moves the estimate by < 0.06', () => {
    // KSG is invariant to such maps only in the limit: at finite n its bias depends on the
    // marginal densities. Over 20 seeds at n = 5000 in 1-D the change was ≤ 0.037 nats (mean
    // −0.02 for ksg1, −0.003 for ksg2). (In 5 + 5 dimensions the same maps move it by ~−0.3:
    // eʸ's long tail dominates the max norm; standardizing does not undo a nonlinear map.)
    for (const [rho, seed] of [
      [0.5, 31],
      [0.9, 32],
    ]) {
      const g = correlated1d(rho);
      const plain = sample(g, 5000, seed);
      const mapped = sample(g, 5000, seed, (v) => v ** 3 + v, Math.exp);
      for (const estimator of [ksg1, ksg2]) {
        const a = estimator.estimate(plain).estimate;
        const b = estimator.estimate(mapped).estimate;
        expect(Math.abs(b - a), `${estimator.name}, ρ = ${rho}: ${a} → ${b}`).toBeLessThan(0.06);
      }
    }
  });

  it('is invariant to swapping X and Y, and exactly to permuting and negating coordinates within a side', () => {
    const data = sample(dense5, 1500, 33);
    const { n, x, y } = data;
    const permutation = [3, 0, 4, 1, 2];
    const x2 = new Float64Array(n * 5);
    for (let i = 0; i < n; i++) for (let c = 0; c < 5; c++) x2[i * 5 + c] = (c % 2 ? -1 : 1) * x[i * 5 + permutation[c]];
    for (const variant of [1, 2] as const) {
      const base = ksg(data, variant).estimate;
      // swapping the sides swaps the two ψ terms of each sum: equal up to rounding
      expect(Math.abs(ksg({ n, dx: 5, dy: 5, x: y, y: x }, variant).estimate - base)).toBeLessThan(1e-14);
      expect(ksg({ n, dx: 5, dy: 5, x: x2, y }, variant).estimate).toBe(base);
    }
  });

  it('independent samples give ≈ 0: within 0.005 + 3 SE (1-D and 5-D, n = 5000)', () => {
    // KSG is built to be nearly unbiased at independence (the paper, sec. IV); over 20 seeds |mean| ≤ 0.001
    const rng = new SeededRandom(34);
    for (const [dx, dy] of [
      [1, 1],
      [5, 5],
    ]) {
      const data = randomSamples(rng, 5000, dx, dy, () => rng.normal());
      for (const estimator of [ksg1, ksg2]) {
        const e = estimator.estimate(data);
        const se = e.standardError ?? Number.NaN;
        expect(Math.abs(e.estimate), `${estimator.name}, ${dx}+${dy}: ${e.estimate} ± ${se}`).toBeLessThan(0.005 + 3 * se);
      }
    }
  });
});

describe('KSG interface and refusals', () => {
  const good = sample(correlated1d(0.5), 50, 40);

  it('reports through the MiEstimator interface', () => {
    expect(ksg1.name).toBe('ksg1');
    expect(ksg2.name).toBe('ksg2');
    const e = ksg2.estimate(good, { k: 5 });
    expect(e.estimator).toBe('ksg2');
    expect(e.samples).toBe(50);
    expect(e.seconds).toBeGreaterThanOrEqual(0);
    expect(e.details).toEqual({ k: 5, variant: 2, standardized: true });
    expect(ksg1.estimate(good).details).toEqual({ k: 3, variant: 1, standardized: true });
  });

  it('refuses n ≤ k, bad k, mismatched lengths, non-finite values, a bad jitter, naming the cause', () => {
    const refuse = (data: PairedSamples, options: object, message: RegExp) => {
      expect(() => ksg1.estimate(data, options)).toThrow(InputError);
      expect(() => ksg1.estimate(data, options)).toThrow(message);
    };
    refuse({ ...good, n: 3, x: good.x.subarray(0, 3), y: good.y.subarray(0, 3) }, {}, /3 paired samples with k = 3.*n > k/);
    refuse(good, { k: 50 }, /50 paired samples with k = 50/);
    refuse(good, { k: 0 }, /k = 0: .*positive integer/);
    refuse(good, { k: 2.5 }, /k = 2.5: .*positive integer/);
    refuse({ ...good, x: good.x.subarray(0, 49) }, {}, /x holds 49 values/);
    refuse({ ...good, y: new Float64Array(100), dy: 1 }, {}, /y holds 100 values/);
    const nan = Float64Array.from(good.y);
    nan[7] = Number.NaN;
    refuse({ ...good, y: nan }, {}, /y\[7\] = NaN: samples must be finite/);
    const inf = Float64Array.from(good.x);
    inf[3] = Number.POSITIVE_INFINITY;
    refuse({ ...good, x: inf }, {}, /x\[3\] = Infinity/);
    refuse(good, { jitter: -1 }, /jitter = -1/);
  });

  it('refuses duplicates that make ε = 0, naming the sample; the jitter option breaks the ties', () => {
    // sample 10 repeated k = 3 times more: its 3rd neighbour is at distance 0
    const n = 53;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    x.set(good.x);
    y.set(good.y);
    for (let i = 50; i < n; i++) {
      x[i] = good.x[10];
      y[i] = good.y[10];
    }
    const dup: PairedSamples = { n, dx: 1, dy: 1, x, y };
    for (const estimator of [ksg1, ksg2]) {
      expect(() => estimator.estimate(dup)).toThrow(InputError);
      expect(() => estimator.estimate(dup)).toThrow(/sample 10 has 3 or more exact duplicates.*jitter/);
    }
    // k = 4 needs a fourth duplicate: three are accepted as they are
    expect(Number.isFinite(ksg1.estimate(dup, { k: 4 }).estimate)).toBe(true);
    const jittered = ksg1.estimate(dup, { jitter: 1e-10 });
    expect(Number.isFinite(jittered.estimate)).toBe(true);
    expect(jittered.details).toEqual({ k: 3, variant: 1, standardized: true, jitter: 1e-10 });
    // deterministic, and a negligible move on data without ties
    expect(ksg1.estimate(dup, { jitter: 1e-10 }).estimate).toBe(jittered.estimate);
    expect(ksg1.estimate(good, { jitter: 1e-10 }).estimate).toBe(ksg1.estimate(good).estimate);
  });
});

describe('KSG column scaling', () => {
  it("scales each column to unit variance by default, so one side's scale cannot swamp the other", () => {
    // ρ = 0.9, x multiplied by 1000: the MI is unchanged (0.830 nats); on the raw max norm ε is set
    // by x alone and variant 1 loses nearly everything, on standardised columns it does not.
    const rng = new SeededRandom(11);
    const n = 2000;
    const rho = 0.9;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = rng.normal();
      x[i] = 1000 * a;
      y[i] = rho * a + Math.sqrt(1 - rho * rho) * rng.normal();
    }
    const data: PairedSamples = { n, dx: 1, dy: 1, x, y };
    const truth = -0.5 * Math.log(1 - rho * rho);
    const scaled = ksg1.estimate(data);
    const raw = ksg1.estimate(data, { standardize: false });
    expect(Math.abs(scaled.estimate - truth)).toBeLessThan(0.08);
    expect(raw.estimate).toBeLessThan(truth / 2);
    // the same as scaling x back by hand
    const unit: PairedSamples = { ...data, x: x.map((v) => v / 1000) };
    expect(scaled.estimate).toBeCloseTo(ksg1.estimate(unit).estimate, 10);
  });
});
