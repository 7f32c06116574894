/**
 * `mmmi-bench estimate --steps/--epochs/--backend` reach every trained estimator: the variational
 * critics, MIENF's flows and MINDE's denoiser train at most --steps Adam steps, LMI at most --epochs passes, each
 * on the backend named; a flag left out leaves the estimator's own default. Checked on what each
 * estimator reports it did (its details), not on the options handed to it.
 */
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset, type BenchDataset } from '../src/dataset.js';
import { trainingOptions } from '../src/estimator-registry.js';
import { runEstimates } from '../src/estimate/run.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

let data: BenchDataset;
const dir = tempDir('mi-bench-training-flags-');

beforeAll(async () => {
  data = await openDataset(await tinyDataset(`${dir}/identity`, { size: 800, modDim: 4 }));
});

describe('the training flags', () => {
  it('give each trained estimator only the flags given', () => {
    expect(trainingOptions({})).toMatchObject({ nwj: {}, 'infonce-cnn': {}, mienf: {}, lmi: {} });
    for (const o of Object.values(trainingOptions({}))) expect(o).toEqual({});
    const o = trainingOptions({ steps: 7, epochs: 3, backend: 'cpu' });
    expect(o.smile).toEqual({ steps: 7, backend: 'cpu' });
    expect(o.mienf).toEqual({ steps: 7, backend: 'cpu' });
    expect(o.minde).toEqual({ steps: 7, backend: 'cpu' });
    expect(o.lmi).toEqual({ epochs: 3, backend: 'cpu' });
  });

  it('bound what each estimator trains, as it reports', { timeout: 900_000 }, async () => {
    const details = new Map<string, Record<string, unknown>>();
    const rows = await runEstimates(data, {
      pairs: ['X1;X2'],
      estimators: ['nwj', 'mienf', 'minde', 'lmi'],
      features: ['pixels'],
      sizes: [600],
      seeds: 1,
      estimatorOptions: trainingOptions({ steps: 20, epochs: 2, backend: 'cpu' }),
      onDetails: (r, d) => details.set(r.estimator, d[0]),
    });
    expect(rows.map((r) => r.estimator)).toEqual(['nwj', 'mienf', 'minde', 'lmi']);
    expect(details.get('nwj')).toMatchObject({ backend: 'cpu' });
    expect(details.get('nwj')!.steps).toBeLessThanOrEqual(20);
    expect(details.get('mienf')).toMatchObject({ backend: 'cpu' });
    expect(details.get('mienf')!.steps).toBeLessThanOrEqual(20);
    expect(details.get('minde')).toMatchObject({ backend: 'cpu' });
    expect(details.get('minde')!.steps).toBeLessThanOrEqual(20);
    expect(details.get('lmi')).toMatchObject({ backend: 'cpu', epochs: 2 });
  });
});
