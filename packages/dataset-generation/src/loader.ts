/**
 * Streaming reader of dataset shards: batches of images, θ and labels read straight from
 * the file's ranges, so a shard of any size is read in constant memory.
 *
 *   const shard = await ShardReader.open('out/simple_fig1_DAG_0.npz');
 *   for await (const b of shard.batches(64)) train(b.x, b.theta, b.labels);
 *
 * Checked reads (`check`):
 *  - 'stream' (default): a pass from draw 0 checks the CRC-32 of the X, Y and labels
 *    entries as it reads them; the batch that completes a corrupt entry is not yielded,
 *    a FormatError naming the file and entry is thrown instead. Earlier batches of that
 *    pass have been yielded by then; a pass that starts later or stops early checks nothing.
 *  - 'full': before the first batch, the file's sha256 against the manifest beside it
 *    (`<name>.manifest.json`) when there is one, else one CRC-32 pass over the three entries.
 *  - 'none'.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { EntryCrcCheck, FormatError, NpzFile, isUnicodeArray, sha256File } from '@mmmi/formats';
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
  /** count × N_mod × d exact latents (the `Noise` array), when asked for with `{ noise: true }`. */
  noise?: Float32Array;
}

export type ShardCheck = 'stream' | 'full' | 'none';

type EntryChecks = Record<'X' | 'Y' | 'labels', EntryCrcCheck> & { Noise?: EntryCrcCheck };

/** Draws read per range when the 'full' check streams through the entries. */
const CHECK_CHUNK = 256;

export class ShardReader {
  private constructor(
    private readonly file: NpzFile,
    readonly check: ShardCheck,
    readonly path: string,
    /** Draws in the shard. */
    readonly count: number,
    readonly nMod: number,
    /** Values per image. */
    readonly modDim: number,
    /** The stored image array's shape, e.g. [n, N, 3, 32, 32]. */
    readonly shape: number[],
  ) {}

  static async open(path: string, options: { check?: ShardCheck } = {}): Promise<ShardReader> {
    const check = options.check ?? 'stream';
    if (!['stream', 'full', 'none'].includes(check)) throw new Error(`ShardReader: check '${check}' is not one of stream, full, none`);
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
      const reader = new ShardReader(file, check, path, n, nMod, modDim, shape);
      if (check === 'full') await reader.verifyWhole();
      return reader;
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

  /** Whether the shard stores the exact latents (`Noise`, float32, the shape of X). */
  get hasNoise(): boolean {
    const info = this.file.arrays.get('Noise');
    return info !== undefined && info.dtype === '<f4' && info.shape.join(',') === this.shape.join(',');
  }

  /**
   * Consecutive batches of up to `size` draws, from draw `from` (CRC-checked from draw 0 under
   * 'stream', `Noise` too when it is read). `{ noise: true }` adds the exact latents.
   */
  async *batches(size: number, from = 0, options: { noise?: boolean } = {}): AsyncGenerator<ShardBatch> {
    if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`batch size must be a positive integer, got ${size}`);
    if (options.noise && !this.hasNoise) throw new Error(`${this.path}: no float32 'Noise' array of X's shape — the exact latents are not stored`);
    const checks = this.check === 'stream' && from === 0 ? this.crcChecks(options.noise) : undefined;
    for (let start = from; start < this.count; start += size) yield await this.readDraws(start, Math.min(size, this.count - start), checks, options.noise);
  }

  private crcChecks(noise = false): EntryChecks {
    return {
      X: this.file.crcCheck('X'),
      Y: this.file.crcCheck('Y'),
      labels: this.file.crcCheck('labels'),
      ...(noise ? { Noise: this.file.crcCheck('Noise') } : {}),
    };
  }

  private async readDraws(start: number, count: number, checks?: EntryChecks, noise = false): Promise<ShardBatch> {
    const perDraw = this.nMod * this.modDim;
    return {
      start,
      count,
      x: (await this.file.readElements('X', start * perDraw, count * perDraw, checks?.X)) as Float32Array,
      theta: (await this.file.readElements('Y', start, count, checks?.Y)) as Float32Array,
      labels: (await this.file.readElements('labels', start * this.nMod, count * this.nMod, checks?.labels)) as Int32Array,
      ...(noise ? { noise: (await this.file.readElements('Noise', start * perDraw, count * perDraw, checks?.Noise)) as Float32Array } : {}),
    };
  }

  /** The 'full' check: the manifest's sha256 when the shard has one, else a CRC-32 pass. */
  private async verifyWhole(): Promise<void> {
    const manifestPath = this.path.replace(/\.npz$/, '.manifest.json');
    if (manifestPath !== this.path && existsSync(manifestPath)) {
      let recorded: string | undefined;
      try {
        recorded = (JSON.parse(await readFile(manifestPath, 'utf8')) as { file?: { sha256?: string } }).file?.sha256;
      } catch (e) {
        throw new Error(`${manifestPath}: not valid JSON (${(e as Error).message})`, { cause: e });
      }
      const { sha256 } = await sha256File(this.path);
      if (recorded !== undefined && sha256 !== recorded)
        throw new FormatError('npz', this.path, `corrupt: its sha256 is ${sha256}, the manifest ${manifestPath} records ${recorded}`);
      if (recorded !== undefined) return;
    }
    const checks = this.crcChecks();
    for (let start = 0; start < this.count; start += CHECK_CHUNK) await this.readDraws(start, Math.min(CHECK_CHUNK, this.count - start), checks);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
