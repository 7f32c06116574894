/**
 * Training batches: a seeded shuffle per epoch, random horizontal flips, pixels scaled to
 * [−1, 1] as ToTensor + Normalize(0.5, 0.5) does (x/255 − 0.5)/0.5. Every random choice is
 * drawn from a stream keyed by (seed, epoch) so that any batch can be rebuilt on resume.
 */
import { permutation, Rng } from '@mmmi/latents';
import type { ImageDataset } from './dataset.js';

/** Stream ids of the trainer's random draws (disjoint ranges, keyed by epoch or step). */
export const TRAIN_STREAMS = { shuffle: 1_000_000, flip: 2_000_000_000, step: 4_000_000_000 } as const;

/** The permutation of image indices for `epoch` (latents' Fisher–Yates `permutation`). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const rng = new Rng(seed, TRAIN_STREAMS.shuffle + epoch);
  return Uint32Array.from(permutation(n, () => rng.uniform()));
}

export interface Batch {
  /** B × size × size × 3 in [−1, 1], NHWC. */
  images: Float32Array;
  labels: Int32Array;
  n: number;
}

/** Batch `index` (of size `batchSize`) of `epoch`, flipped at random. */
export function makeBatch(data: ImageDataset, order: Uint32Array, index: number, batchSize: number, seed: number, epoch: number): Batch {
  const { size } = data;
  const pixels = size * size * 3;
  const rng = new Rng(seed, TRAIN_STREAMS.flip + epoch * 100_000 + index);
  const images = new Float32Array(batchSize * pixels);
  const labels = new Int32Array(batchSize);
  const row = size * 3;
  for (let b = 0; b < batchSize; b++) {
    const src = order[index * batchSize + b];
    labels[b] = data.labels[src];
    const flip = rng.uniform() < 0.5;
    const base = src * pixels;
    const out = b * pixels;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const sx = flip ? size - 1 - x : x;
        for (let c = 0; c < 3; c++) {
          images[out + y * row + x * 3 + c] = (data.images[base + y * row + sx * 3 + c] / 255 - 0.5) / 0.5;
        }
      }
    }
  }
  return { images, labels, n: batchSize };
}

/** Full batches per epoch (the last, incomplete one is dropped). */
export const batchesPerEpoch = (n: number, batchSize: number) => Math.floor(n / batchSize);
