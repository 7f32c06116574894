/**
 * Realism of what the toolkit writes, per shipped configuration, through the built-in flow
 * model with the registry's recipe: each configuration with whitened latents (the default)
 * and without (`--whiten off`, the reference's input), beside the model's own images from
 * unit noise N(0, I) with the same labels and recipe (the sampling paradigm with
 * cov_images = I, cov_theta = 0, epsilon = 0: exactly unit noise). Scored by fid's offline
 * realism score (a CIFAR-10 classifier shipped in the repository): class consistency with the
 * intended labels and the Fréchet distance of its features to the CIFAR-10 test set, each
 * beside the same for real test images of the same labels and n (the floor).
 *
 *   npx tsx bench/realism.bench.ts [--images 400] [--out ../../output_dir/bench/realism] [--only default,simple_fig1_DAG] [--generate_only | --score_only]
 *
 * `--recipes 0.2,1,2,3[,2:18[:edm]]` also scores the model from unit noise over all ten
 * classes (N_mod = 10, labels 0–9) at each guidance scale w (`w:steps[:grid]` for another
 * step count and time grid of the registry's solver): the measurement that picks the
 * registry's recipe.
 *
 * Shards are generated once (a rerun finds them complete and skips them; `--score_only`
 * scores the shards already in --out without generating) and the table is written to
 * <out>/README.md and printed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readNpz } from '@mmmi/formats';
import { generate } from '../src/generate.js';
import type { Manifest } from '../src/manifest.js';

const repo = resolve(new URL('../../../', import.meta.url).pathname);
const CONFIGS: Record<string, { file: string; nMod: number; labels: string }> = {
  default: { file: 'default.txt', nMod: 2, labels: '[1,6]' },
  simple_fig1_DAG: { file: 'simple_fig1_DAG.txt', nMod: 2, labels: '[1,6]' },
  galaxy_images_curve_DAG: { file: 'galaxy_images_curve_DAG.txt', nMod: 2, labels: '[1,6]' },
  galaxy_rot_curve_0_1_DAG: { file: 'galaxy_rot_curve_0_1_DAG.txt', nMod: 2, labels: '[1,6]' },
  galaxy_rot_curve_1_0_DAG: { file: 'galaxy_rot_curve_1_0_DAG.txt', nMod: 2, labels: '[1,6]' },
  multimodal_decay_DAG: { file: 'multimodal_decay_DAG.txt', nMod: 10, labels: '[1,6,0,2,3,4,5,7,8,9]' },
};

const { values: o } = parseArgs({
  options: {
    images: { type: 'string', default: '400' },
    out: { type: 'string', default: join(repo, 'output_dir', 'bench', 'realism') },
    only: { type: 'string' },
    threads: { type: 'string', default: '0' },
    generate_only: { type: 'boolean', default: false },
    score_only: { type: 'boolean', default: false },
    seed: { type: 'string', default: '0' },
    recipes: { type: 'string' },
  },
});
const out = resolve(o.out);
mkdirSync(out, { recursive: true });
const names = o.only !== undefined ? o.only.split(',').filter(Boolean) : Object.keys(CONFIGS);
const stream = process.stderr;

interface Row {
  config: string;
  input: string;
  shard: string;
  images: number;
  seconds: number;
}

/** One shard per setting; a complete one is skipped by generate itself. */
async function shard(config: string, input: string, tokens: string[], nMod: number): Promise<Row> {
  const draws = Math.ceil(Number(o.images) / nMod);
  const name = `${config}-${input}`;
  if (o.score_only) return { config, input, shard: join(out, `${name}_0.npz`), images: draws * nMod, seconds: NaN };
  const started = Date.now();
  const r = await generate(
    [...tokens, '--dataset_size', String(draws), '--dataset_name', name, '--dataset_loc', out, '--job_id', '0', '--threads', o.threads!, '--preview', '8'],
    { stream },
  );
  return { config, input, shard: r.npzPath, images: draws * nMod, seconds: r.skipped ? NaN : (Date.now() - started) / 1000 };
}

const rows: Row[] = [];
const baselines = new Map<string, Row>();
for (const config of names) {
  const c = CONFIGS[config];
  if (!c) throw new Error(`unknown configuration ${config}: one of ${Object.keys(CONFIGS).join(', ')}`);
  const file = `@${join(repo, 'generation_arguments', c.file)}`;
  const flow = ['--checkpoint_path', 'default'];
  rows.push(await shard(config, 'whitened', [file, ...flow, '--whiten', 'on'], c.nMod));
  rows.push(await shard(config, 'unwhitened', [file, ...flow, '--whiten', 'off'], c.nMod));
  if (!baselines.has(c.labels)) {
    const unit = unitNoise(c.nMod, c.labels);
    baselines.set(c.labels, await shard(`unit-noise-${c.nMod}`, 'unit noise', unit, c.nMod));
  }
}
/** Exactly unit noise N(0, I) for n modalities: the sampling paradigm with cov_images = I, cov_theta = 0, epsilon = 0. */
function unitNoise(nMod: number, labels: string): string[] {
  const identity = JSON.stringify(Array.from({ length: nMod }, (_, i) => Array.from({ length: nMod }, (_, j) => (i === j ? 1 : 0))));
  return [
    '--generation_paradigm',
    'sampling',
    '--N_mod',
    String(nMod),
    '--cov_images',
    identity,
    '--cov_theta',
    JSON.stringify(new Array(nMod).fill(0)),
    '--epsilon',
    '0',
    '--labels',
    labels,
    '--whiten',
    'off',
    '--checkpoint_path',
    'default',
  ];
}
for (const recipe of o.recipes ? o.recipes.split(',') : []) {
  const [w, steps, grid = 'uniform'] = recipe.split(':');
  const overrides = ['--cfg_scale', w, ...(steps ? ['--ode_nfe', steps, '--ode_grid', grid] : [])];
  const name = `recipe-w${w}${steps ? `-${steps}steps` : ''}${grid !== 'uniform' ? `-${grid}` : ''}`;
  rows.push(await shard(name, 'unit-noise', [...unitNoise(10, '[0,1,2,3,4,5,6,7,8,9]'), ...overrides], 10));
}
if (o.generate_only) {
  stream.write(`generated ${rows.length + baselines.size} shards in ${out}\n`);
  process.exit(0);
}

// Scoring: fid's realism score (imported here so that generation alone needs no classifier)
const { realismScore } = await import('@mmmi/fid');
interface Scored extends Row {
  consistency: number;
  fd: number;
  fdMatched: number;
  floorConsistency: number;
  floorFd: number;
  floorFdMatched: number;
  recipe: string;
}
async function score(row: Row): Promise<Scored> {
  const npz = await readNpz(row.shard);
  const X = npz.get('X')!;
  const labels = npz.get('labels')!;
  const manifest = JSON.parse(readFileSync(row.shard.replace(/\.npz$/, '.manifest.json'), 'utf8')) as Manifest;
  const flow = manifest.map.flow as { ode_method: string; time_grid: unknown[]; cfg_scale: number };
  const [n, nMod] = X.shape;
  const r = await realismScore(X.data as Float32Array, Int32Array.from(labels.data as Int32Array), { seed: Number(o.seed) });
  return {
    ...row,
    images: n * nMod,
    consistency: r.consistency,
    fd: r.fdCls ?? NaN,
    fdMatched: r.fdClassMatched ?? NaN,
    floorConsistency: r.floor.consistency.mean,
    floorFd: r.floor.fdCls?.mean ?? NaN,
    floorFdMatched: r.floor.fdClassMatched?.mean ?? NaN,
    recipe: `${flow.ode_method}, ${flow.time_grid.length - 1} steps, w = ${flow.cfg_scale}`,
  };
}
const scored: Scored[] = [];
for (const row of [...baselines.values(), ...rows]) scored.push(await score(row));
const f = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
const unitOf = (s: Scored) => scored.find((u) => u.input === 'unit noise' && u.config === `unit-noise-${CONFIGS[s.config]?.nMod ?? 0}`);
// a proportion's standard error √(p(1−p)/n), for the difference to the unit-noise row
const se = (s: Scored) => Math.sqrt((s.consistency * (1 - s.consistency)) / s.images);
const lines = [
  '| configuration | latents fed to the flow | recipe | images | class consistency | Δ to unit noise (± 2 SE) | FD-cls | class-matched FD | real floor: consistency / FD-cls / class-matched FD |',
  '|---|---|---|---|---|---|---|---|---|',
  ...scored.map((s) => {
    const unit = s.input === 'unit noise' ? undefined : unitOf(s);
    const delta = unit
      ? `${(s.consistency - unit.consistency >= 0 ? '+' : '') + f(s.consistency - unit.consistency)} (± ${f(2 * Math.hypot(se(s), se(unit)))})`
      : '';
    return `| ${s.config} | ${s.input} | ${s.recipe} | ${s.images} | ${f(s.consistency)} | ${delta} | ${f(s.fd, 1)} | ${f(s.fdMatched, 1)} | ${f(s.floorConsistency)} / ${f(s.floorFd, 1)} / ${f(s.floorFdMatched, 1)} |`;
  }),
];
const text = `# Realism of the shipped configurations\n\nThe built-in flow model with the recipe of each row, affine scaling (clamped for scoring), scored by \`@mmmi/fid\`'s realism score (a CIFAR-10 classifier, 76.8 % test accuracy; the floor: real CIFAR-10 test images of the same labels and n, mean of 5 redraws); \`npx tsx bench/realism.bench.ts ${process.argv.slice(2).join(' ')}\` (${new Date().toISOString().slice(0, 10)}).\n\n${lines.join('\n')}\n`;
writeFileSync(join(out, 'README.md'), text);
process.stdout.write(text);
