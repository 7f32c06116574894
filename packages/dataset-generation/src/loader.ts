/**
 * Streaming reader of dataset shards: batches of images, θ and labels read straight from
 * the file's ranges, so a shard of any size is read in constant memory.
 *
 *   const shard = await ShardReader.open('out/simple_fig1_DAG_0.npz');
 *   for await (const b of shard.batches(64)) train(b.x, b.theta, b.labels);
 */
import { NpzFile, isUnicodeArray } from '@mmmi/formats';
import type { MiTable } from '@mmmi/latents';

export interface ShardBatch {
  /** Index of the first draw in the batch. */
  start: number;
  count: number;
  /** count × N_mod × d images (each channel-first), float32 as stored. */
  x: Float32Array;
  /** count values of θ. */
  theta: Float32Array;
  /** count × N_mod class labels. */
  labels: Int32Array;
}

export class ShardReader {
  private constructor(
    private readonly file: NpzFile,
    readonly path: string,
    /** Draws in the shard. */
    readonly count: number,
    readonly nMod: number,
    /** Values per image. */
    readonly modDim: number,
    /** The stored image array's shape, e.g. [n, N, 3, 32, 32]. */
    readonly shape: number[],
  ) {}

  static async open(path: string): Promise<ShardReader> {
    const file = await NpzFile.open(path);
    try {
      const need = { X: '<f4', Y: '<f4', labels: '<i4' } as const;
      for (const [key, dtype] of Object.entries(need)) {
        const info = file.arrays.get(key);
        if (!info) throw new Error(`${path}: no '${key}' array — not an mmmi dataset shard`);
        if (info.dtype !== dtype) throw new Error(`${path}: '${key}' has dtype ${info.dtype}, expected ${dtype}`);
      }
      const shape = file.arrays.get('X')!.shape;
      const [n, nMod] = shape;
      const modDim = shape.slice(2).reduce((a, b) => a * b, 1);
      if (file.arrays.get('Y')!.shape[0] !== n || file.arrays.get('labels')!.shape.join(',') !== `${n},${nMod}`) {
        throw new Error(`${path}: X, Y and labels disagree on the number of draws or modalities`);
      }
      return new ShardReader(file, path, n, nMod, modDim, shape);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** The MI table stored with the shard (null when it was generated without --calculate_MI). */
  async miTable(): Promise<MiTable | null> {
    if (!this.file.arrays.has('MI_results') || !this.file.arrays.has('MI_labels')) return null;
    const values = await this.file.read('MI_results');
    const labels = await this.file.read('MI_labels');
    if (!isUnicodeArray(labels) || values.dtype !== '<f8' || labels.data.length === 0) return null;
    return { labels: labels.data, values: Array.from(values.data as Float64Array) };
  }

  /** Consecutive batches of up to `size` draws, from draw `from`. */
  async *batches(size: number, from = 0): AsyncGenerator<ShardBatch> {
    if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`batch size must be a positive integer, got ${size}`);
    const perDraw = this.nMod * this.modDim;
    for (let start = from; start < this.count; start += size) {
      const count = Math.min(size, this.count - start);
      yield {
        start,
        count,
        x: (await this.file.readElements('X', start * perDraw, count * perDraw)) as Float32Array,
        theta: (await this.file.readElements('Y', start, count)) as Float32Array,
        labels: (await this.file.readElements('labels', start * this.nMod, count * this.nMod)) as Int32Array,
      };
    }
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
