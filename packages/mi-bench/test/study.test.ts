/**
 * The study end to end at a toy size (d = 16, 400 draws, one map, every step): it generates
 * its dataset, runs estimate (classical and variational), regress and pmi into their folders,
 * gathers them in README.md with each command, and a rerun reuses every finished step.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { studyCommand } from '../src/study/command.js';
import { fig6Pairs, planStudy, studyDrawNotes, studySubsets, type StudyOptions } from '../src/study/plan.js';

const dir = tempDir('mi-bench-study-');
const quiet = { stream: null, say: () => {} };

const options = (out: string): StudyOptions & { command: string; overwrite: boolean } => ({
  out,
  maps: ['tanh'],
  alpha: 1.2,
  beta: 1.2,
  draws: 400,
  flowDraws: 40,
  sizes: [100, 5000],
  seeds: 1,
  features: ['pca2'],
  estimators: ['gaussian', 'ksg2'],
  variational: ['infonce'],
  steps: 30,
  models: ['ridge'],
  threads: 1,
  modDim: 16,
  command: 'mmmi-bench study (test)',
  overwrite: false,
  ...quiet,
});

describe('study', () => {
  it("names Fig. 6's pairs and subsets", () => {
    expect(fig6Pairs(3)).toEqual(['θ;X1', 'θ;X2', 'θ;X3', 'X1;X2', 'X1;X3']);
    expect(studySubsets(3)).toEqual(['X1', 'X2', 'X3', 'X1..X3']);
  });

  it('keeps the sizes each map can afford, refusing a plan with none', () => {
    const plans = planStudy({ ...options(dir), maps: ['identity', 'flow'], draws: 3000, flowDraws: 500, sizes: [250, 2000] });
    expect(plans.map((p) => p.sizes)).toEqual([[250, 2000], [250]]);
    expect(plans[1].tokens).toContain('--checkpoint_path');
    expect(() => planStudy({ ...options(dir), sizes: [5000] })).toThrow(/lower --n or raise the draws/);
    expect(() => planStudy({ ...options(dir), maps: ['sine' as never] })).toThrow(/unknown map sine/);
  });

  it('notes, per map and step, where the seeds of estimate and regress share draws', () => {
    const [tanh] = planStudy({ ...options(dir), draws: 3000, sizes: [250, 2000] });
    const notes = studyDrawNotes(tanh, 2);
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(
      /^note: tanh estimate: the seeds share draws: 2 independent seeds need 2 × \(2000 \+ 1000 PCA fit draws\) = 6000 draws and the tanh dataset has 3000/,
    );
    expect(notes[1]).toMatch(/^note: tanh regress: the seeds share draws: 2 independent seeds need 2 × \(2000 \+ 1000 test draws\) = 6000 draws/);
    expect(notes[2]).toMatch(/^note: tanh regress: at n = 2000 every seed reads all 3000 draws, only split differently/);
    expect(studyDrawNotes(tanh, 1)).toEqual([]);
  });

  it('runs every step into its folder and gathers them; a rerun reuses them all', async () => {
    const out = join(dir, 'study');
    const first = await studyCommand(options(out));
    expect(first.steps.map((s) => s.step)).toEqual(['generate', 'estimate', 'estimate (variational)', 'regress', 'pmi']);
    expect(first.steps.every((s) => !s.reused)).toBe(true);
    for (const f of [
      'tanh/estimate/estimates.csv',
      'tanh/estimate-variational/estimates.csv',
      'tanh/regress/regressions.csv',
      'tanh/pmi/pmi.csv',
      'all-maps/estimate/estimate_vs_truth.png',
      'all-maps/regress/r2_vs_mi.png',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const readme = readFileSync(first.readme, 'utf8');
    expect(readme).toContain('mmmi-bench estimate --data');
    expect(readme).toContain('I(θ; X_10)');
    expect(readme).toContain('I(X_1; X_10)');
    // one seed: nothing shared
    expect(readme).toContain('Every seed of every step read its own draws');
    const rows = readFileSync(join(out, 'tanh/estimate/estimates.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(1 + 19 * 2);
    // a finished study is refused without --overwrite; with it, every step is reused
    await expect(studyCommand(options(out))).rejects.toThrow(/holds a finished report/);
    const again = await studyCommand({ ...options(out), overwrite: true });
    expect(again.steps.every((s) => s.reused)).toBe(true);
  });
});
