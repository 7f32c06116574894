/**
 * Splitting a micro-batch's rows (images, labels and their random draws) into contiguous
 * shards, one per gradient thread. The loss of a micro-batch is a mean over its rows, so
 * the shard losses are weighted by rows/total and their gradients add up to the batch's.
 */
import type { Batch } from '../data/batches.js';
import type { MicroBatchDraws } from '../train-step.js';

export interface Shard {
  batch: Batch;
  draws: MicroBatchDraws;
  /** rows / all rows of the micro-batch. */
  weight: number;
}

/** [start, end) row ranges of `parts` nearly equal shards (the first ones one row larger); empty shards are left out. */
export function shardRanges(rows: number, parts: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const base = Math.floor(rows / parts);
  const extra = rows % parts;
  let start = 0;
  for (let k = 0; k < parts; k++) {
    const n = base + (k < extra ? 1 : 0);
    if (n > 0) out.push([start, start + n]);
    start += n;
  }
  return out;
}

export function shardsOf(batch: Batch, draws: MicroBatchDraws, parts: number): Shard[] {
  const pixels = batch.images.length / batch.n;
  return shardRanges(batch.n, parts).map(([a, b]) => ({
    batch: { images: batch.images.subarray(a * pixels, b * pixels), labels: batch.labels.subarray(a, b), n: b - a },
    draws: { dropLabels: draws.dropLabels, t: draws.t.subarray(a, b), noise: draws.noise.subarray(a * pixels, b * pixels) },
    weight: (b - a) / batch.n,
  }));
}

/**
 * The dropout seed of shard `k` of micro-batch `iteration`: shard 0 keeps the one-thread
 * seed; the others get seeds no iteration reaches, so no two shards share a mask.
 */
export const shardDropoutSeed = (iteration: number, k: number) => (k === 0 ? iteration : iteration + k * 1_000_000_000);
