/**
 * The v2 study preset: its units and how an array spreads them, its summary figures against
 * a hand computation, and the study end to end at a toy size (d = 4, model-free map, two ρ_θ,
 * two of the fork's estimators under both protocols): every unit's file, the report, a rerun
 * that reuses every unit, stages run as array tasks giving the same files, settings conflicts
 * and bad input refused before any work.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { v2StudyCommand, v2UnitCounts, type V2StudyOptions } from '../src/study/v2/command.js';
import { toyV2Options } from './helpers/study-v2-toy.js';
import { latentModelFromTokens, mutualInformation } from '@mmmi/latents';
import { V2_ARGUMENT_PATH, v2GenerationTokens } from '../src/study/v2/datasets.js';
import { V2_PAPER_TRUTHS, V2_RHO_THETA, V2_VARIANTS } from '../src/study/v2/preset.js';
import { summariseV2 } from '../src/study/v2/report.js';
import type { V2UnitResult } from '../src/study/v2/run-unit.js';
import { unitsOfTask, v2EstimateUnits } from '../src/study/v2/units.js';

const dir = tempDir('mi-bench-study-v2-');
const quiet = { stream: null, say: () => {} };

const options = (out: string, over: Partial<V2StudyOptions> = {}): V2StudyOptions => toyV2Options(out, { ...quiet, ...over });

const unitFiles = (out: string) => readdirSync(join(out, 'units')).sort();

describe('study --preset paper-v2', () => {
  it('holds the paper’s sweep and the fork’s eight estimators', () => {
    expect(V2_RHO_THETA).toHaveLength(8);
    expect(V2_PAPER_TRUTHS).toHaveLength(8);
    expect(V2_VARIANTS.map((v) => v.name)).toEqual(['nwj', 'js', 'infonce', 'dv', 'mine', 'smile-1', 'smile-5', 'smile-inf']);
    const all = v2EstimateUnits(V2_RHO_THETA, ['pixels', 'latents'], ['fork', 'held-out'], V2_VARIANTS);
    expect(all).toHaveLength(256);
    expect(new Set(all.map((u) => u.id)).size).toBe(256);
  });

  it('the datasets’ exact I(X_1; X_2) at d = 3072 is the paper’s table, to its printed digits', async () => {
    for (const [k, rho] of V2_RHO_THETA.entries()) {
      const { structure } = await latentModelFromTokens([`@${V2_ARGUMENT_PATH}`, '--rho_theta_arg', `[${rho}]`]);
      const ours = mutualInformation(structure, { theta: false, mods: [0] }, { theta: false, mods: [1] });
      const paper = V2_PAPER_TRUTHS[k];
      const digits = String(paper).split('.')[1].length;
      expect(Math.abs(ours - paper), `ρ_θ = ${rho}: ${ours} vs ${paper}`).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-12);
    }
  });

  it('spreads the units over any array size, each exactly once', () => {
    const units = v2EstimateUnits(V2_RHO_THETA, ['pixels', 'latents'], ['fork', 'held-out'], V2_VARIANTS);
    for (const n of [1, 3, 16, 256, 300]) {
      const seen = Array.from({ length: n }, (_, j) => unitsOfTask(units, j, n)).flat();
      expect(seen.map((u) => u.id).sort()).toEqual(units.map((u) => u.id).sort());
    }
  });

  it('varies only ρ_θ of simple_fig1_DAG, with float scaling', () => {
    const t = v2GenerationTokens({ out: dir, map: 'flow', draws: 10_000, threads: 0 }, 0.01);
    expect(t[0]).toMatch(/simple_fig1_DAG\.txt$/);
    expect(t.slice(1, 3)).toEqual(['--rho_theta_arg', '[0.01]']);
    expect(t).toContain('--checkpoint_path');
    expect(t[t.indexOf('--scaling') + 1]).toBe('float');
    expect(t[t.indexOf('--dataset_size') + 1]).toBe('10000');
  });

  it('summarises RMSE, Pearson r and the largest relative error as defined', () => {
    const r = (rho: number, truth: number, estimate: number): V2UnitResult => ({
      format: 'mmmi-v2-unit',
      version: 1,
      id: `rho${rho}`,
      settings: { draws: 1, steps: 1, map: 'tanh', seed: 0, criticHidden: 1 },
      rho,
      input: 'latents',
      protocol: 'fork',
      estimator: 'nwj',
      dataset: '',
      truth,
      estimate,
      standardError: null,
      seconds: 1,
      run: {},
    });
    const [s] = summariseV2([r(0.01, 1, 0.5), r(0.02, 2, 2.5), r(0.05, 4, 3)]);
    expect(s.rmse).toBeCloseTo(Math.sqrt((0.25 + 0.25 + 1) / 3), 12);
    expect(s.largestPercentError).toBeCloseTo(50, 12);
    // Pearson of (0.5, 2.5, 3) with (1, 2, 4), by hand: means 2 and 7/3
    const ex = [-1.5, 0.5, 1];
    const ey = [1 - 7 / 3, 2 - 7 / 3, 4 - 7 / 3];
    const dot = (a: number[], b: number[]) => a.reduce((acc, v, i) => acc + v * b[i], 0);
    expect(s.pearson).toBeCloseTo(dot(ex, ey) / Math.sqrt(dot(ex, ex) * dot(ey, ey)), 12);
  });

  it('refuses bad input before any work', async () => {
    const out = join(dir, 'refused');
    await expect(v2StudyCommand(options(out, { estimators: ['mine', 'kde'] }))).rejects.toThrow(/'kde' is not one of the fork's/);
    await expect(v2StudyCommand(options(out, { inputs: ['pca8' as never] }))).rejects.toThrow(/--inputs pca8/);
    await expect(v2StudyCommand(options(out, { rhos: [1.5] }))).rejects.toThrow(/--rho_theta 1.5/);
    await expect(v2StudyCommand(options(out, { numJobs: 4 }))).rejects.toThrow(/give --stage generate, then estimate, then report/);
    await expect(v2StudyCommand(options(out, { stage: 'estimate', jobId: 4, numJobs: 4 }))).rejects.toThrow(/--job_id 4: must be below --num_jobs 4/);
    await expect(v2StudyCommand(options(out, { draws: 30 }))).rejects.toThrow(/rho0.05_latents_held-out_nwj/);
    expect(existsSync(join(out, 'units'))).toBe(false);
  });

  it('runs every unit into its file and reports; a rerun reuses them; other settings are refused', { timeout: 900_000 }, async () => {
    const out = join(dir, 'all');
    expect(v2UnitCounts(options(out))).toEqual({ datasets: 2, estimates: 8 });
    const first = await v2StudyCommand(options(out));
    expect(first).toMatchObject({ generated: 2, estimated: 8, reused: 0 });
    expect(unitFiles(out)).toHaveLength(8);
    const unit = JSON.parse(readFileSync(join(out, 'units', 'rho0.1_latents_fork_nwj.json'), 'utf8')) as V2UnitResult;
    expect(unit.truth).toBeGreaterThan(0);
    expect(Number.isFinite(unit.estimate)).toBe(true);
    for (const f of ['report/fork/estimate_vs_truth.png', 'report/held-out/estimate_vs_truth.png', 'report/fork/estimates.csv', 'README.md'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const readme = readFileSync(first.readme!, 'utf8');
    expect(readme).toContain('**Scaled down**');
    expect(readme).toContain('The full-size study:\n\n```sh\nmmmi-bench study --preset paper-v2\n');
    expect(readme).toMatch(/\| fork \| Noise \(latents\) \| nwj \| 2 \|/);
    // a finished README needs --overwrite; the units are reused
    await expect(v2StudyCommand(options(out))).rejects.toThrow(/holds a finished report/);
    const again = await v2StudyCommand(options(out, { overwrite: true }));
    expect(again).toMatchObject({ generated: 0, estimated: 0, reused: 8 });
    // the same folder with other settings: refused before any work, naming the file
    await expect(v2StudyCommand(options(out, { stage: 'estimate', steps: 21 }))).rejects.toThrow(/was made with other settings/);
  });

  it(
    'as job-array stages (2 generate tasks, 3 estimate tasks, a report) gives the units of one run, byte for byte in their estimates',
    { timeout: 900_000 },
    async () => {
      const out = join(dir, 'array');
      for (const j of [0, 1]) await v2StudyCommand(options(out, { stage: 'generate', jobId: j, numJobs: 2 }));
      for (const j of [2, 0, 1]) await v2StudyCommand(options(out, { stage: 'estimate', jobId: j, numJobs: 3 }));
      // a task run twice skips what it finished
      expect(await v2StudyCommand(options(out, { stage: 'estimate', jobId: 1, numJobs: 3 }))).toMatchObject({ estimated: 0, reused: 3 });
      const report = await v2StudyCommand(options(out, { stage: 'report' }));
      expect(existsSync(report.readme!)).toBe(true);
      const single = join(dir, 'all');
      expect(unitFiles(out)).toEqual(unitFiles(single));
      for (const f of unitFiles(out)) {
        const a = JSON.parse(readFileSync(join(out, 'units', f), 'utf8')) as V2UnitResult;
        const b = JSON.parse(readFileSync(join(single, 'units', f), 'utf8')) as V2UnitResult;
        expect([a.estimate, a.truth], f).toEqual([b.estimate, b.truth]);
      }
    },
  );
});
