/**
 * chi2.ts against 30-digit mpmath values (test/golden/chi2_quantiles.json, made by
 * scripts/make_chi2_golden.py) and against closed forms.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chi2Cdf, chi2Quantile, gammaP, gammaQ, log1pmx, logGamma } from '../src/chi2.js';

interface Golden {
  log_gamma: { x: number; value: string }[];
  gamma_inc: { a: number; x: number; P: string; Q: string }[];
  chi2_quantiles: { df: number; p: number; x: string }[];
}

const golden = JSON.parse(readFileSync(new URL('./golden/chi2_quantiles.json', import.meta.url), 'utf8')) as Golden;

const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

describe('logGamma', () => {
  it('matches mpmath: ~1e-16 relative for x ≥ 10, ~1e-15 absolute below', () => {
    for (const { x, value } of golden.log_gamma) {
      const want = Number(value);
      if (x >= 10) expect(rel(logGamma(x), want), `x=${x}`).toBeLessThan(1e-15);
      else expect(Math.abs(logGamma(x) - want), `x=${x}`).toBeLessThan(4e-15);
    }
  });

  it('hits the simple values', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(4e-15);
    expect(Math.abs(logGamma(2))).toBeLessThan(4e-15);
    expect(Math.abs(logGamma(0.5) - 0.5 * Math.log(Math.PI))).toBeLessThan(4e-15);
    expect(rel(logGamma(21), Math.log(2432902008176640000))).toBeLessThan(1e-15);
  });

  it('rejects x ≤ 0 and NaN', () => {
    for (const x of [0, -1, Number.NaN]) expect(() => logGamma(x)).toThrow(RangeError);
    expect(() => logGamma(0)).toThrow(/\bx\b/);
  });
});

describe('log1pmx', () => {
  it('keeps relative accuracy where ln(1+u) and u cancel', () => {
    for (const u of [1e-12, -1e-9, 1e-5, 0.3, -0.45]) {
      // ln(1+u) − u = −u²/2 + u³/3 − u⁴/4 + …
      let want = 0;
      for (let k = 60; k >= 2; k--) want += ((k % 2 === 0 ? -1 : 1) * u ** k) / k;
      expect(rel(log1pmx(u), want), `u=${u}`).toBeLessThan(4e-16);
    }
    expect(log1pmx(-1)).toBe(-Infinity);
    expect(rel(log1pmx(3), Math.log(4) - 3)).toBeLessThan(1e-15);
  });
});

describe('gammaP / gammaQ', () => {
  it('match mpmath for a from 0.5 to 1e7, smaller tail to 2e-13 relative', () => {
    for (const { a, x, P, Q } of golden.gamma_inc) {
      const [p, q] = [gammaP(a, x), gammaQ(a, x)];
      const [wantP, wantQ] = [Number(P), Number(Q)];
      const label = `a=${a} x=${x}`;
      if (wantP < wantQ) {
        expect(rel(p, wantP), label).toBeLessThan(2e-13);
        expect(Math.abs(q - wantQ), label).toBeLessThan(1e-13);
      } else {
        expect(rel(q, wantQ), label).toBeLessThan(2e-13);
        expect(Math.abs(p - wantP), label).toBeLessThan(1e-13);
      }
    }
  });

  it('match the closed forms Q(1,x) = e^{−x}, Q(2,x) = (1+x)e^{−x}', () => {
    // Tails come from exp(ln …), so the relative error grows like ε·|ln Q|.
    for (const x of [1e-8, 0.1, 1, 10, 100, 700]) {
      const tol = 1e-14 * Math.max(1, x / 50);
      expect(rel(gammaQ(1, x), Math.exp(-x)), `x=${x}`).toBeLessThan(tol);
      expect(rel(gammaQ(2, x), (1 + x) * Math.exp(-x)), `x=${x}`).toBeLessThan(tol);
    }
    expect(rel(gammaP(1, 1e-8), -Math.expm1(-1e-8))).toBeLessThan(1e-14);
  });

  it('handle the ends of the range', () => {
    expect(gammaP(3, 0)).toBe(0);
    expect(gammaQ(3, 0)).toBe(1);
    expect(gammaP(3, Infinity)).toBe(1);
    expect(gammaQ(3, Infinity)).toBe(0);
  });

  it('reject bad arguments, naming them', () => {
    expect(() => gammaP(0, 1)).toThrow(/\ba\b/);
    expect(() => gammaQ(-2, 1)).toThrow(RangeError);
    expect(() => gammaP(Infinity, 1)).toThrow(/\ba\b/);
    expect(() => gammaP(2, -1)).toThrow(/\bx\b/);
    expect(() => gammaQ(2, Number.NaN)).toThrow(RangeError);
  });
});

describe('chi2Quantile', () => {
  it('matches 50-digit mpmath quantiles to 5e-14 relative (df 1 … 3072000, p 1e-10 … 1−1e-10)', () => {
    expect(golden.chi2_quantiles.length).toBe(90);
    let worst = 0;
    for (const { df, p, x } of golden.chi2_quantiles) {
      const e = rel(chi2Quantile(p, df), Number(x));
      expect(e, `df=${df} p=${p}`).toBeLessThan(5e-14);
      worst = Math.max(worst, e);
    }
    expect(worst).toBeLessThan(1e-10); // the requirement; the bound above is what is achieved
  });

  it('inverts chi2Cdf', () => {
    for (const df of [1, 7, 6144, 30720]) {
      for (const p of [1e-6, 0.2, 0.5, 0.9]) expect(rel(chi2Cdf(chi2Quantile(p, df), df), p), `df=${df} p=${p}`).toBeLessThan(1e-13);
    }
  });

  it('equals −2 ln(1 − p) for df = 2', () => {
    for (const p of [1e-12, 0.01, 0.5, 0.999]) expect(rel(chi2Quantile(p, 2), -2 * Math.log1p(-p)), `p=${p}`).toBeLessThan(1e-14);
  });

  it('accepts non-integer df', () => {
    // χ²_{0.5}: P(0.25, x/2) = p
    const x = chi2Quantile(0.3, 0.5);
    expect(rel(gammaP(0.25, x / 2), 0.3)).toBeLessThan(1e-14);
  });

  it('throws RangeError naming p for p outside (0, 1)', () => {
    for (const p of [0, 1, -0.1, 1.5, Number.NaN, Infinity]) {
      expect(() => chi2Quantile(p, 10), `p=${p}`).toThrow(RangeError);
      expect(() => chi2Quantile(p, 10), `p=${p}`).toThrow(/\bp\b/);
    }
  });

  it('throws RangeError naming df for df ≤ 0 or not finite', () => {
    for (const df of [0, -3, Number.NaN, Infinity]) {
      expect(() => chi2Quantile(0.5, df), `df=${df}`).toThrow(RangeError);
      expect(() => chi2Quantile(0.5, df), `df=${df}`).toThrow(/\bdf\b/);
    }
  });
});

describe('chi2Cdf', () => {
  it('is 0 at and below 0, 1 at +∞, and rejects bad input', () => {
    expect(chi2Cdf(0, 3)).toBe(0);
    expect(chi2Cdf(-1, 3)).toBe(0);
    expect(chi2Cdf(Infinity, 3)).toBe(1);
    expect(() => chi2Cdf(1, 0)).toThrow(/\bdf\b/);
    expect(() => chi2Cdf(Number.NaN, 2)).toThrow(/\bx\b/);
  });

  it('equals 1 − e^{−x/2} for df = 2', () => {
    for (const x of [1e-9, 0.5, 3, 40]) expect(rel(chi2Cdf(x, 2), -Math.expm1(-x / 2)), `x=${x}`).toBeLessThan(1e-14);
  });
});
