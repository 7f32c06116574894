/**
 * Every seed of `estimate` reads its own sample, whatever the features. The estimators are
 * wrapped to record what they were given instead of estimating: on the pair X1;θ the θ side
 * is θ's values as drawn (never reduced), and θ is continuous, so the set of θ values an
 * estimate saw names its draws exactly. For each feature kind (pixels, latents, PCA of either,
 * a CNN critic's raw images), two seeds at the largest n see disjoint draws when the dataset
 * holds a block per seed, the same seed sees the same draws again, and where the dataset is
 * too small the seeds overlap (and say so), reading one set only at n = every draw.
 */
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { drawLayout, runEstimates, seedDraws } from '../src/estimate/run.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

/** θ values each estimate call saw, keyed by the seed it was asked with. */
const seen: { seed: number; theta: number[] }[] = [];

vi.mock('../src/estimator-registry.js', async (original) => {
  const real = await original<typeof import('../src/estimator-registry.js')>();
  return {
    ...real,
    resolveEstimators: (names: readonly string[], external?: readonly string[]) =>
      real.resolveEstimators(names, external).map((entry) => ({
        ...entry,
        estimator: {
          ...entry.estimator,
          estimate: async (data: { n: number; y: Float64Array; dy: number }, options: { seed: number }) => {
            expect(data.dy).toBe(1);
            seen.push({ seed: options.seed, theta: Array.from(data.y) });
            return { estimate: 0, standardError: 0, seconds: 0 };
          },
        },
      })),
  };
});

const dir = tempDir('mi-bench-seeds-');
let small: BenchDataset;
let images: BenchDataset;

beforeAll(async () => {
  small = await openDataset(await tinyDataset(`${dir}/small`, { size: 300 }));
  images = await openDataset(await tinyDataset(`${dir}/images`, { size: 130, modDim: 3072 }));
});

/** The θ sets of seeds 0 … seeds − 1 (one estimate each: one pair, one estimator, one n). */
async function thetaSets(data: BenchDataset, features: string, estimator: string, n: number, seeds: number, fitDraws?: number): Promise<Set<number>[]> {
  seen.length = 0;
  await runEstimates(data, { pairs: ['X1;θ'], estimators: [estimator], features: [features], sizes: [n], seeds, fitDraws });
  expect(seen.map((s) => s.seed)).toEqual(Array.from({ length: seeds }, (_, s) => s));
  return seen.map((s) => new Set(s.theta));
}

const shared = (a: Set<number>, b: Set<number>) => [...a].filter((v) => b.has(v)).length;

describe('every seed draws its own sample', () => {
  const kinds: [string, string, () => BenchDataset][] = [
    ['pixels', 'gaussian', () => small],
    ['latents', 'gaussian', () => small],
    ['pca2', 'gaussian', () => small],
    ['latents:pca2', 'gaussian', () => small],
    ['pixels', 'infonce-cnn', () => images],
  ];
  for (const [features, estimator, data] of kinds)
    it(`${features} (${estimator}): disjoint draws per seed at the largest n, the same draws for the same seed`, async () => {
      const n = 40;
      const sets = await thetaSets(data(), features, estimator, n, 3, 20);
      for (const s of sets) expect(s.size).toBe(n);
      expect(shared(sets[0], sets[1])).toBe(0);
      expect(shared(sets[0], sets[2])).toBe(0);
      expect(shared(sets[1], sets[2])).toBe(0);
      const again = await thetaSets(data(), features, estimator, n, 3, 20);
      expect(again).toEqual(sets);
    });

  it('a dataset too small for a block per seed: the seeds overlap but differ, and the plan says so; at n = every draw they read one set', async () => {
    const sets = await thetaSets(small, 'pixels', 'gaussian', 200, 2);
    expect(shared(sets[0], sets[1])).toBeGreaterThan(0);
    expect(shared(sets[0], sets[1])).toBeLessThan(200);
    expect(drawLayout(300, 2, [200], 0).notes.join()).toMatch(
      /the seeds share draws: 2 independent seeds need 2 × \(200\) = 400 draws and the dataset has 300/,
    );
    const all = await thetaSets(small, 'pixels', 'gaussian', 300, 2);
    expect(all[1]).toEqual(all[0]);
    expect(drawLayout(300, 2, [100, 300], 0).notes.join()).toMatch(/at n = 300 every seed reads all 300 draws/);
    expect(drawLayout(300, 2, [100], 50).notes).toEqual([]);
  });
});

describe('drawLayout and seedDraws', () => {
  it('give seed s the block s of the pool, estimation and fit draws disjoint within it', () => {
    const layout = drawLayout(1000, 3, [50, 100], 30);
    expect(layout).toMatchObject({ poolCount: 390, block: 130 });
    for (const seed of [0, 1, 2]) {
      const { rows, fitRows } = seedDraws(layout, 100, seed, 30);
      const all = [...rows, ...fitRows];
      expect(new Set(all).size).toBe(130);
      expect(Math.min(...all)).toBe(130 * seed);
      expect(Math.max(...all)).toBe(130 * seed + 129);
    }
    // a smaller n reads fewer draws of the same block
    expect(Math.min(...seedDraws(layout, 50, 2, 30).rows)).toBeGreaterThanOrEqual(260);
  });
});
