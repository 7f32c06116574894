/**
 * MINDE in the harness's registry: named, refusing image-sized sides (its denoiser is an MLP)
 * and splits too small for an estimate with a message that says what to do, before any draw is
 * read, and taking feature-sized pairs.
 */
import { describe, expect, it } from 'vitest';
import { ESTIMATOR_NAMES, resolveEstimators } from '../src/estimator-registry.js';

describe('minde in the registry', () => {
  const [entry] = resolveEstimators(['minde']);

  it('is named', () => {
    expect(ESTIMATOR_NAMES).toContain('minde');
    expect(entry.estimator.name).toBe('minde');
  });

  it('refuses image-sized sides, suggesting PCA features, and too few draws', () => {
    expect(entry.refuses(2000, 3072, 1)).toMatch(/at most 64 values per side \(here 3072 and 1\); reduce them to features first, e.g. --features pca16/);
    expect(entry.refuses(3, 1, 1)).toMatch(/at least 4 are needed/);
  });

  it('takes feature-sized pairs', () => {
    expect(entry.refuses(500, 1, 1)).toBeNull();
    expect(entry.refuses(2000, 16, 8)).toBeNull();
  });
});
