/**
 * The Gaussian estimator against independent truth: the closed form I = ½ log(det Σx det Σy /
 * det Σ) of the distribution the samples are drawn from, with determinants by LU elimination
 * here (not the estimator's Cholesky), NumPy's slogdet where NumPy is installed, and the
 * spread of estimates over seeds for the standard error and the bias.
 *
 * Tolerances: a single estimate must lie within 4 of its own standard errors of the truth
 * (after the exact bias, which is ≤ 0.003 nats here). The estimate is asymptotically normal,
 * so a correct estimator fails this with probability 6·10⁻⁵ per check, whatever the seed, while
 * a wrong formula (a missing ½, a log det of the wrong block) is off by many standard errors.
 * Over-seed checks state their own.
 */
import { InputError } from '@mmmi/cli-kit';
import { hasNumpy, runPython, SeededRandom, tempDir } from '@mmmi/test-utils';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PairedSamples } from '../src/estimator.js';
import { gaussian, gaussianBias, gaussianMi } from '../src/gaussian.js';

/** n samples of N(0, A Aᵀ) (A m×p row-major): each row is A z, z standard normal. */
function sampleLinear(random: SeededRandom, a: number[][], n: number): Float64Array {
  const m = a.length;
  const p = a[0].length;
  const out = new Float64Array(n * m);
  const z = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) z[j] = random.normal();
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += a[r][j] * z[j];
      out[i * m + r] = s;
    }
  }
  return out;
}

function split(joint: Float64Array, n: number, dx: number, dy: number): PairedSamples {
  const d = dx + dy;
  const x = new Float64Array(n * dx);
  const y = new Float64Array(n * dy);
  for (let i = 0; i < n; i++) {
    x.set(joint.subarray(i * d, i * d + dx), i * dx);
    y.set(joint.subarray(i * d + dx, (i + 1) * d), i * dy);
  }
  return { n, x, dx, y, dy };
}

/** log |det m| by LU elimination with partial pivoting (independent of the estimator's Cholesky). */
function logAbsDet(m: number[][]): number {
  const a = m.map((row) => row.slice());
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

/** Σ = A Aᵀ. */
function gram(a: number[][]): number[][] {
  return a.map((ri) => a.map((rj) => ri.reduce((s, v, k) => s + v * rj[k], 0)));
}

/** The closed form ½ log(det Σx det Σy / det Σ) for Σ = A Aᵀ, x the first dx coordinates. */
function exactMi(a: number[][], dx: number): number {
  const sigma = gram(a);
  const d = sigma.length;
  const block = (from: number, to: number) => sigma.slice(from, to).map((row) => row.slice(from, to));
  return 0.5 * (logAbsDet(block(0, dx)) + logAbsDet(block(dx, d)) - logAbsDet(sigma));
}

function randomMatrix(random: SeededRandom, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => random.normal()));
}

/** x = Mx u, y = My v with (u_i, v_i) standard normal pairs of correlation rho_i (independent across i): I = −½ Σ log(1 − ρ_i²). */
function canonicalModel(random: SeededRandom, rho: number[], mixing = true): { a: number[][]; truth: number } {
  const p = rho.length;
  const mx = mixing ? randomMatrix(random, p, p) : Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => (i === j ? 1 : 0)));
  const my = mixing ? randomMatrix(random, p, p) : mx.map((r) => r.slice());
  // (u, v) = B w, w standard normal of 2p: u_i = w_i, v_i = ρ_i w_i + √(1 − ρ_i²) w_{p+i}
  const a: number[][] = [];
  for (let r = 0; r < p; r++) a.push(Array.from({ length: 2 * p }, (_, j) => (j < p ? mx[r][j] : 0)));
  for (let r = 0; r < p; r++) a.push(Array.from({ length: 2 * p }, (_, j) => (j < p ? my[r][j] * rho[j] : my[r][j - p] * Math.sqrt(1 - rho[j - p] ** 2))));
  return { a, truth: -0.5 * rho.reduce((s, r) => s + Math.log(1 - r * r), 0) };
}

function meanSd(v: number[]): { mean: number; sd: number } {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1));
  return { mean, sd };
}

describe('gaussian estimator: closed-form truth', () => {
  it.each([0.5, 0.9])('1-D with ρ = %s is within 4 standard errors of −½ log(1 − ρ²)', (rho) => {
    const random = new SeededRandom(101 + Math.round(rho * 10));
    const n = 5000;
    const a = [
      [1, 0],
      [rho, Math.sqrt(1 - rho * rho)],
    ];
    const est = gaussianMi(split(sampleLinear(random, a, n), n, 1, 1));
    const truth = -0.5 * Math.log(1 - rho * rho);
    expect(exactMi(a, 1)).toBeCloseTo(truth, 12);
    expect(Math.abs(est.estimate - truth)).toBeLessThan(4 * est.standardError!);
    // the reported error is the delta method's ρ/√n at the sample correlation
    expect(est.standardError! / (rho / Math.sqrt(n))).toBeGreaterThan(0.9);
    expect(est.standardError! / (rho / Math.sqrt(n))).toBeLessThan(1.1);
    expect(est.estimator).toBe('gaussian');
    expect(est.samples).toBe(n);
    expect(est.details!.biasApprox).toBe(1 / (2 * n));
  });

  it('5-D with dense cross-correlation (Σ = A Aᵀ, A random 10×10) matches ½ log(det Σx det Σy / det Σ)', () => {
    const random = new SeededRandom(7);
    const n = 5000;
    const a = randomMatrix(random, 10, 10);
    const truth = exactMi(a, 5);
    const data = split(sampleLinear(random, a, n), n, 5, 5);
    const est = gaussianMi(data);
    const corrected = gaussianMi(data, { biasCorrected: true });
    expect(truth).toBeGreaterThan(0.5); // a real dependence, not a vacuous check
    expect(Math.abs(corrected.estimate - truth)).toBeLessThan(4 * est.standardError!);
    expect(corrected.estimate).toBeCloseTo(est.estimate - gaussianBias(n, 5, 5), 14);
    expect(corrected.details!.biasCorrected).toBe(true);
    // the log-det form and the canonical-correlation form are one number
    const rho = est.details!.canonicalCorrelations as number[];
    expect(rho).toHaveLength(5);
    expect(-0.5 * rho.reduce((s, r) => s + Math.log(1 - r * r), 0)).toBeCloseTo(est.estimate, 10);
  });

  it('5-D with sparse cross-correlation (two of five pairs dependent) matches −½ Σ log(1 − ρ²) and finds the canonical correlations', () => {
    const random = new SeededRandom(8);
    const n = 5000;
    const rho = [0.8, 0.5, 0, 0, 0];
    const { a, truth } = canonicalModel(random, rho, false);
    expect(exactMi(a, 5)).toBeCloseTo(truth, 10);
    const est = gaussianMi(split(sampleLinear(random, a, n), n, 5, 5), { biasCorrected: true });
    expect(Math.abs(est.estimate - truth)).toBeLessThan(4 * est.standardError!);
    const r = est.details!.canonicalCorrelations as number[];
    // the two real ones within 4 of their asymptotic errors (1 − ρ²)/√n; the null ones O(1/√n)
    expect(Math.abs(r[0] - 0.8)).toBeLessThan((4 * (1 - 0.64)) / Math.sqrt(n));
    expect(Math.abs(r[1] - 0.5)).toBeLessThan((4 * (1 - 0.25)) / Math.sqrt(n));
    for (const x of r.slice(2)) expect(x).toBeLessThan(5 / Math.sqrt(n));
  });

  it('is exactly invariant to invertible affine maps of each side (to 1e-10)', () => {
    const random = new SeededRandom(9);
    const n = 500;
    const { a } = canonicalModel(random, [0.9, 0.6, 0.3]);
    const data = split(sampleLinear(random, a, n), n, 3, 3);
    const mapped = (v: Float64Array, d: number, m: number[][], shift: number[]) => {
      const out = new Float64Array(v.length);
      for (let i = 0; i < n; i++)
        for (let r = 0; r < d; r++) {
          let s = shift[r];
          for (let c = 0; c < d; c++) s += m[r][c] * v[i * d + c];
          out[i * d + r] = s;
        }
      return out;
    };
    const mx = randomMatrix(random, 3, 3);
    const my = randomMatrix(random, 3, 3);
    expect(Math.abs(logAbsDet(mx))).toBeLessThan(10); // invertible and not absurdly conditioned
    const before = gaussianMi(data);
    const after = gaussianMi({ ...data, x: mapped(data.x, 3, mx, [5, -3, 1e3]), y: mapped(data.y, 3, my, [0.5, 2, -7]) });
    expect(Math.abs(after.estimate - before.estimate)).toBeLessThan(1e-10);
    expect(Math.abs(after.standardError! - before.standardError!)).toBeLessThan(1e-10);
    // and to rescaling single features by wildly different factors
    const scaled = gaussianMi({ ...data, x: data.x.map((v, i) => v * [1e-6, 1, 1e6][i % 3]) });
    expect(Math.abs(scaled.estimate - before.estimate)).toBeLessThan(1e-10);
  });

  it('is gaussian under the MiEstimator interface', async () => {
    const random = new SeededRandom(10);
    const n = 200;
    const data = split(sampleLinear(random, canonicalModel(random, [0.7]).a, n), n, 1, 1);
    const est = await gaussian.estimate(data, { biasCorrected: true });
    expect(gaussian.name).toBe('gaussian');
    expect(est.estimate).toBe(gaussianMi(data, { biasCorrected: true }).estimate);
    expect(est.seconds).toBeGreaterThanOrEqual(0);
  });
});

describe('gaussian estimator: standard error and bias over seeds', () => {
  it('the spread of 50 estimates matches the mean reported standard error within 30%', () => {
    // 5-D, canonical correlations 0.9 … 0.2 behind random mixings, n = 1000: Σρ²/n = 1.68e-3.
    // Over 50 seeds the sample sd has a relative error of 1/√98 ≈ 10%, so 30% is 3 of those.
    const rho = [0.9, 0.7, 0.5, 0.3, 0.2];
    const { a, truth } = canonicalModel(new SeededRandom(11), rho);
    const n = 1000;
    const estimates: number[] = [];
    const errors: number[] = [];
    for (let seed = 0; seed < 50; seed++) {
      const est = gaussianMi(split(sampleLinear(new SeededRandom(1000 + seed), a, n), n, 5, 5), { biasCorrected: true });
      estimates.push(est.estimate);
      errors.push(est.standardError!);
    }
    const { mean, sd } = meanSd(estimates);
    const meanError = errors.reduce((s, x) => s + x, 0) / errors.length;
    expect(sd / meanError).toBeGreaterThan(0.7);
    expect(sd / meanError).toBeLessThan(1.3);
    // the population value of the formula, √(Σρ²/n)
    expect(meanError / Math.sqrt(rho.reduce((s, r) => s + r * r, 0) / n)).toBeGreaterThan(0.95);
    expect(meanError / Math.sqrt(rho.reduce((s, r) => s + r * r, 0) / n)).toBeLessThan(1.05);
    // bias-corrected estimates are unbiased: their mean within 3 standard errors of the mean (sd/√50)
    expect(Math.abs(mean - truth)).toBeLessThan((3 * sd) / Math.sqrt(50));
  });

  it('under independence the mean estimate is the exact Wishart bias, not just dx·dy/(2n)', () => {
    // dx = dy = 10, n = 100: exact bias 0.566 nats, dx·dy/(2n) = 0.5. 200 seeds; the spread is
    // about √(dx·dy/2)/n = 0.07, so the mean is known to ±0.005: the two differ by 13 of those.
    const n = 100;
    const values: number[] = [];
    for (let seed = 0; seed < 200; seed++) {
      const random = new SeededRandom(5000 + seed);
      const x = Float64Array.from({ length: n * 10 }, () => random.normal());
      const y = Float64Array.from({ length: n * 10 }, () => random.normal());
      values.push(gaussianMi({ n, x, dx: 10, y, dy: 10 }).estimate);
    }
    const { mean, sd } = meanSd(values);
    const bias = gaussianBias(n, 10, 10);
    expect(bias).toBeCloseTo(0.56615, 4);
    expect(Math.abs(mean - bias)).toBeLessThan((3 * sd) / Math.sqrt(values.length));
    expect(Math.abs(mean - 0.5)).toBeGreaterThan((6 * sd) / Math.sqrt(values.length));
    // the spread itself: √(dx·dy/2)/n within 20%
    expect(sd / (Math.sqrt(50) / n)).toBeGreaterThan(0.8);
    expect(sd / (Math.sqrt(50) / n)).toBeLessThan(1.2);
  });
});

describe('gaussian estimator: what it is not', () => {
  it('is not a lower bound on I for non-Gaussian marginals: S = ±1 plus small noise gives far more than log 2', () => {
    // X = S + εU, Y = S + εV: I(X; Y) ≤ H(S) = log 2, yet ρ = 1/(1 + ε²) and I_G = −½ log(1 − ρ²) ≈ 1.96 at ε = 0.1
    const random = new SeededRandom(12);
    const n = 2000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = random.uniform() < 0.5 ? -1 : 1;
      x[i] = s + 0.1 * random.normal();
      y[i] = s + 0.1 * random.normal();
    }
    const est = gaussianMi({ n, x, dx: 1, y, dy: 1 });
    expect(est.estimate - 4 * est.standardError!).toBeGreaterThan(Math.log(2));
  });
});

describe.skipIf(!hasNumpy())('gaussian estimator: NumPy', () => {
  it('equals ½ (slogdet Σx + slogdet Σy − slogdet Σ) of np.cov to 1e-10', () => {
    const random = new SeededRandom(13);
    const n = 300;
    const [dx, dy] = [4, 6];
    const a = randomMatrix(random, dx + dy, dx + dy);
    const joint = sampleLinear(random, a, n).map((v, i) => v + (i % (dx + dy)) * 100); // offsets: centring matters
    const dir = tempDir('mmmi-gaussian-');
    const file = join(dir, 'joint.f64');
    writeFileSync(file, new Uint8Array(joint.buffer));
    const script = `
import sys, numpy as np
z = np.fromfile(sys.argv[1], dtype='<f8').reshape(${n}, ${dx + dy})
s = np.cov(z, rowvar=False)
ld = lambda m: np.linalg.slogdet(m)[1]
print('%.17g' % (0.5 * (ld(s[:${dx}, :${dx}]) + ld(s[${dx}:, ${dx}:]) - ld(s))))
`;
    const reference = Number(runPython(script, [file]).trim());
    const est = gaussianMi(split(joint, n, dx, dy));
    expect(Math.abs(est.estimate - reference)).toBeLessThan(1e-10);
  });
});

describe('gaussian estimator: refusals', () => {
  const pairs = (n: number, dx: number, dy: number, seed = 14): PairedSamples => {
    const random = new SeededRandom(seed);
    return { n, dx, dy, x: Float64Array.from({ length: n * dx }, () => random.normal()), y: Float64Array.from({ length: n * dy }, () => random.normal()) };
  };
  const refuses = (data: PairedSamples, message: RegExp) => {
    expect(() => gaussianMi(data)).toThrow(InputError);
    expect(() => gaussianMi(data)).toThrow(message);
  };

  it('refuses n ≤ dx + dy, suggesting PCA', () => {
    refuses(pairs(5, 2, 3), /5 samples of 2 \+ 3 dimensions: the joint sample covariance is singular unless n > dx \+ dy \(n ≥ 6\).*PCA/);
    expect(() => gaussianMi(pairs(6, 2, 3))).not.toThrow();
  });

  it('refuses a constant feature, naming its side', () => {
    const data = pairs(50, 3, 2);
    for (let i = 0; i < 50; i++) data.x[i * 3 + 1] = 0.1;
    refuses(data, /x feature 1 is constant: the x covariance is singular.*PCA/);
    const data2 = pairs(50, 3, 2);
    for (let i = 0; i < 50; i++) data2.y[i * 2] = 7;
    refuses(data2, /y feature 0 is constant/);
  });

  it('refuses a rank-deficient side, naming it and suggesting PCA', () => {
    const data = pairs(50, 2, 3);
    for (let i = 0; i < 50; i++) data.y[i * 3 + 2] = 2 * data.y[i * 3] - 0.5 * data.y[i * 3 + 1] + 3;
    refuses(data, /y feature 2 is, to within 1e-10 of its variance, a linear combination of y features 0…1 .*the y covariance is singular.*PCA/);
  });

  it('refuses y a linear function of x (infinite Gaussian MI)', () => {
    const data = pairs(50, 2, 1);
    for (let i = 0; i < 50; i++) data.y[i] = data.x[i * 2] - 3 * data.x[i * 2 + 1];
    refuses(data, /y feature 0 .* linear function of x.*linearly dependent.*infinite/);
  });

  it('refuses malformed samples through the shared check', () => {
    const data = pairs(20, 1, 1);
    data.x[3] = Number.NaN;
    refuses(data, /x\[3\] = NaN: samples must be finite/);
    refuses({ ...pairs(20, 1, 1), y: new Float64Array(19) }, /y holds 19 values/);
  });
});
