import { describe, expect, it } from 'vitest';
import { mulberry32, SeededRandom } from '../src/index.js';

const N = 200_000;

/** Sample mean and variance, by Welford's update. */
function moments(values: ArrayLike<number>): [number, number] {
  let mean = 0;
  let m2 = 0;
  for (let k = 0; k < values.length; k++) {
    const d = values[k] - mean;
    mean += d / (k + 1);
    m2 += d * (values[k] - mean);
  }
  return [mean, m2 / (values.length - 1)];
}

describe('SeededRandom', () => {
  it('uniform() is the mulberry32 stream of its seed', () => {
    const r = new SeededRandom(5);
    const m = mulberry32(5);
    for (let i = 0; i < 100; i++) expect(r.uniform()).toBe(m());
  });

  it('normal() is Box–Muller on pairs of that stream: cosine, then the same pair’s sine', () => {
    const r = new SeededRandom(11);
    const m = mulberry32(11);
    for (let k = 0; k < 50; k++) {
      const radius = Math.sqrt(-2 * Math.log(1 - m()));
      const angle = 2 * Math.PI * m();
      expect(r.normal()).toBe(radius * Math.cos(angle));
      expect(r.normal()).toBe(radius * Math.sin(angle));
    }
  });

  it('normal() has mean 0, variance 1 and N(0, 1)’s mass within ±1 and ±2 (five standard errors)', () => {
    const z = new SeededRandom(1).normals(N);
    const [mean, variance] = moments(z);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    for (const [k, p] of [
      [1, 0.6826894921370859],
      [2, 0.9544997361036416],
    ]) {
      const inside = z.filter((v) => Math.abs(v) < k).length / N;
      expect(Math.abs(inside - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    }
  });

  it('normals(n, scale) and uniforms(n, bound) fill float32 arrays', () => {
    const a = new SeededRandom(3);
    const b = new SeededRandom(3);
    const z = a.normals(7, 0.5);
    expect(z).toBeInstanceOf(Float32Array);
    expect(Array.from(z)).toEqual(Array.from({ length: 7 }, () => Math.fround(0.5 * b.normal())));
    const u = new SeededRandom(4).uniforms(N, 3);
    expect(u).toBeInstanceOf(Float32Array);
    expect(Math.min(...u.subarray(0, 50_000))).toBeGreaterThan(-3);
    expect(Math.max(...u.subarray(0, 50_000))).toBeLessThan(3);
    const [mean, variance] = moments(u);
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(3 / N));
    expect(Math.abs(variance - 3)).toBeLessThan(5 * Math.sqrt(7.2 / N)); // Var(U²) = E U⁴ − 3² = 3⁴/5 − 9 for U on (−3, 3)
  });

  it('int(lo, hi) covers both ends evenly; bytes(n) covers 0…255', () => {
    const r = new SeededRandom(8);
    const counts = new Map<number, number>();
    for (let i = 0; i < 60_000; i++) {
      const v = r.int(-2, 3);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2, 3]);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(5 * Math.sqrt(60_000 * (1 / 6) * (5 / 6)));
    const bytes = new SeededRandom(9).bytes(100_000);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(new Set(bytes).size).toBe(256);
  });

  it('is reproducible from its seed, and other seeds give other streams', () => {
    expect(new SeededRandom(21).normals(10)).toEqual(new SeededRandom(21).normals(10));
    expect(new SeededRandom(21).normals(10)).not.toEqual(new SeededRandom(22).normals(10));
  });
});
