/**
 * Feature statistics (μ, Σ) in float64, accumulated batch by batch, and the statistics
 * files pytorch-fid reads and writes (`.npz` with float64 `mu` (d) and `sigma` (d×d)).
 *
 * Σ is the unbiased sample covariance (divisor n − 1), as numpy.cov(rowvar=False) in
 * pytorch-fid and torchmetrics. Sums are taken around a shift (the first batch's mean) so
 * that features with a large common offset lose no precision to cancellation.
 */
import { readNpz, writeNpz, type NpyAnyArray } from '@mmmi/formats';

export interface GaussianStats {
  mu: Float64Array;
  /** d×d, row-major. */
  sigma: Float64Array;
  /** Number of samples behind the estimate, when known. */
  count?: number;
}

function addOuterRow(acc: Float64Array, off: number, w: number, x: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) acc[off + j] += w * x[j];
}

export class StatsAccumulator {
  private readonly shift: Float64Array;
  private readonly sum: Float64Array;
  /** Lower triangle of Σ (x − shift)(x − shift)ᵀ. */
  private readonly outer: Float64Array;
  private n = 0;
  private shiftSet = false;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`feature dimension must be a positive integer, got ${dim}`);
    this.shift = new Float64Array(dim);
    this.sum = new Float64Array(dim);
    this.outer = new Float64Array(dim * dim);
  }

  get count(): number {
    return this.n;
  }

  /** Add `rows` feature vectors stored row-major in `features`. */
  add(features: ArrayLike<number>, rows: number): void {
    const d = this.dim;
    if (features.length !== rows * d) throw new RangeError(`expected ${rows}×${d} = ${rows * d} feature values, got ${features.length}`);
    if (!this.shiftSet && rows > 0) {
      for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) this.shift[j] += features[r * d + j] / rows;
      this.shiftSet = true;
    }
    const x = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        const v = features[r * d + j];
        if (!Number.isFinite(v)) throw new RangeError(`feature row ${this.n + r} has a non-finite value at index ${j}`);
        x[j] = v - this.shift[j];
        this.sum[j] += x[j];
      }
      for (let i = 0; i < d; i++) if (x[i] !== 0) addOuterRow(this.outer, i * d, x[i], x, i + 1);
    }
    this.n += rows;
  }

  result(): GaussianStats {
    const d = this.dim;
    const n = this.n;
    if (n < 2) throw new RangeError(`statistics need at least 2 samples, have ${n}`);
    const mu = new Float64Array(d);
    const m = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      m[j] = this.sum[j] / n;
      mu[j] = this.shift[j] + m[j];
    }
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j <= i; j++) {
        const v = (this.outer[i * d + j] - n * m[i] * m[j]) / (n - 1);
        sigma[i * d + j] = v;
        sigma[j * d + i] = v;
      }
    return { mu, sigma, count: n };
  }
}

function float64Of(a: NpyAnyArray | undefined, key: string, file: string): { data: Float64Array; shape: number[] } {
  if (!a) throw new Error(`${file}: no '${key}' array (a pytorch-fid statistics file holds 'mu' and 'sigma')`);
  if (a.dtype !== '<f8' && a.dtype !== '<f4') throw new Error(`${file}: '${key}' has dtype ${a.dtype}, expected float64 or float32`);
  return { data: Float64Array.from(a.data as Float64Array | Float32Array), shape: a.shape };
}

/** Read a pytorch-fid statistics file (`mu`, `sigma`). */
export async function readStats(path: string): Promise<GaussianStats> {
  const arrays = await readNpz(path);
  const mu = float64Of(arrays.get('mu'), 'mu', path);
  const sigma = float64Of(arrays.get('sigma'), 'sigma', path);
  const d = mu.data.length;
  if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
    throw new Error(`${path}: mu has shape (${mu.shape.join(', ')}) and sigma (${sigma.shape.join(', ')}); expected (d,) and (d, d)`);
  }
  return { mu: mu.data, sigma: sigma.data };
}

/** Write statistics as pytorch-fid does (np.savez(path, mu=mu, sigma=sigma)). */
export async function writeStats(path: string, stats: GaussianStats): Promise<void> {
  const d = stats.mu.length;
  await writeNpz(path, {
    mu: { dtype: '<f8', shape: [d], data: stats.mu },
    sigma: { dtype: '<f8', shape: [d, d], data: stats.sigma },
  });
}
