/**
 * The whole dataset of an index (dataset-index.ts) by global draw index: draw i lives in
 * the shard whose [offset, offset + count) holds it. Random access (`get`) and streaming
 * (`batches`, shard after shard, each CRC-checked as ShardReader does); shards are opened on
 * first use and kept open until close().
 *
 * Every shard is held to the index, since the truth a reader scores against is the index's:
 * open() compares each shard's size with the index (cheap, before any work), and a shard's
 * first use hashes it and compares its sha256 with the index's (unless `check: 'none'`). A
 * shard regenerated, replaced or damaged since the index was made is refused with both
 * values, as python/mmmi_dataset.py does.
 *
 *   const data = await DatasetReader.open('out/simple_fig1_DAG.index.json');
 *   const { x, theta, labels } = await data.get(12345);
 *   for await (const b of data.batches(64)) train(b.x, b.theta, b.labels);
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '@mmmi/cli-kit';
import { sha256File } from '@mmmi/formats';
import { INDEX_FORMAT, type DatasetIndex } from './dataset-index.js';
import { ShardReader, type ShardBatch, type ShardCheck } from './loader.js';

export class DatasetReader {
  private readonly open = new Map<number, Promise<ShardReader>>();

  private constructor(
    readonly index: DatasetIndex,
    private readonly folder: string,
    private readonly check: ShardCheck,
    private readonly indexFile: string,
  ) {}

  /** Reads the index and checks every shard's size against it; bad input is an InputError naming the file. */
  static async open(indexFile: string, options: { check?: ShardCheck } = {}): Promise<DatasetReader> {
    const folder = dirname(indexFile);
    let index: DatasetIndex;
    try {
      index = JSON.parse(await readFile(indexFile, 'utf8')) as DatasetIndex;
    } catch (e) {
      throw new InputError(`${indexFile}: not a readable dataset index (${(e as Error).message}); make one with \`mmmi-generate index ${folder}\``, {
        cause: e,
      });
    }
    const problem = indexProblem(index);
    if (problem) throw new InputError(`${indexFile}: ${problem}; make a new one with \`mmmi-generate index ${folder}\``);
    for (const entry of index.shards) await checkSize(join(folder, entry.file), entry, indexFile);
    return new DatasetReader(index, folder, options.check ?? 'stream', indexFile);
  }

  get count(): number {
    return this.index.count;
  }

  private shard(k: number): Promise<ShardReader> {
    let s = this.open.get(k);
    if (!s) {
      const entry = this.index.shards[k];
      s = this.openChecked(entry);
      this.open.set(k, s);
    }
    return s;
  }

  /** A shard held to its index entry: size, then (unless 'none') its sha256, before a draw is read. */
  private async openChecked(entry: IndexedShard): Promise<ShardReader> {
    const path = join(this.folder, entry.file);
    await checkSize(path, entry, this.indexFile);
    if (this.check !== 'none') {
      const { sha256 } = await sha256File(path);
      if (sha256 !== entry.sha256) throw mismatch(path, `sha256 ${sha256}`, `${entry.sha256}`, this.indexFile);
    }
    // the sha256 already covers what 'full' would check again
    const r = await ShardReader.open(path, { check: this.check === 'full' ? 'stream' : this.check });
    if (r.count !== entry.count) {
      await r.close();
      throw mismatch(path, `${r.count} draws`, `${entry.count}`, this.indexFile);
    }
    return r;
  }

  /** Whether the shards store the exact latents (`Noise`), read from the first shard (opened checked). */
  async hasNoise(): Promise<boolean> {
    return this.index.shards.length > 0 && (await this.shard(0)).hasNoise;
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

type IndexedShard = DatasetIndex['shards'][number];

/** What makes a parsed JSON value unusable as an index (null when it is one). */
function indexProblem(index: unknown): string | null {
  if (typeof index !== 'object' || index === null || Array.isArray(index)) return 'not a dataset index (not a JSON object)';
  const i = index as Partial<DatasetIndex>;
  if (i.format !== INDEX_FORMAT) return `format ${JSON.stringify(i.format)}, expected ${INDEX_FORMAT}`;
  if (!Array.isArray(i.shards) || !Number.isInteger(i.count)) return 'no shard list or count';
  const bad = i.shards.findIndex(
    (s: Partial<IndexedShard> | null) =>
      !s || typeof s.file !== 'string' || typeof s.sha256 !== 'string' || ![s.bytes, s.count, s.offset].every((v) => Number.isInteger(v)),
  );
  return bad < 0 ? null : `shard entry ${bad} lacks its file, size, sha256, count or offset`;
}

function mismatch(path: string, found: string, recorded: string, indexFile: string): InputError {
  return new InputError(
    `${path}: ${found}, the index ${indexFile} records ${recorded}: the shard changed since the index was made (regenerated, replaced or damaged); restore the shard, or if the new one is meant to be there, rebuild the index with \`mmmi-generate index ${dirname(indexFile)}\``,
  );
}

/** The cheap check, before any work: the shard is there and has the size the index records. */
async function checkSize(path: string, entry: IndexedShard, indexFile: string): Promise<void> {
  let bytes: number;
  try {
    bytes = (await stat(path)).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      `${path}: ${code === 'ENOENT' ? 'missing' : `cannot be read (${code ?? (e as Error).message})`}, the index ${indexFile} lists it; restore the shard, or rebuild the index with \`mmmi-generate index ${dirname(indexFile)}\``,
      { cause: e },
    );
  }
  if (bytes !== entry.bytes) throw mismatch(path, `${bytes} bytes`, `${entry.bytes} bytes`, indexFile);
}
