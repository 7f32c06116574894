/**
 * --compute_fid's plumbing: generated images (classes in turn) and the training images'
 * reference statistics (computed once, then cached) go through the feature extractor and
 * the Fréchet distance of packages/fid. A small stand-in extractor replaces Inception (its
 * weights cannot be downloaded in tests); the distance is checked against one computed
 * here from the same features.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { CIFAR10_CLASSES, writePng } from '@mmmi/formats';
import { frechetDistance, StatsAccumulator } from '@mmmi/fid';
import { SeededRandom } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatedSource, makeFidEvaluator } from '../src/fid-eval.js';
import { FlowModel } from '../src/flow-model.js';
import { unetConfig } from '../src/unet/config.js';

/** Per-image channel means and mean squares of the 299×299 input: 6 features. */
const extract = async (images: Float32Array, n: number) => {
  const px = images.length / n / 3;
  const out = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < px; k++) {
      for (let c = 0; c < 3; c++) {
        const v = images[(i * px + k) * 3 + c];
        out[i * 6 + c] += v / px;
        out[i * 6 + 3 + c] += (v * v) / px;
      }
    }
  }
  return out;
};

let dataDir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dataDir = mkdtempSync(join(tmpdir(), 'mmmi-fid-cifar-'));
  // a miniature CIFAR-10 in the JPEG-folder layout (PNG content is accepted there)
  const rng = new SeededRandom(1);
  for (const cls of CIFAR10_CLASSES) {
    mkdirSync(join(dataDir, 'train', cls), { recursive: true });
    for (let k = 0; k < 2; k++) await writePng(join(dataDir, 'train', cls, `${k}.png`), { width: 32, height: 32, data: rng.bytes(3072) });
  }
});

describe('FID during training', () => {
  it('generates the requested number of images, classes in turn', async () => {
    const model = new FlowModel(unetConfig('tiny'), { seed: 3 });
    const src = generatedSource(model, model.params, 7, { odeMethod: 'euler', odeOptions: { nfe: 1 }, cfgScale: 0, edmSchedule: false }, 0);
    let count = 0;
    for await (const b of src.batches(3)) {
      expect(b.bytes!.length).toBe(b.n * 8 * 8 * 3);
      count += b.n;
    }
    expect(count).toBe(7);
    model.dispose();
  });

  it('compares generated features with the cached training-set statistics', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'mmmi-fid-cache-'));
    const sampling = { odeMethod: 'euler', odeOptions: { nfe: 1 }, cfgScale: 0, edmSchedule: false };
    const fid = await makeFidEvaluator({
      fidSamples: 6,
      dataPath: dataDir,
      sampling,
      seed: 0,
      extract,
      env: { MMMI_CACHE: cache },
      log: () => {},
      batchSize: 4,
    });
    const model = new FlowModel(unetConfig('tiny'), { seed: 3 });
    const value = await fid(model, model.params, 0);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThanOrEqual(0);
    // the reference statistics were cached for the next evaluation
    expect(readdirSync(cache).some((f) => f.startsWith('cifar10-train-jpeg'))).toBe(true);
    // independently: the same features, accumulated here
    const { preprocessUint8ForInception } = await import('@mmmi/fid');
    const stats = async (batches: AsyncGenerator<{ bytes?: Uint8Array; n: number; height: number; width: number }>) => {
      const acc = new StatsAccumulator(6);
      for await (const b of batches) acc.add(await extract(preprocessUint8ForInception(b.bytes!, b as never), b.n), b.n);
      return acc.result();
    };
    const gen = await stats(generatedSource(model, model.params, 6, sampling, 0).batches(4));
    const { cifar10ImageSource } = await import('@mmmi/fid');
    const real = await stats(cifar10ImageSource({ layout: 'jpeg', container: 'folder', path: dataDir }, 'train').batches(4));
    expect(value).toBeCloseTo(frechetDistance(real, gen), 6);
    // a second evaluation reads the cache and gives the same number
    expect(await fid(model, model.params, 1)).toBeCloseTo(value, 10);
    model.dispose();
    expect(existsSync(cache)).toBe(true);
  });
});
