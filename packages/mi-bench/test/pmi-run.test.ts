/**
 * The pmi run end to end on a tiny generated dataset (Fig. 1a's DAG, d = 16, tanh map): the
 * exact per-sample PMI read from the stored latents averages to the exact MI (its mean over m
 * draws has sd √(Var PMI / m); 5 of those is the tolerance), a trained InfoNCE critic's scores
 * correlate with it, and pairs the exact PMI is not defined for are refused before any work.
 */
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { parsePair } from '../src/pairs.js';
import { planPmi, runPmi } from '../src/pmi/run.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('mi-bench-pmi-');
let data: BenchDataset;

beforeAll(async () => {
  data = await openDataset(await tinyDataset(`${dir}/tanh`, { size: 3000, transform: 'tanh' }));
});

describe('runPmi', () => {
  it('scores draws against their exact PMI, whose mean is the MI', async () => {
    const { rows, points } = await runPmi(data, {
      pairs: ['X1,X2;θ'],
      features: ['pixels'],
      n: 2000,
      scored: 1000,
      seeds: 1,
      critic: { steps: 300, backend: 'cpu' },
    });
    expect(rows).toHaveLength(1);
    const r = rows[0];
    const pmi = Float64Array.from(points[0].pmi);
    const mean = pmi.reduce((a, b) => a + b, 0) / pmi.length;
    const sd = Math.sqrt(pmi.reduce((a, b) => a + (b - mean) ** 2, 0) / (pmi.length - 1));
    expect(r.meanPmi).toBeCloseTo(mean, 12);
    expect(r.pair).toBe('I((X_1, X_2); θ)');
    // the exact MI of the pair, from latents' log-determinants
    expect(Math.abs(mean - parsePair('X1,X2;θ', data.structure).truth)).toBeLessThan((5 * sd) / Math.sqrt(pmi.length));
    // a critic on tanh images that learned the dependence orders the draws by their PMI
    expect(r.pearson).toBeGreaterThan(0.3);
    expect(r.spearman).toBeGreaterThan(0.3);
    expect(Number.isFinite(r.estimate)).toBe(true);
  });

  it('refuses pairs without an exact PMI and impossible sizes, before any work', () => {
    const base = { pairs: ['X1;θ'], features: ['pixels'], n: 500, scored: 200, seeds: 1 };
    const refuse = (o: Partial<typeof base>, message: RegExp) => expect(() => planPmi(data, { ...base, ...o })).toThrow(message);
    refuse({ pairs: ['X1;X2'] }, /between θ and a group of modalities/);
    refuse({ pairs: ['X1;θ|X2'] }, /unconditional pairs/);
    refuse({ n: 2900 }, /need 3100 draws; the dataset .* has 3000/);
    refuse({ features: ['pca'] }, /expected pixels, latents/);
  });
});
