import { SeededRandom } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { skewedTimesteps, uniformTimesteps, type RandomSource } from '../src/timesteps.js';

/** U[0, 1) and N(0, 1) draws of a seeded test source; `shift` moves every normal draw. */
function seededSource(seed: number, shift = 0): RandomSource {
  const rng = new SeededRandom(seed);
  return { uniform: () => rng.uniform(), normal: () => rng.normal() + shift };
}

/** Upper tail P(Z > z) of N(0, 1) (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const k = 1 / (1 + 0.3275911 * x);
  const erfc = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

function meanAndVariance(values: ArrayLike<number>): [number, number] {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i];
  mean /= values.length;
  let variance = 0;
  for (let i = 0; i < values.length; i++) variance += (values[i] - mean) ** 2;
  return [mean, variance / (values.length - 1)];
}

const DRAWS = 200_000;
const MIN_T = Math.fround(1e-4);

describe('skewedTimesteps', () => {
  it('ln((1 − t)/t) = ln σ has mean −1.2 and variance 1.44 (clipping is an 8.7σ event)', () => {
    const t = skewedTimesteps(DRAWS, seededSource(1));
    expect(t).toBeInstanceOf(Float32Array);
    expect(t).toHaveLength(DRAWS);
    const logSigma = Array.from(t, (v) => Math.log((1 - v) / v));
    const [mean, variance] = meanAndVariance(logSigma);
    // Five standard errors: 1.2/√n for the mean, 1.44·√(2/n) for the variance.
    expect(Math.abs(mean + 1.2)).toBeLessThan((5 * 1.2) / Math.sqrt(DRAWS));
    expect(Math.abs(variance - 1.44)).toBeLessThan(5 * 1.44 * Math.sqrt(2 / DRAWS));
    // Median t = 1/(1 + e^{−1.2}).
    const above = t.filter((v) => v > 1 / (1 + Math.exp(-1.2))).length / DRAWS;
    expect(Math.abs(above - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / DRAWS));
    expect(t.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(MIN_T);
    expect(t.reduce((a, b) => Math.max(a, b))).toBeLessThanOrEqual(1);
  });

  it('clips to 1e-4 exactly as often as the normal tail says (source shifted to make it common)', () => {
    // With z ~ N(7, 1): ln σ = 1.2z − 1.2 exceeds ln(1/1e-4 − 1) when z − 7 > (ln 9999 − 7.2)/1.2.
    const t = skewedTimesteps(DRAWS, seededSource(2, 7));
    const clipped = t.filter((v) => v === MIN_T).length / DRAWS;
    const p = normalTail((Math.log(9999) - 7.2) / 1.2);
    expect(p).toBeGreaterThan(0.04);
    expect(Math.abs(clipped - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / DRAWS));
    expect(t.reduce((a, b) => Math.min(a, b))).toBe(MIN_T);
  });

  it('maps extreme normal draws to the ends of [1e-4, 1]', () => {
    const fixed = (z: number): RandomSource => ({ uniform: () => 0.5, normal: () => z });
    expect(skewedTimesteps(2, fixed(10))).toEqual(new Float32Array([MIN_T, MIN_T]));
    expect(skewedTimesteps(1, fixed(-40))[0]).toBe(1);
    expect(skewedTimesteps(1, fixed(1))[0]).toBe(Math.fround(1 / (1 + Math.exp(0))));
  });
});

describe('uniformTimesteps', () => {
  it('is U[0, 1): mean 1/2, variance 1/12, never 1 even when the source is just below 1', () => {
    const t = uniformTimesteps(DRAWS, seededSource(3));
    expect(t).toBeInstanceOf(Float32Array);
    const [mean, variance] = meanAndVariance(t);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / DRAWS));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / DRAWS));
    const nearlyOne: RandomSource = { uniform: () => 1 - 1e-12, normal: () => 0 };
    expect(uniformTimesteps(1, nearlyOne)[0]).toBe(1 - 2 ** -24);
  });
});

describe('argument checks', () => {
  it('rejects a count that is not a non-negative integer, and allows 0', () => {
    const rng = seededSource(4);
    for (const n of [-1, 1.5, NaN]) {
      expect(() => skewedTimesteps(n, rng)).toThrow(/non-negative integer/);
      expect(() => uniformTimesteps(n, rng)).toThrow(/non-negative integer/);
    }
    expect(skewedTimesteps(0, rng)).toHaveLength(0);
  });
});
