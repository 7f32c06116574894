import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeImageRgb } from '@mmmi/formats';
import { latentModelFromTokens, miTable } from '@mmmi/latents';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { writeDag } from '../src/figures/dag.js';
import { writeFig6 } from '../src/figures/fig6.js';
import { svgSize } from '../src/figures/plot.js';
import { writeRadii } from '../src/figures/radii.js';
import { writeSampleGrid } from '../src/figures/samples.js';
import { parseSweep, sweepTable, writeMiTable } from '../src/figures/tables.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const ARGS = (n: string) => `@${join(ROOT, 'generation_arguments', `${n}.txt`)}`;
const out = mkdtempSync(join(tmpdir(), 'mmmi-figures-'));

/** The file is an SVG and a PNG of the same picture at 2× (decoded, RGB). */
function checkFigure(f: { svg: string; png: string; width: number; height: number }) {
  const svg = readFileSync(f.svg, 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const { width, height } = svgSize(svg);
  const png = decodeImageRgb(readFileSync(f.png), f.png);
  expect([png.width, png.height]).toEqual([Math.round(2 * width), Math.round(2 * height)]);
  expect([f.width, f.height]).toEqual([png.width, png.height]);
  // Text rendered: not a blank image (some dark pixels, as glyphs and lines draw).
  let dark = 0;
  for (let t = 0; t < png.data.length; t += 3) if (png.data[t] + png.data[t + 1] + png.data[t + 2] < 200) dark++;
  expect(dark).toBeGreaterThan(500);
  return svg;
}

describe('Fig. 6', () => {
  it('has the exact MI of every (α, β) at d = 3072, equal to the MI table', async () => {
    const r = await writeFig6(out);
    expect(r.rows).toHaveLength(90);
    for (const [alpha, beta] of [
      [1.2, 1.2],
      [1.4, 1.6],
      [1.6, 1.4],
    ]) {
      const { structure } = await latentModelFromTokens([ARGS('multimodal_decay_DAG'), '--alpha', String(alpha), '--beta', String(beta)]);
      expect(structure.modDim).toBe(3072);
      const t = miTable(structure);
      const rows = r.rows.filter((x) => x.alpha === alpha && x.beta === beta);
      for (let i = 1; i <= 10; i++) {
        expect(rows[i - 1].I_theta_Xi).toBeCloseTo(t.values[t.labels.indexOf(`I(X_${i}; θ)`)], 10);
        if (i > 1) expect(rows[i - 1].I_X1_Xi).toBeCloseTo(t.values[t.labels.indexOf(`I(X_1; X_${i})`)], 8);
      }
    }
    // The published curves: I(θ; X_1) ≈ 3.44 / 3.66 / 3.77 for α = 1.2 / 1.4 / 1.6, I(X_1; X_2) ≈ 5730 at α = 1.2.
    const at = (a: number, b: number, i: number) => r.rows.find((x) => x.alpha === a && x.beta === b && x.i === i)!;
    expect(at(1.2, 1.2, 1).I_theta_Xi).toBeCloseTo(3.436, 2);
    expect(at(1.6, 1.6, 1).I_theta_Xi).toBeCloseTo(3.768, 2);
    expect(at(1.2, 1.2, 2).I_X1_Xi).toBeCloseTo(5731.37, 1);
    expect(at(1.2, 1.2, 10).I_theta_Xi).toBeCloseTo(1.808, 2);
    const svgs = r.figures.map(checkFigure);
    expect(svgs[0]).toContain('α = 1.6,  β = 1.6');
    const csv = readFileSync(r.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('alpha,beta,i,I_theta_Xi,I_X1_Xi');
    expect(csv).toHaveLength(91);
    expect(Number(csv[2].split(',')[4])).toBe(at(1.2, 1.2, 2).I_X1_Xi);
  });
});

describe('DAG, radii, samples, MI table', () => {
  it('draws the Fig. 1a DAG with the coefficients of the specification', async () => {
    const r = await writeDag(out, [ARGS('simple_fig1_DAG')]);
    const coef = Object.fromEntries(r.data.edges.map((e) => [`${e.from}->${e.to}`, e.coefficient]));
    expect(coef).toEqual({ 'u_theta1->theta': 1, 'u_theta1->X1': 0.3, 'u1->X1': 0.1, 'u2->X1': 0, 'u_theta1->X2': 0.3, 'u1->X2': 0, 'u2->X2': 0.2 });
    checkFigure(r.figure);
    expect(readFileSync(r.csv, 'utf8')).toContain('u2,X2,local,0.2');
    const big = await writeDag(out, [ARGS('multimodal_decay_DAG'), '--alpha', '1.4']);
    expect(big.data.edges.find((e) => e.from === 'u1' && e.to === 'X3')!.coefficient).toBeCloseTo(1.4 ** -2, 14);
    expect(big.data.edges.find((e) => e.from === 'u_theta1' && e.to === 'X3')!.coefficient).toBeCloseTo(1.2 ** -2, 14);
    checkFigure(big.figure);
  });

  it('radii: after alignment the exact percentiles coincide and the draws agree', async () => {
    const r = await writeRadii(out, [ARGS('galaxy_rot_curve_0_1_DAG')], { draws: 1000 });
    expect(r.data.aligned).toBe(true);
    expect(r.data.percentile).toBe(0.95);
    expect(r.data.exact.latents).toBeCloseTo(r.data.exact.gaussian, 6);
    expect(Math.abs(r.data.empirical.gaussian / r.data.exact.gaussian - 1)).toBeLessThan(0.01);
    expect(Math.abs(r.data.empirical.latents / r.data.exact.latents - 1)).toBeLessThan(0.01);
    const counts = r.data.bins.filter((b) => b.distribution === 'latents').reduce((s, b) => s + b.count, 0);
    expect(counts).toBe(1000);
    checkFigure(r.figure);
    const json = JSON.parse(readFileSync(r.json, 'utf8'));
    expect(json.exact.gaussian).toBe(r.data.exact.gaussian);
  });

  it('sample grid of a model-free shard (when asked), galaxy templates beside the samples; by default through the flow model', async () => {
    const r = await writeSampleGrid(out, [ARGS('galaxy_rot_curve_0_1_DAG')], { samples: 4, modelFree: true });
    expect(r.data).toMatchObject({ nMod: 2, samples: 4, templates: 2 });
    const svg = checkFigure(r.figure);
    expect(svg.match(/<image /g)).toHaveLength(2 * (4 + 2));
    expect(svg).toContain('model-free samples');
    const plain = await writeSampleGrid(out, [ARGS('simple_fig1_DAG')], { samples: 8 });
    expect(plain.data.templates).toBe(0);
    expect(readFileSync(plain.figure.svg, 'utf8').match(/<image /g)).toHaveLength(16);
    // the default: whitened latents through the registry's default flow model (the built-in cifar10-small) with its recipe, which the caption names
    expect(plain.data.caption).toMatch(
      /^flow-map samples: whitened latents → flow model cifar10-small \((onnx|tfjs), guidance \d+(\.\d+)?\) → affine scaling$/,
    );
    expect(readFileSync(plain.figure.svg, 'utf8')).toContain('flow-map samples');
  });

  it('MI table as Markdown and CSV equals miTable', async () => {
    const r = await writeMiTable(out, [ARGS('simple_fig1_DAG')]);
    const { structure } = await latentModelFromTokens([ARGS('simple_fig1_DAG')]);
    const t = miTable(structure);
    const csv = readFileSync(r.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('quantity,nats');
    expect(csv.slice(1).map((l) => Number(l.slice(l.lastIndexOf(',') + 1)))).toEqual(t.values);
    expect(readFileSync(r.markdown, 'utf8')).toContain('| I(X_1; θ) |');
  });
});

describe('sweep', () => {
  it('parses sweep axes, brackets included', () => {
    expect(parseSweep('alpha=1.2,1.4')).toEqual({ flag: 'alpha', values: ['1.2', '1.4'] });
    expect(parseSweep('--rho_arg=[1,2],[2,1]')).toEqual({ flag: 'rho_arg', values: ['[1,2]', '[2,1]'] });
    expect(() => parseSweep('alpha')).toThrow(/FLAG=V1,V2/);
  });

  it('tabulates a query over the grid, equal to the models built one by one', async () => {
    const t = await sweepTable([ARGS('multimodal_decay_DAG')], [parseSweep('alpha=1.2,1.4,1.6'), parseSweep('beta=1.2,1.4')], ['X1;theta', 'X2;X3|theta']);
    expect(t.columns).toEqual(['alpha', 'beta', 'I(X1;theta)', 'I(X2;X3|theta)']);
    expect(t.rows.map((r) => [r.alpha, r.beta])).toEqual([
      [1.2, 1.2],
      [1.2, 1.4],
      [1.4, 1.2],
      [1.4, 1.4],
      [1.6, 1.2],
      [1.6, 1.4],
    ]);
    const { structure } = await latentModelFromTokens([ARGS('multimodal_decay_DAG'), '--alpha', '1.4', '--beta', '1.4']);
    expect(t.rows[3]['I(X1;theta)']).toBe(miTable(structure).values[0]);
  });

  it('CLI: mmmi-generate sweep prints Markdown and writes CSV; figures --only tables', async () => {
    const lines: string[] = [];
    const csvPath = join(out, 'sweep.csv');
    const code = await main(
      ['sweep', ARGS('multimodal_decay_DAG'), '--sweep', 'alpha=1.2,1.4,1.6', '--sweep', 'beta=1.2,1.4', '--query', 'X1;theta', '--out', csvPath],
      { out: (s) => lines.push(s) },
    );
    expect(code).toBe(0);
    expect(lines[0].split('\n')[0]).toBe('| alpha | beta | I(X1;theta) |');
    const csv = readFileSync(csvPath, 'utf8').trim().split('\n');
    expect(csv).toHaveLength(7);
    expect(csv[1]).toMatch(/^1\.2,1\.2,3\.4359638596/);
    const figLines: string[] = [];
    expect(
      await main(['figures', '--out', join(out, 'cli'), '--only', 'tables,dag', ARGS('simple_fig1_DAG'), '--alpha', '1.0'], { out: (s) => figLines.push(s) }),
    ).toBe(0);
    expect(figLines.map((l) => l.replace(/^.*[\\/]/, ''))).toEqual([
      'dag_simple_fig1_DAG.svg',
      'dag_simple_fig1_DAG.png',
      'dag_simple_fig1_DAG.csv',
      'dag_simple_fig1_DAG.json',
      'mi_simple_fig1_DAG.md',
      'mi_simple_fig1_DAG.csv',
      'mi_simple_fig1_DAG.json',
    ]);
    // a rerun refreshes its own folder; a folder of other files, or an existing sweep --out, is not written into unasked
    expect(await main(['figures', '--out', join(out, 'cli'), '--only', 'tables', ARGS('simple_fig1_DAG')], { out: () => {} })).toBe(0);
    const foreign = join(out, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'mi_simple_fig1_DAG.md'), 'my notes');
    const refusals: string[] = [];
    expect(await main(['figures', '--out', foreign, '--only', 'tables', ARGS('simple_fig1_DAG')], { out: () => {}, err: (s) => refusals.push(s) })).toBe(2);
    expect(refusals[0]).toMatch(
      /--out .*foreign: holds 1 files that figures did not write \(mi_simple_fig1_DAG\.md\); pass --overwrite to replace it, or choose another --out/,
    );
    expect(readFileSync(join(foreign, 'mi_simple_fig1_DAG.md'), 'utf8')).toBe('my notes');
    expect(await main(['sweep', ARGS('multimodal_decay_DAG'), '--sweep', 'alpha=1.2', '--out', csvPath], { out: () => {}, err: (s) => refusals.push(s) })).toBe(
      2,
    );
    expect(refusals[1]).toMatch(/--out .*sweep\.csv: exists \(a file of \d+ bytes\) and this run did not make it; pass --overwrite/);
    expect(readFileSync(csvPath, 'utf8').trim().split('\n')).toHaveLength(7);
    expect(await main(['sweep', ARGS('multimodal_decay_DAG'), '--sweep', 'alpha=1.2', '--out', csvPath, '--overwrite'], { out: () => {} })).toBe(0);
    expect(readFileSync(csvPath, 'utf8').trim().split('\n')).toHaveLength(2);
    const errs: string[] = [];
    expect(await main(['figures', '--only', 'nope'], { out: () => {}, err: (s) => errs.push(s) })).toBe(2);
    expect(errs[0]).toMatch(/unknown figure/);
  });
});
