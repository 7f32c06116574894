/**
 * The realism score's arithmetic on small synthetic references (no classifier, no data):
 * consistency, FD-cls and class-matched FD against independent brute-force formulas, FD of a
 * set to itself, the floor's draws, clamping, and refusals.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@mmmi/test-utils';
import { clampUnit } from '../../src/realism/classifier.js';
import type { RealismReference } from '../../src/realism/reference.js';
import { RealismReferenceScorer, weightedStats } from '../../src/realism/score.js';

/** A reference of `perClass` rows per label with d-dimensional features (class-dependent means). */
function syntheticReference(perClass: number, d: number, seed: number): RealismReference {
  const rnd = mulberry32(seed);
  const n = perClass * 10;
  const features = new Float32Array(n * d);
  const labels = new Int32Array(n);
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = c;
    predicted[i] = rnd() < 0.8 ? c : (c + 1) % 10;
    for (let j = 0; j < d; j++) features[i * d + j] = (rnd() - 0.5) * (1 + j) + (j === c % d ? c : 0) + 0.3 * (j === 0 ? rnd() : 0);
  }
  return { n, featureDim: d, features, labels, predicted, metadata: {} };
}

/** Brute force, float64: mean and np.cov (n − 1) of the given rows. */
function bruteStats(f: Float32Array, d: number, rows: number[]) {
  const n = rows.length;
  const mu = new Array<number>(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j] += f[r * d + j] / n;
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const r of rows) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a][b] += ((f[r * d + a] - mu[a]) * (f[r * d + b] - mu[b])) / (n - 1);
  return { mu, cov };
}

/**
 * The 2-d Fréchet distance in closed form: for 2×2 PSD M with eigenvalues λ₁, λ₂,
 * tr √M = √(tr M + 2√det M); tr √(Σ₁Σ₂) has the same eigenvalues as Σ₁^{1/2}Σ₂Σ₁^{1/2}.
 */
function fd2(a: { mu: number[]; cov: number[][] }, b: { mu: number[]; cov: number[][] }): number {
  const [p, q] = [a.cov, b.cov];
  const m = [
    [p[0][0] * q[0][0] + p[0][1] * q[1][0], p[0][0] * q[0][1] + p[0][1] * q[1][1]],
    [p[1][0] * q[0][0] + p[1][1] * q[1][0], p[1][0] * q[0][1] + p[1][1] * q[1][1]],
  ];
  const tr = m[0][0] + m[1][1];
  const det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  const trSqrt = Math.sqrt(tr + 2 * Math.sqrt(Math.max(det, 0)));
  const diff = (a.mu[0] - b.mu[0]) ** 2 + (a.mu[1] - b.mu[1]) ** 2;
  return diff + p[0][0] + p[1][1] + q[0][0] + q[1][1] - 2 * trSqrt;
}

const ref = syntheticReference(30, 2, 1);
const scorer = new RealismReferenceScorer(ref);
const rowsOf = (pred: (i: number) => boolean) => Array.from({ length: ref.n }, (_x, i) => i).filter(pred);

describe('realism score arithmetic (synthetic 2-d reference)', () => {
  // a small "generated" set: 7 images, labels 0, 0, 3, 3, 3, 5, 9
  const labels = Int32Array.from([0, 0, 3, 3, 3, 5, 9]);
  const predicted = Int32Array.from([0, 1, 3, 3, 2, 5, 0]);
  const rnd = mulberry32(5);
  const feats = Float32Array.from({ length: 14 }, () => 3 * rnd() - 1);

  it('class consistency overall and per label', () => {
    const s = scorer.scoreFeatures(feats, predicted, labels);
    expect(s.n).toBe(7);
    expect(s.consistency).toBeCloseTo(4 / 7, 12);
    expect(s.perClass.map((c) => [c.label, c.n, c.consistency])).toEqual([
      [0, 2, 0.5],
      [3, 3, 2 / 3],
      [5, 1, 1],
      [9, 1, 0],
    ]);
    expect(s.perClass[0].name).toBe('airplane');
  });

  it('FD-cls equals the closed-form 2-d Fréchet distance to the whole reference', () => {
    const s = scorer.scoreFeatures(feats, predicted, labels);
    const want = fd2(
      bruteStats(
        ref.features,
        2,
        rowsOf(() => true),
      ),
      bruteStats(feats, 2, [0, 1, 2, 3, 4, 5, 6]),
    );
    expect(s.fdCls).toBeCloseTo(want, 9);
  });

  it('class-matched FD for one label is the FD to that label’s reference rows', () => {
    const one = Int32Array.from([3, 3, 3, 3]);
    const s = scorer.scoreFeatures(feats.subarray(0, 8), Int32Array.from([3, 3, 3, 3]), one);
    const want = fd2(
      bruteStats(
        ref.features,
        2,
        rowsOf((i) => ref.labels[i] === 3),
      ),
      bruteStats(feats, 2, [0, 1, 2, 3]),
    );
    expect(s.fdClassMatched).toBeCloseTo(want, 9);
    expect(s.consistency).toBe(1);
  });

  it('class-matched statistics reweight the reference to the label mix (brute-force mixture)', () => {
    // mix 2:3:1:1 of labels 0, 3, 5, 9 — each reference row of label c weighs share(c)/30
    const st = scorer.classMatchedStats(labels)!;
    const share = new Map([
      [0, 2 / 7],
      [3, 3 / 7],
      [5, 1 / 7],
      [9, 1 / 7],
    ]);
    const w = Array.from(ref.labels, (l) => (share.get(l) ?? 0) / 30);
    const v1 = w.reduce((a, b) => a + b, 0);
    const v2 = w.reduce((a, b) => a + b * b, 0);
    const mu = [0, 1].map((j) => w.reduce((a, wi, i) => a + wi * ref.features[i * 2 + j], 0) / v1);
    const cov = [0, 1].map((a) =>
      [0, 1].map((b) => w.reduce((acc, wi, i) => acc + wi * (ref.features[i * 2 + a] - mu[a]) * (ref.features[i * 2 + b] - mu[b]), 0) / (v1 - v2 / v1)),
    );
    expect(v1).toBeCloseTo(1, 12);
    for (let j = 0; j < 2; j++) expect(st.mu[j]).toBeCloseTo(mu[j], 10);
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) expect(st.sigma[a * 2 + b]).toBeCloseTo(cov[a][b], 10);
  });

  it('weightedStats with equal weights is np.mean / np.cov', () => {
    const st = weightedStats(ref.features, 2, new Float64Array(ref.n).fill(3));
    const b = bruteStats(
      ref.features,
      2,
      rowsOf(() => true),
    );
    expect(st.mu[1]).toBeCloseTo(b.mu[1], 10);
    expect(st.sigma[1]).toBeCloseTo(b.cov[0][1], 10);
    expect(st.sigma[3]).toBeCloseTo(b.cov[1][1], 10);
  });

  it('the reference scored against itself has FD ≈ 0 and its own consistency', () => {
    const s = scorer.scoreFeatures(ref.features, ref.predicted, ref.labels, { floorDraws: 2 });
    expect(Math.abs(s.fdCls!)).toBeLessThan(1e-9);
    expect(Math.abs(s.fdClassMatched!)).toBeLessThan(1e-9);
    const own = ref.predicted.filter((p, i) => p === ref.labels[i]).length / ref.n;
    expect(s.consistency).toBeCloseTo(own, 12);
    // the floor draws every reference image once (all 30 per label, without replacement): the same set
    expect(s.floor.withReplacement).toBe(false);
    expect(s.floor.consistency.mean).toBeCloseTo(own, 12);
    expect(s.floor.consistency.std).toBe(0);
    expect(Math.abs(s.floor.fdCls!.max)).toBeLessThan(1e-9);
  });

  it('the floor is reproducible for a seed and changes with it', () => {
    const a = scorer.scoreFeatures(feats, predicted, labels, { seed: 4, floorDraws: 3 });
    const b = scorer.scoreFeatures(feats, predicted, labels, { seed: 4, floorDraws: 3 });
    const c = scorer.scoreFeatures(feats, predicted, labels, { seed: 5, floorDraws: 3 });
    expect(b.floor).toEqual(a.floor);
    expect(c.floor.fdCls).not.toEqual(a.floor.fdCls);
    expect(a.floor.draws).toBe(3);
    expect(a.floor.fdCls!.min).toBeLessThanOrEqual(a.floor.fdCls!.mean);
    expect(a.floor.fdCls!.max).toBeGreaterThanOrEqual(a.floor.fdCls!.mean);
  });

  it('draws again only when a label needs more images than the reference has', () => {
    const many = new Int32Array(31).fill(2);
    const s = scorer.scoreFeatures(new Float32Array(62), new Int32Array(31), many, { floorDraws: 1 });
    expect(s.floor.withReplacement).toBe(true);
    expect(scorer.scoreFeatures(new Float32Array(60), new Int32Array(30), new Int32Array(30).fill(2), { floorDraws: 1 }).floor.withReplacement).toBe(false);
  });

  it('one image: consistency but no FD', () => {
    const s = scorer.scoreFeatures(Float32Array.from([0, 1]), Int32Array.from([4]), Int32Array.from([4]));
    expect(s.consistency).toBe(1);
    expect(s.fdCls).toBeNull();
    expect(s.floor.fdCls).toBeNull();
  });

  it('refuses labels outside 0–9, mismatched lengths and no images', () => {
    expect(() => scorer.scoreFeatures(feats, predicted, Int32Array.from([0, 0, 3, 3, 3, 5, 10]))).toThrow(/label 6 is 10/);
    expect(() => scorer.scoreFeatures(feats, predicted, Int32Array.from([0, 0, 3, 3, 3, 5, -1]))).toThrow(/labels must be integers 0–9/);
    expect(() => scorer.scoreFeatures(feats.subarray(2), predicted, labels)).toThrow(/feature values/);
    expect(() => scorer.scoreFeatures(new Float32Array(0), new Int32Array(0), new Int32Array(0))).toThrow(/no images/);
    expect(() => scorer.scoreFeatures(feats, predicted, labels, { floorDraws: 0 })).toThrow(/floorDraws/);
  });
});

describe('clampUnit', () => {
  it('clamps values outside [0, 1] into a copy and counts them', () => {
    const x = Float32Array.from([-0.01, 0, 0.5, 1, 1.0000001, 2, -3]);
    const { data, clamped } = clampUnit(x);
    expect(Array.from(data)).toEqual([0, 0, 0.5, 1, 1, 1, 0]);
    expect(clamped).toBe(4);
    expect(x[0]).toBeCloseTo(-0.01, 6);
  });
  it('refuses NaN', () => {
    expect(() => clampUnit(Float32Array.from([0, Number.NaN]))).toThrow(/value 1 is NaN/);
  });
});
