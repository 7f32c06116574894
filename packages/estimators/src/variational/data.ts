/**
 * The samples as the critics see them: a seeded train/held-out split, standardisation with
 * statistics of the training rows only (so the held-out rows stay unseen), float32 copies,
 * and minibatches drawn epoch by epoch without replacement ('held-out' protocol) or each step
 * with replacement from all rows ('training-mean', {@link drawWithReplacement}).
 *
 * Standardisation, v ↦ (v − mean)/sd, is an invertible affine map of each feature, so it leaves
 * I(X; Y) unchanged; it only puts every input on the scale the initial weights expect. MLP
 * sides are standardised per feature; image (CNN) sides per channel (the mean and sd of all
 * 1024 pixels of a channel), the usual choice for images, which keeps their spatial
 * structure and does not blow up near-constant pixels. A constant feature keeps sd 1.
 */
import { permutation } from '@mmmi/latents';
import { mulberry32 } from '../random.js';

/** Seeded split of n rows: `train` rows first of a random permutation, the rest held out (each in permutation order). */
export function splitRows(n: number, train: number, seed: number): { train: Int32Array; test: Int32Array } {
  const p = permutation(n, mulberry32(seed ^ 0x5eed5eed));
  return { train: p.slice(0, train), test: p.slice(train) };
}

/** Per-feature affine standardisation: value j ↦ (v − mean[j]) · invScale[j]. */
export interface Standardiser {
  dim: number;
  mean: Float64Array;
  invScale: Float64Array;
}

/**
 * Statistics of `rows` of `a` (n×d row-major): per feature (`groupSize` 1) or pooled over
 * consecutive groups of `groupSize` features (1024 for a CHW image's channels).
 */
export function fitStandardiser(a: Float64Array, d: number, rows: Int32Array, groupSize = 1): Standardiser {
  const groups = Math.ceil(d / groupSize);
  const sum = new Float64Array(groups);
  for (const r of rows) for (let j = 0; j < d; j++) sum[Math.floor(j / groupSize)] += a[r * d + j];
  const count = (g: number) => rows.length * (Math.min(d, (g + 1) * groupSize) - g * groupSize);
  const groupMean = Float64Array.from(sum, (s, g) => s / count(g));
  const sq = new Float64Array(groups);
  for (const r of rows)
    for (let j = 0; j < d; j++) {
      const g = Math.floor(j / groupSize);
      const v = a[r * d + j] - groupMean[g];
      sq[g] += v * v;
    }
  const mean = new Float64Array(d);
  const invScale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const g = Math.floor(j / groupSize);
    const sd = Math.sqrt(sq[g] / count(g));
    mean[j] = groupMean[g];
    invScale[j] = sd > 0 && Number.isFinite(sd) ? 1 / sd : 1;
  }
  return { dim: d, mean, invScale };
}

/** The standardised float32 copy of `rows` of `a` (all rows when omitted), in that order. */
export function standardise(s: Standardiser, a: Float64Array, rows?: Int32Array): Float32Array {
  const d = s.dim;
  const count = rows ? rows.length : a.length / d;
  const out = new Float32Array(count * d);
  for (let i = 0; i < count; i++) {
    const r = rows ? rows[i] : i;
    for (let j = 0; j < d; j++) out[i * d + j] = (a[r * d + j] - s.mean[j]) * s.invScale[j];
  }
  return out;
}

/** Copies rows `indices` of `a` (rows of d values) into one contiguous array. */
export function gatherRows(a: Float32Array, d: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * d);
  for (let i = 0; i < indices.length; i++) out.set(a.subarray(indices[i] * d, (indices[i] + 1) * d), i * d);
  return out;
}

/** Minibatches of `size` distinct rows out of `count`: each epoch a fresh seeded permutation, cut in order (a short tail is skipped). */
export class BatchSampler {
  private order: Int32Array;
  private at = 0;
  epochs = 0;
  constructor(
    private readonly count: number,
    private readonly size: number,
    private readonly random: () => number,
  ) {
    if (size > count) throw new RangeError(`a batch of ${size} from ${count} rows`);
    this.order = permutation(count, random);
  }
  next(): Int32Array {
    if (this.at + this.size > this.count) {
      this.order = permutation(this.count, this.random);
      this.at = 0;
      this.epochs++;
    }
    const batch = this.order.subarray(this.at, this.at + this.size);
    this.at += this.size;
    return batch;
  }
}

/**
 * `size` row indices drawn independently and uniformly from `count` rows (with replacement, so a
 * batch can hold a row twice, and then the off-diagonal pairs between the two copies are that row's
 * own joint pair counted as negatives: in expectation 1/count of the size·(size − 1) negatives, about
 * 4 of 16 256 at K = 128 and n = 4000).
 */
export function drawWithReplacement(count: number, size: number, random: () => number): Int32Array {
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * count);
  return out;
}
