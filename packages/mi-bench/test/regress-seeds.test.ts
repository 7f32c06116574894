/**
 * Every seed of `regress` reads its own draws, whatever the model and features. The
 * regression is wrapped to record what it was given instead of fitting: θ is continuous, so
 * the training and test θ values of a fit name its draws exactly. For each feature kind the
 * regressors take (ridge on pixels, latents, PCA of either; the CNN on raw pixels or latents),
 * three seeds read pairwise disjoint draws (training ∪ test) when the dataset holds a block per
 * seed, each seed's test set is the same at every size and disjoint from its training draws,
 * the training draws are nested across sizes, and the same seed reads the same draws again.
 * Where the dataset is too small the seeds overlap but differ (and the plan says so); where
 * test + n is every draw they read one set, split differently.
 */
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { planRegressions, runRegressions } from '../src/regress/run.js';
import type { RegressInput } from '../src/regress/index.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

interface Fit {
  seed: number;
  n: number;
  dim: number;
  train: Set<number>;
  test: Set<number>;
}
const fits: Fit[] = [];

vi.mock('../src/regress/index.js', async (original) => {
  const real = await original<typeof import('../src/regress/index.js')>();
  return {
    ...real,
    regressTheta: async (input: RegressInput) => {
      const n = input.trainTheta.length;
      fits.push({ seed: input.seed ?? 0, n, dim: input.dim, train: new Set(Array.from(input.trainTheta)), test: new Set(Array.from(input.testTheta)) });
      return {
        testMse: 1,
        r2: 0,
        r2StandardError: 0,
        seconds: 0,
        n,
        testRows: input.testTheta.length,
        predictions: new Float64Array(0),
        details: { model: input.model },
      };
    },
  };
});

const dir = tempDir('mi-bench-regress-seeds-');
let small: BenchDataset;
let images: BenchDataset;

beforeAll(async () => {
  small = await openDataset(await tinyDataset(`${dir}/small`, { size: 300 }));
  images = await openDataset(await tinyDataset(`${dir}/images`, { size: 130, modDim: 3072 }));
});

/** The fits of one run on X1 (one model, one feature kind), in the run's order: seed by seed, size by size. */
async function run(data: BenchDataset, model: string, features: string, sizes: number[], seeds: number, testDraws: number): Promise<Fit[]> {
  fits.length = 0;
  await runRegressions(data, { subsets: ['X1'], models: [model], features: [features], sizes, seeds, testDraws });
  expect(fits.map((f) => [f.seed, f.n])).toEqual(Array.from({ length: seeds }, (_, s) => sizes.map((n) => [s, n])).flat());
  return [...fits];
}

const shared = (a: Set<number>, b: Set<number>) => [...a].filter((v) => b.has(v)).length;
const union = (a: Set<number>, b: Set<number>) => new Set([...a, ...b]);

describe('every seed of regress reads its own draws', () => {
  const kinds: [string, string, () => BenchDataset, number][] = [
    ['ridge', 'pixels', () => small, 16],
    ['ridge', 'latents', () => small, 16],
    ['ridge', 'pca2', () => small, 2],
    ['ridge', 'latents:pca2', () => small, 2],
    ['cnn', 'pixels', () => images, 3072],
    ['cnn', 'latents', () => images, 3072],
  ];
  for (const [model, features, data, dim] of kinds)
    it(`${model} on ${features}: disjoint draws per seed, one test set per seed, nested training draws, the same draws for the same seed`, async () => {
      const sizes = [20, 30];
      const testDraws = 10;
      const got = await run(data(), model, features, sizes, 3, testDraws);
      for (const f of got) {
        expect(f.dim).toBe(dim);
        expect(f.train.size).toBe(f.n);
        expect(f.test.size).toBe(testDraws);
        expect(shared(f.train, f.test)).toBe(0);
      }
      const bySeed = [0, 1, 2].map((s) => got.filter((f) => f.seed === s));
      for (const [smaller, larger] of bySeed) {
        expect(larger.test).toEqual(smaller.test);
        expect(shared(smaller.train, larger.train)).toBe(smaller.n);
      }
      const reads = bySeed.map((fs) => union(fs[1].train, fs[1].test));
      expect(shared(reads[0], reads[1])).toBe(0);
      expect(shared(reads[0], reads[2])).toBe(0);
      expect(shared(reads[1], reads[2])).toBe(0);
      const again = await run(data(), model, features, sizes, 3, testDraws);
      expect(again).toEqual(got);
    });

  it('a dataset too small for a block per seed: the seeds overlap but differ, and the plan says so; at test + n = every draw they read one set, split differently', async () => {
    const [a, b] = await run(small, 'ridge', 'pixels', [150], 2, 50);
    const readA = union(a.train, a.test);
    const readB = union(b.train, b.test);
    expect(shared(readA, readB)).toBeGreaterThan(0);
    expect(shared(readA, readB)).toBeLessThan(200);
    const plan = planRegressions(small, { subsets: ['X1'], models: ['ridge'], features: ['pixels'], sizes: [150], seeds: 2, testDraws: 50 });
    expect(plan.layout.notes.join()).toMatch(/the seeds share draws: 2 independent seeds need 2 × \(150 \+ 50 test draws\) = 400 draws and .* has 300/);
    expect(plan.layout.notes.join()).toMatch(/a smaller --n or --test_draws/);

    const all = await run(small, 'ridge', 'pixels', [100, 200], 2, 100);
    const full = all.filter((f) => f.n === 200);
    expect(union(full[0].train, full[0].test).size).toBe(300);
    expect(union(full[1].train, full[1].test)).toEqual(union(full[0].train, full[0].test));
    expect(shared(full[0].test, full[1].test)).toBeLessThan(100);
    const notes = planRegressions(small, { subsets: ['X1'], models: ['ridge'], features: ['pixels'], sizes: [100, 200], seeds: 2, testDraws: 100 }).layout
      .notes;
    expect(notes.join()).toMatch(/at n = 200 every seed reads all 300 draws, only split differently/);
    expect(planRegressions(small, { subsets: ['X1'], models: ['ridge'], features: ['pixels'], sizes: [100], seeds: 2, testDraws: 50 }).layout).toMatchObject({
      poolCount: 300,
      block: 150,
      notes: [],
    });
  });
});
