import { describe, expect, it } from 'vitest';
import { edmGrid, referenceGenerationGrid, uniformGrid } from '../src/time-grid.js';

describe('edmGrid', () => {
  it('equals flow_matching get_time_discretization(5).to(torch.float32) as printed by torch', () => {
    // /usr/bin/python3, torch 1.13: get_time_discretization(5) copied from flow_matching's
    // examples (float64 arange, σ_min = 0.002, σ_max = 80, ρ = 7), `.to(torch.float32).tolist()`.
    expect(edmGrid(5)).toEqual([0.012345679104328156, 0.05397285521030426, 0.2844772934913635, 0.8548815250396729, 0.9980040192604065, 1.0]);
    // Same script, nfe = 2 and 18.
    expect(edmGrid(2)).toEqual([0.012345679104328156, 0.9980040192604065, 1.0]);
    expect(edmGrid(18)).toEqual([
      0.012345679104328156, 0.017068928107619286, 0.023931704461574554, 0.03404303640127182, 0.04913412779569626, 0.07189030200242996, 0.1063723936676979,
      0.15834824740886688, 0.2349170595407486, 0.3420744836330414, 0.47888806462287903, 0.6307762861251831, 0.7713416814804077, 0.8775652050971985,
      0.9434431195259094, 0.977579653263092, 0.9925282001495361, 0.9980040192604065, 1.0,
    ]);
  });

  it('is t_i = 1/(1 + σ_i) for the Karras σ schedule, to float32 precision, for many nfe', () => {
    // 1 − σ/(1 + σ) = 1/(1 + σ), with σ_i = σ_max·(1 + i/(n−1)·((σ_min/σ_max)^{1/7} − 1))^7.
    for (const nfe of [2, 3, 7, 10, 35, 50, 100, 1000]) {
      const grid = edmGrid(nfe);
      expect(grid).toHaveLength(nfe + 1);
      for (let i = 0; i <= nfe; i++) {
        const sigma = i === nfe ? 0 : 80 * (1 + (i / (nfe - 1)) * ((0.002 / 80) ** (1 / 7) - 1)) ** 7;
        const expected = 1 / (1 + sigma);
        expect(Math.abs(grid[i] - expected)).toBeLessThanOrEqual(2 ** -24 * expected);
        expect(Math.fround(grid[i])).toBe(grid[i]);
        if (i > 0) expect(grid[i]).toBeGreaterThan(grid[i - 1]);
      }
      expect(grid[0]).toBe(Math.fround(1 / 81));
      expect(grid[nfe - 1]).toBe(Math.fround(1 / 1.002));
      expect(grid[nfe]).toBe(1);
    }
  });

  it('rejects nfe that is not an integer ≥ 2', () => {
    for (const nfe of [1, 0, -3, 2.5, NaN, Infinity]) expect(() => edmGrid(nfe)).toThrow(/edmGrid nfe must be an integer ≥ 2/);
  });
});

describe('uniformGrid', () => {
  it('has steps + 1 evenly spaced points from 0 to 1', () => {
    expect(uniformGrid(1)).toEqual([0, 1]);
    expect(uniformGrid(4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const grid = uniformGrid(50);
    expect(grid).toHaveLength(51);
    for (let i = 0; i <= 50; i++) expect(grid[i]).toBeCloseTo(i * 0.02, 15);
  });

  it('rejects steps that is not an integer ≥ 1', () => {
    for (const steps of [0, -1, 1.5, NaN]) expect(() => uniformGrid(steps)).toThrow(/uniformGrid steps must be an integer ≥ 1/);
  });
});

describe('referenceGenerationGrid', () => {
  it('equals torch.linspace(0, 1, 10) (float32) as printed by torch 1.13', () => {
    expect(referenceGenerationGrid()).toEqual([
      0.0, 0.1111111119389534, 0.2222222238779068, 0.3333333432674408, 0.4444444477558136, 0.5555555820465088, 0.6666666865348816, 0.7777777910232544,
      0.8888888955116272, 1.0,
    ]);
  });
});
