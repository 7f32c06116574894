/**
 * The realism score of labelled 32×32 images, against the shipped CIFAR-10 test-set reference:
 *
 *  - class consistency: the fraction of images the classifier assigns to their intended
 *    label (overall and per label);
 *  - FD-cls: the Fréchet distance (frechet.ts) between the Gaussian statistics of the
 *    classifier's penultimate features and those of all 10 000 test images;
 *  - class-matched FD: the same against the test set reweighted to the input's label mix
 *    (each test image of label c weighs share(c)/count(c); weighted mean and np.cov(aweights)
 *    covariance);
 *  - the floor: the same numbers for n real test images with the same labels as the input
 *    (drawn per label without replacement while a label's pool lasts, seeded), averaged over
 *    a few redraws, with their spread. The FDs of a finite sample are biased upwards (about
 *    tr Σ / n and more), so a generated set's numbers are read beside the floor at the same n.
 */
import { Rng } from '@mmmi/latents';
import { frechetDistance, psdSqrt } from '../frechet.js';
import { StatsAccumulator, type GaussianStats } from '../stats.js';
import { clampUnit, type RealismClassifier } from './classifier.js';
import type { RealismReference } from './reference.js';

export const REALISM_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
export const REALISM_IMAGE_VALUES = 3 * 32 * 32;

/** Mean, sample standard deviation, min and max of the floor's redraws. */
export interface Spread {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface ClassScore {
  label: number;
  name: string;
  n: number;
  consistency: number;
  /** The floor's consistency for this label (mean over redraws). */
  floorConsistency: number;
}

export interface RealismFloor {
  draws: number;
  seed: number;
  /** Some label needed more images than the test set has: those were drawn again. */
  withReplacement: boolean;
  consistency: Spread;
  fdCls: Spread | null;
  fdClassMatched: Spread | null;
}

export interface RealismScore {
  n: number;
  /** Values outside [0, 1] that were clamped. */
  clamped: number;
  consistency: number;
  perClass: ClassScore[];
  /** null when n < 2 (no covariance). */
  fdCls: number | null;
  fdClassMatched: number | null;
  floor: RealismFloor;
}

export interface ScoreOptions {
  /** Seed of the floor's draws (default 0). */
  seed?: number;
  /** Redraws of the floor (default 5). */
  floorDraws?: number;
}

function spread(values: number[]): Spread {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Weighted Gaussian statistics: mean Σwᵢxᵢ/V₁ and covariance Σwᵢ(xᵢ−μ)(xᵢ−μ)ᵀ/(V₁ − V₂/V₁)
 * (np.cov(x, rowvar=False, aweights=w)); rows with weight 0 are skipped.
 */
export function weightedStats(features: Float32Array, dim: number, weights: Float64Array): GaussianStats {
  const n = weights.length;
  const mu = new Float64Array(dim);
  let v1 = 0;
  let v2 = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (w === 0) continue;
    v1 += w;
    v2 += w * w;
    count++;
    for (let j = 0; j < dim; j++) mu[j] += w * features[i * dim + j];
  }
  if (count < 2) throw new RangeError(`weighted statistics need at least 2 rows with weight, have ${count}`);
  for (let j = 0; j < dim; j++) mu[j] /= v1;
  const sigma = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (w === 0) continue;
    for (let j = 0; j < dim; j++) x[j] = features[i * dim + j] - mu[j];
    for (let a = 0; a < dim; a++) {
      const wa = w * x[a];
      if (wa === 0) continue;
      const row = a * dim;
      for (let b = 0; b <= a; b++) sigma[row + b] += wa * x[b];
    }
  }
  const norm = v1 - v2 / v1;
  for (let a = 0; a < dim; a++)
    for (let b = 0; b <= a; b++) {
      const v = sigma[a * dim + b] / norm;
      sigma[a * dim + b] = v;
      sigma[b * dim + a] = v;
    }
  return { mu, sigma, count };
}

function statsOfRows(features: Float32Array, dim: number, rows: ArrayLike<number> | null, n: number): GaussianStats | null {
  if (n < 2) return null;
  const acc = new StatsAccumulator(dim);
  if (rows === null) acc.add(features.subarray(0, n * dim), n);
  else {
    const buf = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) buf.set(features.subarray(rows[i] * dim, (rows[i] + 1) * dim), i * dim);
    acc.add(buf, n);
  }
  return acc.result();
}

function checkLabels(labels: Int32Array, n: number, classes: number): void {
  if (labels.length !== n) throw new RangeError(`expected ${n} labels, got ${labels.length}`);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= classes) throw new RangeError(`label ${i} is ${l}: labels must be integers 0–${classes - 1}`);
  }
}

/** Scores features against a reference: the arithmetic of the realism score, for any feature dimension. */
export class RealismReferenceScorer {
  private readonly full: GaussianStats;
  private readonly fullRoot: Float64Array;
  private readonly byClass: Int32Array[];
  readonly classes: number;

  constructor(readonly reference: RealismReference) {
    const { n, featureDim, labels } = reference;
    this.classes = REALISM_CLASSES.length;
    checkLabels(labels, n, this.classes);
    this.full = statsOfRows(reference.features, featureDim, null, n)!;
    this.fullRoot = psdSqrt(this.full.sigma, featureDim);
    const lists: number[][] = Array.from({ length: this.classes }, () => []);
    for (let i = 0; i < n; i++) lists[labels[i]].push(i);
    this.byClass = lists.map((l) => Int32Array.from(l));
  }

  /** The reference reweighted to the label mix of `labels` (null when the mix has fewer than 2 reference rows). */
  classMatchedStats(labels: Int32Array): GaussianStats | null {
    const counts = new Float64Array(this.classes);
    for (const l of labels) counts[l]++;
    const weights = new Float64Array(this.reference.n);
    let rows = 0;
    for (let c = 0; c < this.classes; c++) {
      if (counts[c] === 0) continue;
      const pool = this.byClass[c];
      if (pool.length === 0) throw new RangeError(`the reference has no image of label ${c}`);
      for (const i of pool) weights[i] = counts[c] / labels.length / pool.length;
      rows += pool.length;
    }
    return rows < 2 ? null : weightedStats(this.reference.features, this.reference.featureDim, weights);
  }

  private fds(features: Float32Array, rows: ArrayLike<number> | null, n: number, matched: GaussianStats | null): [number | null, number | null] {
    const s = statsOfRows(features, this.reference.featureDim, rows, n);
    if (!s) return [null, null];
    const fdCls = frechetDistance(this.full, s, { sqrtSigma1: this.fullRoot });
    const fdMatched = matched ? frechetDistance(matched, s) : null;
    return [fdCls, fdMatched];
  }

  /**
   * The score of n feature vectors (row-major, n × featureDim) with the classifier's
   * predictions and the intended labels.
   */
  scoreFeatures(features: Float32Array, predicted: Int32Array, labels: Int32Array, options: ScoreOptions & { clamped?: number } = {}): RealismScore {
    const n = labels.length;
    const dim = this.reference.featureDim;
    if (n < 1) throw new RangeError('no images to score');
    checkLabels(labels, n, this.classes);
    if (features.length !== n * dim) throw new RangeError(`expected ${n}×${dim} feature values, got ${features.length}`);
    if (predicted.length !== n) throw new RangeError(`expected ${n} predictions, got ${predicted.length}`);
    const seed = options.seed ?? 0;
    const draws = options.floorDraws ?? 5;
    if (!Number.isInteger(draws) || draws < 1) throw new RangeError(`floorDraws must be a positive integer, got ${draws}`);

    const hits = new Float64Array(this.classes);
    const counts = new Float64Array(this.classes);
    let ok = 0;
    for (let i = 0; i < n; i++) {
      counts[labels[i]]++;
      if (predicted[i] === labels[i]) {
        ok++;
        hits[labels[i]]++;
      }
    }
    const matched = this.classMatchedStats(labels);
    const [fdCls, fdClassMatched] = this.fds(features, null, n, matched);

    // the floor: real reference images with the same labels
    const floorConsistency: number[] = [];
    const floorFd: number[] = [];
    const floorMatched: number[] = [];
    const floorHits = Array.from({ length: this.classes }, () => 0);
    let withReplacement = false;
    const rng = new Rng(seed, 7);
    for (let d = 0; d < draws; d++) {
      const rows = new Int32Array(n);
      const taken = new Int32Array(this.classes);
      const perms: Int32Array[] = this.byClass.map((pool) => Int32Array.from(pool));
      const shuffle = (p: Int32Array) => {
        for (let i = p.length - 1; i > 0; i--) {
          const j = Math.floor(rng.uniform() * (i + 1));
          const t = p[i];
          p[i] = p[j];
          p[j] = t;
        }
      };
      perms.forEach((p, c) => counts[c] > 0 && shuffle(p));
      for (let i = 0; i < n; i++) {
        const c = labels[i];
        const p = perms[c];
        if (taken[c] > 0 && taken[c] % p.length === 0) {
          withReplacement = true;
          shuffle(p);
        }
        rows[i] = p[taken[c] % p.length];
        taken[c]++;
      }
      let good = 0;
      for (let i = 0; i < n; i++)
        if (this.reference.predicted[rows[i]] === labels[i]) {
          good++;
          floorHits[labels[i]]++;
        }
      floorConsistency.push(good / n);
      const [a, b] = this.fds(this.reference.features, rows, n, matched);
      if (a !== null) floorFd.push(a);
      if (b !== null) floorMatched.push(b);
    }
    const perClass: ClassScore[] = [];
    for (let c = 0; c < this.classes; c++) {
      if (counts[c] === 0) continue;
      perClass.push({
        label: c,
        name: REALISM_CLASSES[c],
        n: counts[c],
        consistency: hits[c] / counts[c],
        floorConsistency: floorHits[c] / (counts[c] * draws),
      });
    }
    return {
      n,
      clamped: options.clamped ?? 0,
      consistency: ok / n,
      perClass,
      fdCls,
      fdClassMatched,
      floor: {
        draws,
        seed,
        withReplacement,
        consistency: spread(floorConsistency),
        fdCls: floorFd.length ? spread(floorFd) : null,
        fdClassMatched: floorMatched.length ? spread(floorMatched) : null,
      },
    };
  }
}

/** The classifier and its reference together: images in, score out. */
export class RealismScorer {
  readonly referenceScorer: RealismReferenceScorer;
  constructor(
    readonly classifier: RealismClassifier,
    reference: RealismReference,
  ) {
    if (reference.featureDim !== classifier.featureDim) {
      throw new RangeError(`reference features have ${reference.featureDim} dimensions, the classifier ${classifier.featureDim}`);
    }
    this.referenceScorer = new RealismReferenceScorer(reference);
  }

  /** Images CHW float32 (n, 3, 32, 32), intended labels 0–9; values outside [0, 1] are clamped first. */
  score(images: Float32Array, labels: Int32Array, options: ScoreOptions = {}): RealismScore {
    const n = labels.length;
    if (images.length !== n * REALISM_IMAGE_VALUES) {
      throw new RangeError(`expected ${n} images of 3×32×32 (${n * REALISM_IMAGE_VALUES} values) for ${n} labels, got ${images.length} values`);
    }
    checkLabels(labels, n, 10);
    const { data, clamped } = clampUnit(images);
    const out = this.classifier.run(data, n);
    return this.referenceScorer.scoreFeatures(out.features, out.predicted, labels, { ...options, clamped });
  }

  dispose(): void {
    this.classifier.dispose();
  }
}
