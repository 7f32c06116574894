/**
 * The one rule of what a checkpoint samples with (src/sampling-plan.ts), on the PyTorch
 * fixtures: tiny_ema_unflagged.pth is EMA-wrapped with `use_ema` off in its pickled args;
 * a copy with an args.json beside it that sets `use_ema` (and other solver settings) must
 * sample with the EMA weights and those settings in every caller: the plan itself (and with
 * dataset generation's convention), `mmmi-train sample`, `export` (safetensors and ONNX) and
 * `train --init_from`. The copy without args.json samples with the live weights.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePng } from '@mmmi/formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointFile, sha256Hex } from '../src/checkpoint.js';
import { main } from '../src/cli.js';
import { loadModel, registerModel, type RegistryEntry } from '../src/registry.js';
import { samplingPlan, sameArchitecture, weightsToSampleWith } from '../src/sampling-plan.js';
import { edmGrid, referenceGenerationGrid, uniformGrid } from '../src/time-grid.js';
import { unetConfig } from '../src/unet/config.js';
import type { ParamValues } from '../src/unet/params.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/torch-unet/', import.meta.url));
const tiny = unetConfig('tiny');
/** The trainer's args.json: use_ema on, and a solver other than the pickled args' heun2 / 50 steps / cfg 0.2 (the EDM grid as there, so that equal flags give equal grids). */
const ARGS_JSON = { use_ema: true, ode_method: 'euler', ode_options: { nfe: 3 }, cfg_scale: 0.5, edm_schedule: true, dataset: 'cifar10' };

let dir: string;
let registry: string;
let emaValues: ParamValues;
let liveValues: ParamValues;

/** Registers `file` (copied into its own folder, with `argsJson` beside it when given) as `name`, configuration tiny; `entry` adds to its registry entry. */
async function register(name: string, fixture: string, argsJson?: object, entry: Partial<RegistryEntry> = {}): Promise<string> {
  const folder = join(dir, name);
  mkdirSync(folder);
  const file = join(folder, 'checkpoint.pth');
  copyFileSync(join(FIXTURES, fixture), file);
  if (argsJson) writeFileSync(join(folder, 'args.json'), JSON.stringify(argsJson));
  const bytes = readFileSync(file);
  await registerModel(registry, name, {
    file,
    sha256: sha256Hex(bytes),
    bytes: bytes.length,
    config: 'tiny',
    parameters: 301_603,
    created: new Date().toISOString(),
    ...entry,
  });
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mmmi-plan-'));
  registry = join(dir, 'registry');
  await register('flagged', 'tiny_ema_unflagged.pth', ARGS_JSON);
  await register('unflagged', 'tiny_ema_unflagged.pth');
  await register('ema-pickled', 'tiny_ema_checkpoint.pth');
  await register('live', 'tiny_checkpoint.pth');
  const pickled = await readCheckpointFile(join(FIXTURES, 'tiny_ema_checkpoint.pth'), undefined, tiny);
  expect(pickled.meta.weights).toBe('ema');
  emaValues = pickled.weights;
  liveValues = (await readCheckpointFile(join(FIXTURES, 'tiny_checkpoint.pth'), undefined, tiny)).weights;
});

const same = (a: ParamValues, b: ParamValues) => [...a].every(([k, v]) => v.every((x, i) => x === b.get(k)![i]));

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('samplingPlan', () => {
  it('args.json beside a .pth chooses the EMA weights and the solver settings', async () => {
    const ckpt = await loadModel('flagged', { registry });
    expect(ckpt.meta.weights).toBe('live');
    expect(ckpt.ema).toBeDefined();
    const plan = samplingPlan(ckpt);
    expect(plan.weightsKind).toBe('ema');
    expect(same(plan.weights, emaValues)).toBe(true);
    expect(plan.argsSource).toBe(join(dir, 'flagged', 'args.json'));
    expect(plan.settings).toEqual({ odeMethod: 'euler', odeOptions: { nfe: 3 }, cfgScale: 0.5, edmSchedule: true });
    expect(plan.timeGrid).toEqual(edmGrid(3));
    // dataset generation: the reference generation grid for PyTorch checkpoints, the same weights
    const gen = samplingPlan(ckpt, { generation: true });
    expect(gen.weightsKind).toBe('ema');
    expect(gen.timeGrid).toEqual(referenceGenerationGrid());
    // overrides come last; nfe gives a uniform grid for generation, the settings' kind otherwise
    expect(samplingPlan(ckpt, { generation: true, overrides: { nfe: 4, cfgScale: 0 } })).toMatchObject({ timeGrid: uniformGrid(4), settings: { cfgScale: 0 } });
    expect(samplingPlan(ckpt, { overrides: { odeMethod: 'dopri5' } }).timeGrid).toEqual([0, 1]);
  });

  it('without args.json the pickled args rule: live weights here, EMA where they set use_ema', async () => {
    const unflagged = await loadModel('unflagged', { registry });
    expect(samplingPlan(unflagged)).toMatchObject({
      weightsKind: 'live',
      argsSource: 'the checkpoint',
      settings: { odeMethod: 'heun2', odeOptions: { nfe: 50 }, cfgScale: 0.2, edmSchedule: true },
    });
    expect(same(weightsToSampleWith(unflagged).values, liveValues)).toBe(true);
    expect(weightsToSampleWith(await loadModel('ema-pickled', { registry })).kind).toBe('ema');
  });

  it('a malformed args.json is an error naming it', async () => {
    const ckpt = await loadModel('unflagged', { registry });
    ckpt.file = join(dir, 'broken', 'checkpoint.pth');
    await register('broken', 'tiny_ema_unflagged.pth');
    writeFileSync(join(dir, 'broken', 'args.json'), '{ not json');
    expect(() => samplingPlan(ckpt)).toThrow(/broken\/args.json: not valid JSON/);
  });

  it("a registry entry's measured recipe replaces the checkpoint's settings, and the caller's flags win over it", async () => {
    const file = await register('recipe', 'tiny_checkpoint.pth', undefined, {
      sampling: { ode_method: 'midpoint', nfe: 4, grid: 'uniform', cfg_scale: 2, measured: 'test' },
    });
    const ckpt = await loadModel('recipe', { registry });
    const plan = samplingPlan(ckpt);
    expect(plan.settings).toMatchObject({ odeMethod: 'midpoint', cfgScale: 2 });
    expect(plan.timeGrid).toEqual(uniformGrid(4));
    const flagged = samplingPlan(ckpt, { overrides: { cfgScale: 0.5, odeMethod: 'euler' } });
    expect(flagged.settings).toMatchObject({ odeMethod: 'euler', cfgScale: 0.5 });
    expect(flagged.timeGrid).toEqual(uniformGrid(4));
    // the same file outside a registry samples with its own settings
    const plain = samplingPlan(await readCheckpointFile(file, undefined, tiny));
    expect(plain.settings.cfgScale).not.toBe(2);
  });

  it('sameArchitecture ignores the name only', () => {
    expect(sameArchitecture(tiny, { ...tiny, name: 'other' })).toBe(true);
    expect(sameArchitecture(tiny, { ...tiny, numHeads: 2 })).toBe(false);
  });
});

describe('every caller follows it', () => {
  it('mmmi-train sample: the EMA weights and args.json settings, the same images as the EMA checkpoint', async () => {
    const sample = async (name: string) => {
      const png = join(dir, `${name}.png`);
      const r = await cli([
        'sample',
        '--checkpoint',
        name,
        '--registry',
        registry,
        '--n',
        '2',
        '--engine',
        'tfjs',
        '--backend',
        'cpu',
        '--ode_method',
        'euler',
        '--nfe',
        '2',
        '--cfg_scale',
        '0.5',
        '--out',
        png,
      ]);
      expect(r.code, r.err).toBe(0);
      return { err: r.err, bytes: readFileSync(png) };
    };
    const flagged = await sample('flagged');
    expect(flagged.err).toMatch(/2 samples \(ema weights, euler/);
    expect(flagged.bytes.equals((await sample('ema-pickled')).bytes)).toBe(true);
    const unflagged = await sample('unflagged');
    expect(unflagged.err).toMatch(/2 samples \(live weights, /);
    expect(unflagged.bytes.equals((await sample('live')).bytes)).toBe(true);
    expect(unflagged.bytes.equals(flagged.bytes)).toBe(false);
    // without solver flags, args.json's solver (euler, 3 steps, cfg 0.5) is used
    const r = await cli([
      'sample',
      '--checkpoint',
      'flagged',
      '--registry',
      registry,
      '--n',
      '1',
      '--engine',
      'tfjs',
      '--backend',
      'cpu',
      '--out',
      join(dir, 'd.png'),
    ]);
    expect(r.err).toMatch(/1 samples \(ema weights, euler, \{"nfe":3\}, cfg 0.5;/);
  });

  it('mmmi-train export: the EMA weights and args.json settings (safetensors and ONNX)', async () => {
    const out = join(dir, 'exported.safetensors');
    const r = await cli(['export', '--checkpoint', 'flagged', '--registry', registry, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ weights: 'ema', sampling: { odeMethod: 'euler', odeOptions: { nfe: 3 }, cfgScale: 0.5 } });
    const exported = await readCheckpointFile(out);
    expect(exported.meta.weights).toBe('ema');
    expect(same(exported.weights, emaValues)).toBe(true);
    const onnx = await cli(['export', '--format', 'onnx', '--checkpoint', 'flagged', '--registry', registry, '--out', join(dir, 'exported.onnx')]);
    expect(JSON.parse(onnx.out)).toMatchObject({ weights: 'ema' });
  });

  it('mmmi-train train --init_from: starts from the EMA weights', async () => {
    const data = join(dir, 'images');
    for (const cls of ['a', 'b']) {
      mkdirSync(join(data, cls), { recursive: true });
      await writePng(join(data, cls, '0.png'), { width: 8, height: 8, data: new Uint8Array(192).fill(cls === 'a' ? 40 : 200) });
    }
    const r = await cli([
      'train',
      '--dataset',
      'imagefolder',
      '--data_path',
      data,
      '--config',
      'tiny',
      '--batch_size',
      '2',
      '--epochs',
      '1',
      '--eval_frequency',
      '1000',
      '--output_dir',
      join(dir, 'run'),
      '--registry',
      registry,
      '--backend',
      'cpu',
      '--init_from',
      'flagged',
      '--max_images',
      '2',
      '--ode_options',
      '{"nfe": 1}',
      '--ode_method',
      'euler',
      '--grid_per_class',
      '1',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/starting from the ema weights of .*flagged\/checkpoint.pth/);
  });
});
