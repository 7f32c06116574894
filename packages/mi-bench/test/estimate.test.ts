/**
 * The estimate run end to end on a tiny generated dataset (Fig. 1a's DAG, d = 16, identity
 * and tanh maps): truth from the manifest equals latents' exact MI; the Gaussian estimator on
 * the exact latents lies within 4 of its standard errors of the truth (it is exact for
 * Gaussian data, so a wrong pairing of draws, a wrong column or a wrong truth shows as many
 * errors); the chain rule gives conditional pairs; bad input is refused before any reading.
 */
import { InputError } from '@mmmi/cli-kit';
import { conditionalMutualInformation, parseMiQuery } from '@mmmi/latents';
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { planEstimates, runEstimates, subsample } from '../src/estimate/run.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

let identity: BenchDataset;
let tanh: BenchDataset;
const dir = tempDir('mi-bench-estimate-');
const empty = tempDir('mi-bench-empty-');

beforeAll(async () => {
  identity = await openDataset(await tinyDataset(`${dir}/identity`, { size: 3000 }));
  tanh = await openDataset(await tinyDataset(`${dir}/tanh`, { size: 1000, transform: 'tanh' }));
});

describe('subsample', () => {
  it('gives n distinct draws and disjoint fit draws, reproducibly per seed', () => {
    const a = subsample(100, 30, 1, 50);
    expect(new Set(a.rows).size).toBe(30);
    expect(a.fitRows.length).toBe(50);
    expect([...a.fitRows].some((r) => a.rows.includes(r))).toBe(false);
    expect(subsample(100, 30, 1, 50).rows).toEqual(a.rows);
    expect(subsample(100, 30, 2, 50).rows).not.toEqual(a.rows);
    expect(subsample(100, 90, 1, 50).fitRows.length).toBe(10);
  });
});

describe('runEstimates', () => {
  it('holds the Gaussian estimate on the exact latents within 4 standard errors of the exact MI', async () => {
    const rows = await runEstimates(identity, { pairs: ['X1;θ', 'X1;X2'], estimators: ['gaussian'], features: ['latents'], sizes: [2000], seeds: 2 });
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      const q = parseMiQuery(r.pair === 'I(X_1; θ)' ? 'X1;θ' : 'X1;X2', 2);
      expect(r.truth).toBeCloseTo(conditionalMutualInformation(identity.structure, q.a, q.b, q.c), 12);
      expect(r.truth).toBeGreaterThan(0.05);
      expect(Math.abs(r.bias)).toBeLessThan(4 * r.standardError!);
      expect(r.dataset).toBe('simple_fig1_DAG');
      expect(r.map).toBe('identity');
    }
  });

  it('estimates a conditional pair by the chain rule (Fig. 1a: X_1 and X_2 independent given θ)', async () => {
    const rows = await runEstimates(identity, { pairs: ['X1;X2|θ'], estimators: ['gaussian'], features: ['latents'], sizes: [2000], seeds: 1 });
    expect(rows[0].pair).toBe('I(X_1; X_2 | θ)');
    expect(rows[0].truth).toBeLessThan(1e-9);
    expect(rows[0].standardError).toBeNull();
    // two Gaussian estimates of 17 and 33 dims on 2000 draws: the difference's sd is below 0.02 nats
    expect(Math.abs(rows[0].estimate)).toBeLessThan(0.06);
  });

  it('reads images through the map: KSG on tanh pixels reduced by PCA, binned on one PCA component', async () => {
    const rows = await runEstimates(tanh, { pairs: ['X1;θ'], estimators: ['ksg1', 'binned'], features: ['pca1'], sizes: [400], seeds: 1, fitDraws: 500 });
    expect(rows.map((r) => r.estimator)).toEqual(['ksg1', 'binned']);
    for (const r of rows) {
      expect(r.map).toBe('tanh');
      expect(r.features).toBe('pca1');
      expect(Number.isFinite(r.estimate)).toBe(true);
      // a projection keeps at most the MI (data processing); k-NN and bins add their own error
      expect(r.estimate).toBeLessThan(r.truth + 0.25);
    }
  });

  it('refuses bad input before reading a draw', () => {
    const base = { pairs: ['X1;θ'], estimators: ['gaussian'], features: ['latents'], sizes: [500], seeds: 1 };
    const refuse = (o: Partial<typeof base>, message: RegExp) => expect(() => planEstimates(identity, { ...base, ...o })).toThrow(message);
    refuse({ pairs: ['X3;θ'] }, /X3 is outside X1…X2/);
    refuse({ pairs: ['X1'] }, /two groups/);
    refuse({ pairs: ['X1;X1'] }, /appears in both/);
    refuse({ estimators: ['magic'] }, /unknown estimator 'magic' \(known: gaussian/);
    refuse({ sizes: [5000] }, /--n 5000: the dataset .* has 3000 draws/);
    refuse({ features: ['pixels'], sizes: [10] }, /gaussian on I\(X_1; θ\) with --features pixels at n = 10: 17 dimensions need more than 18 draws/);
    refuse({ estimators: ['binned'] }, /one-dimensional sides only/);
    refuse({ features: ['pca'] }, /expected pixels, latents, pca<k>/);
    refuse({ estimators: ['external'] }, /needs --external_command/);
    expect(() => planEstimates(identity, { ...base, pairs: [] })).toThrow(InputError);
  });

  it('refuses a feature spec larger than the data rather than run it under its name', () => {
    const base = { pairs: ['X1;θ'], estimators: ['gaussian'], features: ['pca50'], sizes: [500], seeds: 1 };
    expect(() => planEstimates(identity, base)).toThrow(
      /--features pca50 on I\(X_1; θ\): 50 components of X_1, which has 16 values per draw; use at most pca16, or pixels for the values as they are/,
    );
    expect(() => planEstimates(identity, { ...base, features: ['latents:pca17'] })).toThrow(/use at most latents:pca16, or latents/);
    // more components than fit draws (the fit split is under 4k, so the n draws themselves): refused before reading
    expect(() => planEstimates(identity, { ...base, estimators: ['ksg1'], features: ['pca16'], sizes: [12], fitDraws: 0 })).toThrow(
      /--features pca16 on I\(X_1; θ\) at n = 12: 16 components need more than 12 draws to fit/,
    );
    // k = D keeps every value (a full PCA loses nothing); two modalities hold 32 values
    expect(() => planEstimates(identity, { ...base, features: ['pca16'] })).not.toThrow();
    expect(() => planEstimates(identity, { ...base, pairs: ['X1,X2;θ'], features: ['pca20'] })).not.toThrow();
  });

  it('refuses a folder without a dataset, naming it', async () => {
    await expect(openDataset(empty)).rejects.toThrow(/no dataset shard/);
    await expect(openDataset('/nonexistent/folder')).rejects.toThrow(/no such dataset folder/);
  });
});
