/**
 * The regress run end to end on a tiny generated dataset (Fig. 1a's DAG, d = 16): each row's
 * Bayes values equal latents' exact MI of its subset; ridge on the exact latents reaches the
 * Bayes R² within sampling error and never beats it beyond error (the bound itself is tested
 * at length in regress-bayes.test.ts); subsets parse and label; bad input is refused first.
 */
import { mutualInformation } from '@mmmi/latents';
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { parseSubset, planRegressions, runRegressions, subsetLabel } from '../src/regress/run.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('mi-bench-regress-');
let data: BenchDataset;

beforeAll(async () => {
  data = await openDataset(await tinyDataset(`${dir}/identity`, { size: 4000 }));
});

describe('subsets', () => {
  it('parse the MI table notation and label runs compactly', () => {
    expect(parseSubset('X1..X2', 2).mods).toEqual([0, 1]);
    expect(subsetLabel([0])).toBe('X_1');
    expect(subsetLabel([0, 1])).toBe('X_1,X_2');
    expect(subsetLabel([0, 1, 2, 3, 6])).toBe('X_1..X_4,X_7');
  });
});

describe('runRegressions', () => {
  it('ridge on the exact latents reaches the Bayes R² within sampling error, never beyond', async () => {
    const rows = await runRegressions(data, { subsets: ['X1', 'X1,X2'], models: ['ridge'], features: ['latents'], sizes: [2000], seeds: 2, testDraws: 2000 });
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      const mods = r.subset === 'X_1' ? [0] : [0, 1];
      expect(r.mi).toBeCloseTo(mutualInformation(data.structure, { mods, theta: false }, { mods: [], theta: true }), 12);
      expect(r.bayesR2).toBeCloseTo(1 - Math.exp(-2 * r.mi), 12);
      // SE of a test R² over m draws ≈ 2(1 − R²)√R²/√m (derived in regress-bayes.test.ts); plus the
      // least-squares excess (1 − R²)·p/n of 17 coefficients on 2000 draws
      const se = (2 * (1 - r.bayesR2) * Math.sqrt(r.bayesR2)) / Math.sqrt(2000);
      const excess = ((1 - r.bayesR2) * 17) / 2000;
      expect(r.r2).toBeLessThan(r.bayesR2 + 4 * se);
      expect(r.r2).toBeGreaterThan(r.bayesR2 - 4 * se - 3 * excess);
    }
    // X_2 adds information about θ: the bound rises, and so does the fit
    expect(rows[1].bayesR2).toBeGreaterThan(rows[0].bayesR2);
  });

  it('refuses bad input before reading a draw', () => {
    const base = { subsets: ['X1'], models: ['ridge'], features: ['latents'], sizes: [500], seeds: 1, testDraws: 500 };
    const refuse = (o: Partial<typeof base>, message: RegExp) => expect(() => planRegressions(data, { ...base, ...o })).toThrow(message);
    refuse({ subsets: ['X3'] }, /X3 is outside X1…X2/);
    refuse({ subsets: ['θ'] }, /name modalities only/);
    refuse({ models: ['forest'] }, /unknown model 'forest' \(known: ridge, cnn\)/);
    refuse({ models: ['cnn'], features: ['pca4'] }, /the CNN reads raw images/);
    refuse({ models: ['cnn'] }, /3×32×32 images; this dataset's modalities have 16 values/);
    refuse({ sizes: [3800] }, /needs 4300 draws; the dataset .* has 4000/);
    refuse({ features: ['pca600'] }, /600 components need more than 500 training draws/);
  });
});
