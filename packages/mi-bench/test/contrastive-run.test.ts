/**
 * `mmmi-bench contrastive` end to end at toy size (d = 16, MLP encoders, a few epochs): on a
 * given dataset and on a designed grid (generated here, identity map), rows and report files
 * exist, the learned similarity correlates positively with the exact PMI where the MI is large,
 * and the probe's R² stays under the Bayes bound (up to 4 of its standard errors); a rerun
 * reuses finished points; bad input is refused, exit 2, before any dataset is generated.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { contrastiveCommand, type ContrastiveCommand } from '../src/contrastive/command.js';
import { parseTargets } from '../src/contrastive/grid.js';
import { parseViews } from '../src/contrastive/views.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('mi-bench-contrastive-');
let folder: string;

beforeAll(async () => {
  folder = await tinyDataset(join(dir, 'data'), { size: 1500, modDim: 16, transform: 'tanh' });
});

const SETTINGS: ContrastiveCommand['settings'] = {
  encoder: 'mlp',
  features: 'pixels',
  n: 1000,
  test: 400,
  seeds: 1,
  epochs: 12,
  batchSize: 64,
  learningRate: 3e-3,
  temperature: 0.5,
  patience: 3,
  representation: 16,
  projection: 16,
  hidden: 32,
  layers: 1,
  channels: [4],
  backend: 'cpu',
};

const command = (o: Partial<ContrastiveCommand>): ContrastiveCommand => ({
  data: [],
  map: 'identity',
  draws: 1400,
  views: 'X1,X2',
  settings: SETTINGS,
  out: join(dir, 'out'),
  overwrite: false,
  command: 'mmmi-bench contrastive (test)',
  stream: null,
  ...o,
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n'), progressStream: null });
  return { code, out, err };
}

describe('contrastive', () => {
  it('on a given dataset: the similarity follows the exact PMI, the probe stays under the Bayes bound', async () => {
    const out = join(dir, 'given');
    const r = await contrastiveCommand(command({ data: [folder], out }));
    expect(r.pmi).toHaveLength(1);
    expect(r.probe.map((p) => p.subset)).toEqual(['X_1', 'X_2', '(X_1, X_2)']);
    const p = r.pmi[0];
    // Fig. 1a at d = 16: I(X_1; X_2) ≈ 1.7 nats, well above what a few hundred draws resolve
    expect(p.pairMi).toBeGreaterThan(1);
    expect(Math.abs(p.meanPmi - p.pairMi)).toBeLessThan(0.5);
    for (const v of [p.pearsonCosine, p.spearmanCosine, p.pearsonNormalised, p.spearmanNormalised]) expect(Number.isFinite(v)).toBe(true);
    expect(p.spearmanCosine).toBeGreaterThan(0.3);
    expect(p.infonce).toBeLessThanOrEqual(Math.log(400) + 1e-9);
    for (const q of r.probe) {
      expect(q.bayesR2).toBeCloseTo(1 - Math.exp(-2 * q.miTheta), 12);
      expect(q.r2).toBeLessThan(q.bayesR2 + 4 * q.r2StandardError + 1e-9);
    }
    // the representation of the two views together keeps most of what θ shares with them
    expect(r.probe[2].r2).toBeGreaterThan(0.5);
    for (const f of [
      'README.md',
      'pmi.csv',
      'probe.csv',
      'contrastive.json',
      'contrastive.md',
      'contrastive.log',
      'correlation_vs_mi.png',
      'probe_r2_vs_mi.png',
      'probe_r2_along_grid.png',
      'similarity_vs_pmi.png',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('mmmi-bench contrastive (test)');
    expect(readFileSync(join(out, 'contrastive.log'), 'utf8')).toMatch(/epoch \{"epoch":1,/);
    // a finished report is not replaced without --overwrite
    await expect(contrastiveCommand(command({ data: [folder], out }))).rejects.toThrow(/holds a finished report/);
  });

  it('along a designed grid: generates each point, and a rerun reuses the finished ones', async () => {
    const out = join(dir, 'grid');
    const first = await contrastiveCommand(command({ targets: 'I(X1;X2)=0.1,2', modDim: 16, out }));
    expect(first.computed).toEqual(['I(X_1; X_2) = 0.1', 'I(X_1; X_2) = 2']);
    expect(first.pmi.map((r) => r.gridMi)).toEqual([expect.closeTo(0.1, 8), expect.closeTo(2, 8)]);
    // each dataset's own I(X_1; X_2) is the grid value, and its exact PMI averages to it
    for (const r of first.pmi) {
      expect(r.pairMi).toBeCloseTo(r.gridMi, 8);
      expect(Math.abs(r.meanPmi - r.pairMi)).toBeLessThan(0.3);
    }
    expect(first.pmi[1].spearmanCosine).toBeGreaterThan(0.3);
    expect(readdirSync(join(out, 'datasets')).sort()).toEqual(['mi-0.1', 'mi-2']);
    // a killed run: the README and the last point's result are gone; a third value is asked for
    rmSync(join(out, 'README.md'));
    rmSync(join(out, 'points', 'mi-2', 'result.json'));
    const again = await contrastiveCommand(command({ targets: 'I(X1;X2)=0.1,2,1', modDim: 16, out }));
    expect(again.reused).toEqual(['I(X_1; X_2) = 0.1']);
    expect(again.computed).toEqual(['I(X_1; X_2) = 2', 'I(X_1; X_2) = 1']);
    expect(again.pmi[0]).toEqual(first.pmi[0]);
    expect(readFileSync(join(out, 'contrastive.log'), 'utf8')).toContain('I(X_1; X_2) = 0.1: finished by an earlier run, reused');
    // other training options are another result: nothing is reused
    const other = await contrastiveCommand(command({ targets: 'I(X1;X2)=0.1', modDim: 16, out, overwrite: true, settings: { ...SETTINGS, epochs: 2 } }));
    expect(other.reused).toEqual([]);
  });

  it('contrasts three views with the sum of pairwise InfoNCE, a row per pair', async () => {
    const base = join(dir, 'three.txt');
    writeFileSync(
      base,
      [
        '--generation_paradigm constructive',
        '--N_mod 3',
        '--N_u 3',
        '--rho_arg [0.5,0.5,0.5]',
        '--DAG_ul [[1,0,0],[0,1,0],[0,0,1]]',
        '--N_u_theta 1',
        '--eta_arg [1.0]',
        '--rho_theta_arg [0.3]',
        '--DAG_theta [[1],[1],[1]]',
        '--T_vectors_method ones',
        '--batch_size 500',
        '--labels [1,6,3]',
      ].join('\n'),
    );
    const r = await contrastiveCommand(
      command({
        targets: 'I(X1;X2)=1.5',
        base,
        vary: 'rho_theta_arg',
        modDim: 16,
        views: 'X1..X3',
        out: join(dir, 'three'),
        settings: { ...SETTINGS, epochs: 4 },
      }),
    );
    expect(r.pmi.map((p) => p.pair)).toEqual(['I(X_1; X_2)', 'I(X_1; X_3)', 'I(X_2; X_3)']);
    expect(r.probe.map((p) => p.subset)).toEqual(['X_1', 'X_2', 'X_3', '(X_1, X_2, X_3)']);
    for (const p of r.pmi) expect(Number.isFinite(p.pearsonCosine)).toBe(true);
    // the three modalities are exchangeable here: every pair's MI is the designed 1.5 nats
    for (const p of r.pmi) expect(p.pairMi).toBeCloseTo(1.5, 8);
  });

  it('trains the CNN encoder on 3×32×32 images (auto)', async () => {
    const images = await tinyDataset(join(dir, 'images'), { size: 300, modDim: 3072, transform: 'tanh' });
    const settings = { ...SETTINGS, encoder: 'auto' as const, n: 200, test: 60, batchSize: 32, epochs: 2, channels: [4], hidden: 16 };
    const r = await contrastiveCommand(command({ data: [images], out: join(dir, 'cnn'), settings }));
    expect(r.pmi[0].encoder).toBe('cnn');
    expect(Number.isFinite(r.pmi[0].pearsonCosine)).toBe(true);
    expect(r.probe.every((q) => Number.isFinite(q.r2))).toBe(true);
    expect(readFileSync(join(dir, 'cnn', 'contrastive.log'), 'utf8')).toMatch(/cnn 3×32×32/);
  });

  it('parses views and targets, refusing what cannot be run', () => {
    expect(parseViews('X1,X3', 3)).toEqual([0, 2]);
    expect(parseViews('X_1..X_3')).toEqual([0, 1, 2]);
    expect(() => parseViews('X1')).toThrow(/at least two views/);
    expect(() => parseViews('X1,X1')).toThrow(/named twice/);
    expect(() => parseViews('X1,X5', 2)).toThrow(/2 modalities .* there is no X5/);
    expect(() => parseViews('X1,Y2')).toThrow(/cannot read "Y2"/);
    expect(parseTargets('I(X1;X2)=0.5,1,2,4', 2).values).toEqual([0.5, 1, 2, 4]);
    expect(parseTargets('X1;X2=1..2:3', 2)).toMatchObject({ label: 'I(X_1; X_2)', values: [1, 1.5, 2] });
    expect(() => parseTargets('I(X1;X2)=0.5,x', 2)).toThrow(/numbers separated by commas/);
    expect(() => parseTargets('I(X1;X2)=1,1', 2)).toThrow(/asked for twice/);
  });

  it('refuses bad input from the command line, exit 2, before any dataset is generated', async () => {
    const out = join(dir, 'refused');
    const base = ['contrastive', '--out', out, '--n', '200', '--test', '50', '--epochs', '1', '--batch', '16', '--backend', 'cpu'];
    const refuse = async (argv: string[], message: RegExp) => {
      const r = await cli([...base, ...argv]);
      expect(r.code, r.out).toBe(2);
      expect(r.err).toMatch(message);
    };
    await refuse(['--data', folder, '--views', 'X1,X3'], /has 2 modalities .*there is no X3/);
    await refuse(['--data', folder, '--views', 'X1'], /at least two views/);
    await refuse(['--data', folder, '--encoder', 'cnn'], /3×32×32 images .* use --encoder mlp/);
    await refuse(['--data', folder, '--n', '1400', '--test', '200'], /need 1600 draws; .* has 1500/);
    await refuse(['--targets', 'I(X1;X2)=-1', '--mod_dim', '16'], /I\(X_1; X_2\) = -1 cannot be reached/);
    await refuse(['--targets', 'I(X1;X2|θ)=1', '--mod_dim', '16'], /cannot be reached/);
    await refuse(['--targets', 'I(X1;X3)=1', '--mod_dim', '16'], /outside X1…X2/);
    await refuse(['--targets', 'I(X1;X2)=1', '--map', 'sine'], /--map sine: expected one of identity/);
    await refuse(['--targets', 'I(X1;X2)=1', '--data', folder], /either existing datasets .* or a grid/);
    await refuse([], /name the grid/);
    await refuse(['--data', folder, '--map', 'tanh'], /--map describes the datasets --targets designs/);
    await refuse(['--targets', 'I(X1;X2)=1', '--base', join(dir, 'missing.txt')], /no such argument file/);
    expect(existsSync(join(out, 'datasets'))).toBe(false);
    // a finished report in --out is refused before the design runs
    await refuse(['--data', folder, '--out', join(dir, 'given')], /holds a finished report \(README\.md\)/);
  });
});
