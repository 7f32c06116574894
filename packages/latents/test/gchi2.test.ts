/**
 * gchi2.ts against values computed independently in mpmath (test/golden/chi2_quantiles.json,
 * made by scripts/make_chi2_golden.py): the convolution of two gamma laws at 50 digits, and
 * Imhof's integral at 40 digits; plus the reduction to χ² when all weights are equal.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chi2Cdf, chi2Quantile } from '../src/chi2.js';
import { type GeneralizedChi2Term, generalizedChi2Cdf, generalizedChi2Quantile } from '../src/gchi2.js';

interface Case {
  name?: string;
  terms: GeneralizedChi2Term[];
  cdf: { x: number; cdf: string; sf?: string }[];
  quantiles: { p: number; x: string }[];
}

interface Golden {
  gchi2_conv: Case[];
  gchi2_imhof: Case[];
}

const golden = JSON.parse(readFileSync(new URL('./golden/chi2_quantiles.json', import.meta.url), 'utf8')) as Golden;

const PS = [1e-10, 0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999, 1 - 1e-10];
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
/** Error of a CDF value relative to the smaller tail, min(F, 1 − F). */
const tailRel = (got: number, want: number) => Math.abs(got - want) / Math.min(want, 1 - want);

describe('generalizedChi2Quantile with equal weights is λ·chi2Quantile(p, Σn)', () => {
  const cases: [number, number][] = [
    [1, 1],
    [3, 1],
    [0.5, 2],
    [1, 3],
    [2.5, 10],
    [2.5, 3072],
    [1, 6144],
    [0.7, 30720],
    [0.01, 3072000],
  ];
  for (const [weight, dof] of cases) {
    it(`λ = ${weight}, n = ${dof}`, () => {
      for (const p of PS) {
        const want = weight * chi2Quantile(p, dof);
        expect(rel(generalizedChi2Quantile(p, [{ weight, dof }]), want), `p=${p}`).toBeLessThan(1e-12);
      }
    });
  }

  it('also when the weight is split over several terms, with zero-weight terms mixed in', () => {
    const terms = [
      { weight: 2, dof: 1000 },
      { weight: 0, dof: 5 },
      { weight: 2, dof: 2072 },
    ];
    for (const p of PS) expect(rel(generalizedChi2Quantile(p, terms), 2 * chi2Quantile(p, 3072)), `p=${p}`).toBeLessThan(1e-12);
  });

  it('and its CDF matches chi2Cdf, relative to the smaller tail', () => {
    // weights are powers of two so that x/λ is exact
    for (const [weight, dof] of [
      [0.5, 1],
      [1, 2],
      [4, 50],
      [2, 6144],
      [1, 30720],
      [0.25, 3072000],
    ]) {
      for (const p of PS) {
        const x = weight * chi2Quantile(p, dof);
        const want = chi2Cdf(x / weight, dof);
        expect(tailRel(generalizedChi2Cdf(x, [{ weight, dof }]), want), `λ=${weight} n=${dof} p=${p}`).toBeLessThan(1e-12);
      }
    }
  });
});

describe('two weights, against the mpmath convolution of two gamma laws (50 digits)', () => {
  it('has its three cases in the golden file', () => expect(golden.gchi2_conv.length).toBe(3));
  for (const c of golden.gchi2_conv) {
    const label = c.terms.map((t) => `${t.weight}·χ²_${t.dof}`).join(' + ');
    it(`${label}: CDF to 1e-14 absolute and 1e-12 of the smaller tail`, () => {
      for (const { x, cdf } of c.cdf) {
        const want = Number(cdf);
        const got = generalizedChi2Cdf(x, c.terms);
        expect(Math.abs(got - want), `x=${x}`).toBeLessThan(1e-14);
        expect(tailRel(got, want), `x=${x}`).toBeLessThan(1e-12);
      }
    });
    it(`${label}: quantiles to 1e-12 relative, p from 1e-10 to 1 − 1e-10`, () => {
      expect(c.quantiles.length).toBe(PS.length);
      for (const { p, x } of c.quantiles) expect(rel(generalizedChi2Quantile(p, c.terms), Number(x)), `p=${p}`).toBeLessThan(1e-12);
    });
  }
});

describe("against mpmath's Imhof integral at 40 digits", () => {
  const byName = new Map(golden.gchi2_imhof.map((c) => [c.name, c]));

  it('the toolkit case {1.0 × 30000, 2.5 × 700, 40 × 20} is in the golden file', () => {
    const c = byName.get('c_30720');
    expect(c?.terms).toEqual([
      { weight: 1, dof: 30000 },
      { weight: 2.5, dof: 700 },
      { weight: 40, dof: 20 },
    ]);
    expect(c?.quantiles.map((q) => q.p)).toEqual([1e-10, 0.01, 0.05, 0.5, 0.95, 0.999, 1 - 1e-10]);
  });

  for (const c of golden.gchi2_imhof) {
    it(`${c.name}: quantiles to 1e-12 relative`, () => {
      for (const { p, x } of c.quantiles) expect(rel(generalizedChi2Quantile(p, c.terms), Number(x)), `p=${p}`).toBeLessThan(1e-12);
    });
    it(`${c.name}: CDF to 1e-13 absolute`, () => {
      for (const { x, cdf } of c.cdf) expect(Math.abs(generalizedChi2Cdf(x, c.terms) - Number(cdf)), `x=${x}`).toBeLessThan(1e-13);
    });
  }
});

describe('generalizedChi2Cdf', () => {
  const terms = [
    { weight: 0.35, dof: 4000 },
    { weight: 0.05, dof: 15 },
    { weight: 50, dof: 4 },
  ];

  it('is increasing and inverts the quantile', () => {
    let prev = 0;
    for (let x = 1000; x <= 4000; x += 25) {
      const F = generalizedChi2Cdf(x, terms);
      expect(F, `x=${x}`).toBeGreaterThanOrEqual(prev);
      prev = F;
    }
    for (const p of [1e-6, 0.3, 0.5, 0.7, 0.9999]) {
      expect(tailRel(generalizedChi2Cdf(generalizedChi2Quantile(p, terms), terms), p), `p=${p}`).toBeLessThan(1e-12);
    }
  });

  it('follows x^{N/2} / (Γ(N/2+1) Π (2λ)^{n/2}) far below the weights, continuously', () => {
    const two = [
      { weight: 1, dof: 1 },
      { weight: 2, dof: 1 },
    ];
    for (const x of [1e-300, 1e-30, 1e-21, 1e-19, 1e-15]) {
      expect(rel(generalizedChi2Cdf(x, two), x / Math.sqrt(8)), `x=${x}`).toBeLessThan(1e-13);
    }
  });

  it('is 0 for x ≤ 0 and 1 at +∞', () => {
    expect(generalizedChi2Cdf(0, terms)).toBe(0);
    expect(generalizedChi2Cdf(-5, terms)).toBe(0);
    expect(generalizedChi2Cdf(Infinity, terms)).toBe(1);
  });

  it('ignores zero weights; with no positive weight Q ≡ 0', () => {
    const x = 1600;
    expect(generalizedChi2Cdf(x, [...terms, { weight: 0, dof: 9 }])).toBe(generalizedChi2Cdf(x, terms));
    expect(generalizedChi2Cdf(0, [{ weight: 0, dof: 3 }])).toBe(1);
    expect(generalizedChi2Cdf(-1, [])).toBe(0);
    expect(generalizedChi2Quantile(0.5, [{ weight: 0, dof: 3 }])).toBe(0);
  });

  it('is unchanged by scaling weights and x together', () => {
    const scaled = terms.map((t) => ({ weight: t.weight * 1e-150, dof: t.dof }));
    for (const x of [1400, 1600, 2300]) {
      expect(Math.abs(generalizedChi2Cdf(x * 1e-150, scaled) - generalizedChi2Cdf(x, terms)), `x=${x}`).toBeLessThan(1e-14);
    }
  });
});

describe('bad input throws RangeError naming the argument', () => {
  const good = [{ weight: 1, dof: 3 }];

  it('negative or non-finite weight', () => {
    for (const weight of [-1, -1e-300, Number.NaN, Infinity]) {
      const terms = [...good, { weight, dof: 2 }];
      expect(() => generalizedChi2Quantile(0.5, terms), `weight=${weight}`).toThrow(RangeError);
      expect(() => generalizedChi2Cdf(1, terms), `weight=${weight}`).toThrow(/terms\[1\]\.weight/);
    }
  });

  it('non-integer or non-positive dof, also on zero-weight terms', () => {
    for (const dof of [0, -2, 1.5, Number.NaN, Infinity]) {
      for (const weight of [1, 0]) {
        const terms = [{ weight, dof }, ...good];
        expect(() => generalizedChi2Quantile(0.5, terms), `dof=${dof}`).toThrow(RangeError);
        expect(() => generalizedChi2Cdf(1, terms), `dof=${dof}`).toThrow(/terms\[0\]\.dof/);
      }
    }
  });

  it('p outside (0, 1)', () => {
    for (const p of [0, 1, -0.5, 2, Number.NaN]) {
      expect(() => generalizedChi2Quantile(p, good), `p=${p}`).toThrow(RangeError);
      expect(() => generalizedChi2Quantile(p, good), `p=${p}`).toThrow(/\bp\b/);
    }
  });

  it('NaN x, and terms that are not an array', () => {
    expect(() => generalizedChi2Cdf(Number.NaN, good)).toThrow(/\bx\b/);
    expect(() => generalizedChi2Cdf(1, null as unknown as GeneralizedChi2Term[])).toThrow(/\bterms\b/);
  });
});
