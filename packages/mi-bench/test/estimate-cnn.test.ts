/**
 * A CNN critic through the harness: on full-size images (Fig. 1a's DAG at d = 3072, identity
 * map) `infonce-cnn` reads the raw 3×32×32 images of X_1 against θ (an MLP on θ's side) and
 * returns a held-out InfoNCE value, which can never exceed log K of its evaluation batch; the
 * plan refuses a CNN critic on PCA features before any draw is read.
 */
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { criticBatchSize } from '../src/estimator-registry.js';
import { planEstimates, runEstimates } from '../src/estimate/run.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('mi-bench-cnn-');
let data: BenchDataset;

beforeAll(async () => {
  data = await openDataset(await tinyDataset(`${dir}/images`, { size: 400, modDim: 3072 }));
});

describe('infonce-cnn', () => {
  it('trains a CNN critic on raw images and stays under log K', async () => {
    const rows = await runEstimates(data, {
      pairs: ['X1;θ'],
      estimators: ['infonce-cnn'],
      features: ['pixels'],
      sizes: [300],
      seeds: 1,
      estimatorOptions: { 'infonce-cnn': { steps: 40 } },
    });
    expect(rows).toHaveLength(1);
    expect(Number.isFinite(rows[0].estimate)).toBe(true);
    expect(rows[0].estimate).toBeLessThanOrEqual(Math.log(criticBatchSize(300)) + 1e-9);
    expect(rows[0].truth).toBeGreaterThan(0.5);
  });

  it('is refused on PCA features, before any draw is read', () => {
    expect(() => planEstimates(data, { pairs: ['X1;θ'], estimators: ['nwj-cnn'], features: ['pca4'], sizes: [300], seeds: 1 })).toThrow(
      /its CNN critic reads 3×32×32 images; neither side is one/,
    );
  });
});
