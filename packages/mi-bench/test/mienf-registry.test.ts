/**
 * MIENF in the harness's registry: named in the list, refusing what its flows cannot take (image-
 * sized sides, too few draws for its split) with a message that says what to do, before any draw is
 * read, and taking a feature-sized pair.
 */
import { describe, expect, it } from 'vitest';
import { ESTIMATOR_NAMES, resolveEstimators } from '../src/estimator-registry.js';

describe('mienf in the registry', () => {
  const [entry] = resolveEstimators(['mienf']);

  it('is named', () => {
    expect(ESTIMATOR_NAMES).toContain('mienf');
    expect(entry.name).toBe('mienf');
    expect(entry.estimator.name).toBe('mienf');
  });

  it('refuses image-sized sides, suggesting PCA features, and too few draws', () => {
    expect(entry.refuses(2000, 3072, 1)).toMatch(/at most 32 values per side \(here 3072 and 1\); reduce them to features first, e.g. --features pca16/);
    expect(entry.refuses(2000, 4, 40)).toMatch(/here 4 and 40/);
    expect(entry.refuses(8, 4, 4)).toMatch(/leave 4 training rows for 4 \+ 4 dimensions/);
  });

  it('takes feature-sized pairs', () => {
    expect(entry.refuses(500, 1, 1)).toBeNull();
    expect(entry.refuses(2000, 16, 8)).toBeNull();
  });
});
