/**
 * The draws a study works on, held in memory: θ and the modalities the study reads (images
 * or the exact latents), loaded once through the checked streaming loader, so that every
 * (n, seed) subsample is an index set into the same arrays.
 */
import { InputError } from '@mmmi/cli-kit';
import type { BenchDataset } from './dataset.js';

export type Source = 'pixels' | 'latents';

export interface DrawPool {
  count: number;
  modDim: number;
  theta: Float64Array;
  /** For each modality read (0-based index → count × d float32, draw-major); modalities not read are absent. */
  images: Map<number, Float32Array>;
  source: Source;
}

/** Loads the first `count` draws of `mods` from `source` (the `Noise` array for 'latents'). */
export async function loadPool(data: BenchDataset, count: number, mods: readonly number[], source: Source, batchSize = 256): Promise<DrawPool> {
  if (count > data.count) throw new InputError(`${data.source}: ${count} draws needed, the dataset has ${data.count}`);
  if (source === 'latents' && !data.hasNoise) throw new InputError(`${data.source}: the shards do not store the exact latents (Noise); use pixel features`);
  const d = data.modDim;
  const theta = new Float64Array(count);
  const images = new Map(mods.map((m) => [m, new Float32Array(count * d)]));
  let filled = 0;
  for await (const b of data.batches(batchSize, { noise: source === 'latents' })) {
    const take = Math.min(b.count, count - filled);
    const values = source === 'latents' ? b.noise! : b.x;
    for (let i = 0; i < take; i++) {
      theta[filled + i] = b.theta[i];
      for (const [m, out] of images) out.set(values.subarray((i * data.nMod + m) * d, (i * data.nMod + m + 1) * d), (filled + i) * d);
    }
    filled += take;
    if (filled >= count) break;
  }
  return { count, modDim: d, theta, images, source };
}
