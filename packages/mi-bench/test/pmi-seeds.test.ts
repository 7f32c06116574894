/**
 * Every seed of `pmi` reads its own draws, whatever the features. The critic is wrapped to
 * record what it was given instead of training: the θ side is θ's values as drawn, and θ is
 * continuous, so the θ values a critic was trained on and those it scored name the draws
 * exactly. For each feature kind the critic takes (pixels, latents, PCA of either), three
 * seeds read pairwise disjoint draws (training ∪ scored) when the dataset holds a block per
 * seed, each seed's scored draws are disjoint from its training draws, and the same seed reads
 * the same draws again. Where the dataset is too small the seeds overlap but differ (and the
 * plan says so); where n + scored is every draw they read one set, split differently.
 */
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { planPmi, runPmi } from '../src/pmi/run.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

interface Critic {
  seed: number;
  dx: number;
  train: Set<number>;
  scored: Set<number>;
}
const critics: Critic[] = [];

vi.mock('@mmmi/estimators', async (original) => {
  const real = await original<typeof import('@mmmi/estimators')>();
  return {
    ...real,
    fitCritic: async (data: { n: number; dx: number; y: Float64Array; dy: number }, options: { seed: number }) => {
      expect(data.dy).toBe(1);
      const critic: Critic = { seed: options.seed, dx: data.dx, train: new Set(data.y), scored: new Set() };
      critics.push(critic);
      return {
        bound: 'infonce',
        estimate: { estimate: 0, standardError: 0, seconds: 0 },
        curve: [],
        pairScores: () => new Float64Array(0),
        pointwiseScores: (_x: Float64Array, y: Float64Array, n: number) => {
          critic.scored = new Set(y);
          return Float64Array.from(y.subarray(0, n));
        },
        dispose: () => {},
      };
    },
  };
});

const dir = tempDir('mi-bench-pmi-seeds-');
let small: BenchDataset;

beforeAll(async () => {
  small = await openDataset(await tinyDataset(`${dir}/small`, { size: 300 }));
});

/** The critics of seeds 0 … seeds − 1 on X1; θ (one feature kind). */
async function run(features: string, n: number, scored: number, seeds: number): Promise<Critic[]> {
  critics.length = 0;
  const { rows } = await runPmi(small, { pairs: ['X1;θ'], features: [features], n, scored, seeds });
  expect(rows.map((r) => r.seed)).toEqual(Array.from({ length: seeds }, (_, s) => s));
  expect(critics.map((c) => c.seed)).toEqual(Array.from({ length: seeds }, (_, s) => s));
  return [...critics];
}

const shared = (a: Set<number>, b: Set<number>) => [...a].filter((v) => b.has(v)).length;
const union = (a: Set<number>, b: Set<number>) => new Set([...a, ...b]);

describe('every seed of pmi reads its own draws', () => {
  const kinds: [string, number][] = [
    ['pixels', 16],
    ['latents', 16],
    ['pca2', 2],
    ['latents:pca2', 2],
  ];
  for (const [features, dx] of kinds)
    it(`${features}: disjoint draws per seed, scored draws apart from the training draws, the same draws for the same seed`, async () => {
      const got = await run(features, 40, 20, 3);
      for (const c of got) {
        expect(c.dx).toBe(dx);
        expect(c.train.size).toBe(40);
        expect(c.scored.size).toBe(20);
        expect(shared(c.train, c.scored)).toBe(0);
      }
      const reads = got.map((c) => union(c.train, c.scored));
      expect(shared(reads[0], reads[1])).toBe(0);
      expect(shared(reads[0], reads[2])).toBe(0);
      expect(shared(reads[1], reads[2])).toBe(0);
      const again = await run(features, 40, 20, 3);
      expect(again).toEqual(got);
    });

  it('a dataset too small for a block per seed: the seeds overlap but differ, and the plan says so; at n + scored = every draw they read one set, split differently', async () => {
    const [a, b] = await run('pixels', 150, 50, 2);
    expect(shared(union(a.train, a.scored), union(b.train, b.scored))).toBeGreaterThan(0);
    expect(shared(union(a.train, a.scored), union(b.train, b.scored))).toBeLessThan(200);
    const base = { pairs: ['X1;θ'], features: ['pixels'], seeds: 2 };
    expect(planPmi(small, { ...base, n: 150, scored: 50 }).layout.notes.join()).toMatch(
      /the seeds share draws: 2 independent seeds need 2 × \(150 \+ 50 scored draws\) = 400 draws and .* has 300.*a smaller --n or --scored/,
    );
    const [c, d] = await run('pixels', 200, 100, 2);
    expect(union(c.train, c.scored).size).toBe(300);
    expect(union(d.train, d.scored)).toEqual(union(c.train, c.scored));
    expect(shared(c.scored, d.scored)).toBeLessThan(100);
    expect(planPmi(small, { ...base, n: 200, scored: 100 }).layout.notes.join()).toMatch(/at n = 200 every seed reads all 300 draws, only split differently/);
    expect(planPmi(small, { ...base, n: 100, scored: 50 }).layout).toMatchObject({ poolCount: 300, block: 150, notes: [] });
  });
});
