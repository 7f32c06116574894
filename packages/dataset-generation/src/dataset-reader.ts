/**
 * The whole dataset of an index (dataset-index.ts) by global draw index: draw i lives in
 * the shard whose [offset, offset + count) holds it. Random access (`get`) and streaming
 * (`batches`, shard after shard, each CRC-checked as ShardReader does); shards are opened on
 * first use and kept open until close().
 *
 *   const data = await DatasetReader.open('out/simple_fig1_DAG.index.json');
 *   const { x, theta, labels } = await data.get(12345);
 *   for await (const b of data.batches(64)) train(b.x, b.theta, b.labels);
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { INDEX_FORMAT, type DatasetIndex } from './dataset-index.js';
import { ShardReader, type ShardBatch, type ShardCheck } from './loader.js';

export class DatasetReader {
  private readonly open = new Map<number, Promise<ShardReader>>();

  private constructor(
    readonly index: DatasetIndex,
    private readonly folder: string,
    private readonly check: ShardCheck,
  ) {}

  static async open(indexFile: string, options: { check?: ShardCheck } = {}): Promise<DatasetReader> {
    let index: DatasetIndex;
    try {
      index = JSON.parse(await readFile(indexFile, 'utf8')) as DatasetIndex;
    } catch (e) {
      throw new Error(`${indexFile}: not a readable dataset index (${(e as Error).message}); make one with \`mmmi-generate index <folder>\``, { cause: e });
    }
    if (index.format !== INDEX_FORMAT) throw new Error(`${indexFile}: format ${String(index.format)}, expected ${INDEX_FORMAT}`);
    return new DatasetReader(index, dirname(indexFile), options.check ?? 'stream');
  }

  get count(): number {
    return this.index.count;
  }

  private shard(k: number): Promise<ShardReader> {
    let s = this.open.get(k);
    if (!s) {
      const entry = this.index.shards[k];
      s = ShardReader.open(join(this.folder, entry.file), { check: this.check }).then((r) => {
        if (r.count !== entry.count) throw new Error(`${r.path}: ${r.count} draws, the index records ${entry.count} (re-index the folder)`);
        return r;
      });
      this.open.set(k, s);
    }
    return s;
  }

  /** The shard holding global draw i, and i's place in it. */
  locate(i: number): { shard: number; local: number } {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`draw ${i} is not in [0, ${this.count})`);
    const shards = this.index.shards;
    let lo = 0;
    let hi = shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (shards[mid].offset <= i) lo = mid;
      else hi = mid - 1;
    }
    return { shard: lo, local: i - shards[lo].offset };
  }

  /** Draw i: its images (N_mod × d), θ and labels. */
  async get(i: number): Promise<{ x: Float32Array; theta: number; labels: Int32Array }> {
    const { shard, local } = this.locate(i);
    const reader = await this.shard(shard);
    for await (const b of reader.batches(1, local)) return { x: b.x, theta: b.theta[0], labels: b.labels };
    throw new Error(`internal: draw ${i} not read`);
  }

  /** Batches of up to `size` draws over the whole dataset, in global order (a batch never spans two shards); `{ noise: true }` adds the exact latents. */
  async *batches(size: number, options: { noise?: boolean } = {}): AsyncGenerator<ShardBatch> {
    for (let k = 0; k < this.index.shards.length; k++) {
      const reader = await this.shard(k);
      for await (const b of reader.batches(size, 0, options)) yield { ...b, start: b.start + this.index.shards[k].offset };
    }
  }

  async close(): Promise<void> {
    const readers = await Promise.allSettled(this.open.values());
    this.open.clear();
    for (const r of readers) if (r.status === 'fulfilled') await r.value.close();
  }
}
