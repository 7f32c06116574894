import { describe, expect, it } from 'vitest';
import { alignmentScale, interpolatedQuantile, normSquaredSpectrum } from '../src/align.js';
import { chi2Quantile } from '../src/chi2.js';
import { miTable } from '../src/mi.js';
import { latentModelFromTokens } from '../src/model.js';
import { Rng } from '../src/rng.js';
import { createSampler } from '../src/sample.js';
import { denseSigma, thetaVariance, withScale } from '../src/structure.js';

const small = [
  '--mod_dim',
  '12',
  '--N_mod',
  '3',
  '--N_u',
  '3',
  '--N_u_theta',
  '2',
  '--T_vectors_method',
  'random',
  '--rho_arg',
  '[0.3,0.5,0.8]',
  '--alpha',
  '1.3',
];

describe('alignment', () => {
  it('the norm spectrum is the eigenvalue spectrum of the dense Σ_XX', async () => {
    const { structure } = await latentModelFromTokens(small);
    const terms = normSquaredSpectrum(structure);
    const total = terms.reduce((s, t) => s + t.weight * t.dof, 0);
    const S = denseSigma(structure, 'sampling');
    const n = 3 * 12;
    let trace = 0;
    let trace2 = 0;
    for (let a = 0; a < n; a++) {
      trace += S[a * (n + 1) + a];
      for (let b = 0; b < n; b++) trace2 += S[a * (n + 1) + b] ** 2;
    }
    expect(total).toBeCloseTo(trace, 10);
    expect(terms.reduce((s, t) => s + t.weight ** 2 * t.dof, 0)).toBeCloseTo(trace2, 8);
    expect(terms.reduce((s, t) => s + t.dof, 0)).toBe(n);
  });

  it('exact: after scaling, P(‖z‖² ≤ chi2.ppf(p, N·d)) = p (checked by sampling)', async () => {
    const { structure, alignment } = await latentModelFromTokens([...small, '--percentile_to_align', '0.9']);
    expect(alignment!.method).toBe('exact');
    const draws = 40_000;
    const { x } = createSampler(structure).sample(draws, new Rng(9, 1));
    const limit = chi2Quantile(0.9, 36);
    let below = 0;
    for (let c = 0; c < draws; c++) {
      let s = 0;
      for (let t = 0; t < 36; t++) s += x[c * 36 + t] ** 2;
      if (s <= limit) below++;
    }
    expect(Math.abs(below / draws - 0.9)).toBeLessThan(5 * Math.sqrt(0.09 / draws));
  });

  it('sampled (reference) agrees with exact within sampling error, and MI is unchanged by the scale', async () => {
    const { structure: unscaled } = await latentModelFromTokens(small);
    const exact = alignmentScale(unscaled, 0.95, 'exact');
    const sampled = alignmentScale(unscaled, 0.95, 'sampled', 4);
    expect(Math.abs(sampled.scale / exact.scale - 1)).toBeLessThan(0.01);
    const a = miTable(unscaled).values;
    const b = miTable(withScale(unscaled, exact.scale)).values;
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 12));
    expect(thetaVariance(withScale(unscaled, exact.scale))).toBeCloseTo(exact.scale ** 2 * thetaVariance(unscaled), 12);
  });

  it('galaxy_images_curve_DAG at full size: exact and sampled scales agree', async () => {
    const { structure, alignment } = await latentModelFromTokens(['@../../generation_arguments/galaxy_images_curve_DAG.txt']);
    const sampled = alignmentScale(withScale(structure, 1), 0.95, 'sampled', 0, 2000);
    expect(Math.abs(sampled.scale / alignment!.scale - 1)).toBeLessThan(2e-3);
    // Σ_XX ≈ 0.01·I here, so the scale is close to 1/0.1 = 10
    expect(alignment!.scale).toBeGreaterThan(9.9);
    expect(alignment!.scale).toBeLessThan(10.1);
  });

  it('interpolated quantile matches numpy/torch linear interpolation', () => {
    const v = Float64Array.from([5, 1, 4, 2, 3]);
    expect(interpolatedQuantile(v, 0.5)).toBe(3);
    expect(interpolatedQuantile(v, 0.95)).toBeCloseTo(4.8, 12);
    expect(interpolatedQuantile(v, 0)).toBe(1);
  });
});
