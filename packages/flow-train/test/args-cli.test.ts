/**
 * The trainer's flags (the paper's command verbatim, errors that name flag and value), their
 * passage through `nx run flow-train:train`, and the CLI's `main` with a captured io.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '@mmmi/cli-kit';
import { parseTrainArgs, TRAIN_FLAGS } from '../src/args.js';
import { main, type CliIo } from '../src/cli.js';

/** flow_matching's README command for CIFAR-10, as the shell hands it over. */
const PAPER = [
  '--dataset=cifar10',
  '--batch_size=64',
  '--accum_iter=1',
  '--eval_frequency=100',
  '--epochs=3000',
  '--cfg_scale=0.2',
  '--compute_fid',
  '--ode_method',
  'heun2',
  '--ode_options',
  '{"nfe": 50}',
  '--use_ema',
  '--edm_schedule',
  '--skewed_timesteps',
];

const PAPER_VALUES = {
  dataset: 'cifar10',
  batch_size: 64,
  accum_iter: 1,
  eval_frequency: 100,
  epochs: 3000,
  cfg_scale: 0.2,
  compute_fid: true,
  ode_method: 'heun2',
  ode_options: { nfe: 50 },
  use_ema: true,
  edm_schedule: true,
  skewed_timesteps: true,
};

/** More flags, every kind, none at its default. */
const MORE = [
  '--seed',
  '3',
  '--output_dir',
  '/tmp/x',
  '--lr',
  '0.0002',
  '--optimizer_betas',
  '0.9',
  '0.99',
  '--decay_lr',
  '--class_drop_prob',
  '0.1',
  '--fid_samples',
  '100',
  '--start_epoch',
  '2',
  '--test_run',
  '--data_path',
  '/tmp/d',
  '--threads',
  '2',
];
const MORE_VALUES = {
  seed: 3,
  output_dir: '/tmp/x',
  lr: 0.0002,
  optimizer_betas: [0.9, 0.99],
  decay_lr: true,
  class_drop_prob: 0.1,
  fid_samples: 100,
  start_epoch: 2,
  test_run: true,
  data_path: '/tmp/d',
  threads: 2,
};

describe('parseTrainArgs', () => {
  it("accepts the paper's command verbatim", () => {
    const a = parseTrainArgs(PAPER);
    expect(a).toMatchObject(PAPER_VALUES);
    // the rest at the paper's defaults
    expect(a).toMatchObject({
      lr: 1e-4,
      optimizer_betas: [0.9, 0.95],
      class_drop_prob: 0.2,
      decay_lr: false,
      seed: 0,
      resume: '',
      eval_only: false,
      output_dir: './output_dir',
    });
  });

  it('accepts --flag value and --flag=value alike, dashes for underscores, later flags winning', () => {
    expect(parseTrainArgs([...PAPER, ...MORE])).toMatchObject({ ...PAPER_VALUES, ...MORE_VALUES });
    expect(parseTrainArgs(['--batch-size', '8', '--epochs=2', '--epochs', '5', '--use_ema=false'])).toMatchObject({ batch_size: 8, epochs: 5, use_ema: false });
    expect(parseTrainArgs(['--ode_options={"nfe": 10, "step_size": 0.1}']).ode_options).toEqual({ nfe: 10, step_size: 0.1 });
  });

  it('--optimizer_betas takes two numbers', () => {
    expect(parseTrainArgs(['--optimizer_betas', '0.9', '0.95']).optimizer_betas).toEqual([0.9, 0.95]);
    expect(parseTrainArgs(['--optimizer_betas', '0.8', '0.9', '--seed', '1'])).toMatchObject({ optimizer_betas: [0.8, 0.9], seed: 1 });
    expect(parseTrainArgs(['--optimizer_betas=0.5,0.6']).optimizer_betas).toEqual([0.5, 0.6]);
    expect(() => parseTrainArgs(['--optimizer_betas', '0.9'])).toThrow(/--optimizer_betas 0\.9 \(command line\): expected 2 numbers/);
    expect(() => parseTrainArgs(['--optimizer_betas', '0.9', 'x'])).toThrow("--optimizer_betas 0.9 x (command line): 'x' is not a finite number");
  });

  const error = (argv: string[]) => {
    try {
      parseTrainArgs(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error(`${argv.join(' ')} was accepted`);
  };

  it('each error names the flag and the value', () => {
    expect(error(['--batch_sise', '64'])).toMatch(/^unknown flag --batch_sise/);
    expect(error(['--batch_size', '6.5'])).toBe('--batch_size 6.5 (command line): expected an integer');
    expect(error(['--epochs=many'])).toBe('--epochs many (command line): expected an integer');
    expect(error(['--lr', 'fast'])).toBe('--lr fast (command line): expected a finite number');
    expect(error(['--ode_options', '{nfe: 50}'])).toMatch(/^--ode_options \{nfe: 50\} \(command line\): not valid JSON/);
    expect(error(['--ode_options', '[50]'])).toBe('--ode_options [50] (command line): expected a JSON object such as \'{"nfe": 50}\'');
    expect(error(['--ode_options', '{"nfe": "fifty"}'])).toBe('--ode_options {"nfe": "fifty"} (command line): "nfe" must be a number');
    expect(error(['--ode_method', 'rk45'])).toMatch(/^--ode_method rk45 \(command line\): expected one of euler, midpoint, heun2, rk4, dopri5/);
    expect(error(['--dataset', 'mnist'])).toBe('--dataset mnist (command line): expected one of cifar10, imagefolder');
    expect(error(['--batch_size'])).toMatch(/^--batch_size needs a value \(command line\)/);
    expect(error(['--use_ema=maybe'])).toBe('--use_ema maybe (command line): expected true or false');
    expect(error(['--batch_size', '0'])).toBe('--batch_size 0 (command line): must be ≥ 1');
    expect(error(['--class_drop_prob', '1.5'])).toMatch(/^--class_drop_prob 1\.5 \(command line\): must be ≤ 1/);
    expect(error(['heun2'])).toMatch(/^unexpected argument 'heun2'/);
    expect(error(['--eval_only'])).toBe('--eval_only needs --resume <checkpoint>');
    expect(parseTrainArgs(['--eval_only', '--resume', 'ckpt.safetensors'])).toMatchObject({ eval_only: true, resume: 'ckpt.safetensors' });
  });

  it('every flag has a default of its kind', () => {
    const a = parseTrainArgs([]);
    expect(Object.keys(a).sort()).toEqual(Object.keys(TRAIN_FLAGS).sort());
  });
});

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));

describe.skipIf(!built)('nx run flow-train:train passes every flag through', () => {
  it("prints the paper's flags and more, each with its value (--print_args)", () => {
    const r = spawnSync('npx', ['nx', 'run', 'flow-train:train', ...PAPER, ...MORE, '--print_args', '--skip-nx-cache'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', NX_ISOLATE_PLUGINS: 'false', NX_TUI: 'false' },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('{"dataset"'));
    expect(line, r.stdout).toBeDefined();
    expect(JSON.parse(line!)).toEqual({ ...parseTrainArgs([]), ...PAPER_VALUES, ...MORE_VALUES, print_args: true });
  });
});

describe('mmmi-train main', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
    return { io, out: () => out.join(''), err: () => err.join('') };
  };

  it('info <configuration> --json prints the parameter count', async () => {
    const tiny = capture();
    expect(await main(['info', 'tiny', '--json'], tiny.io)).toBe(0);
    const info = JSON.parse(tiny.out());
    expect(info.parameters).toBe(301603);
    expect(info.configuration).toMatchObject({ name: 'tiny', imageSize: 8, modelChannels: 32 });

    const paper = capture();
    expect(await main(['info', 'cifar10', '--json'], paper.io)).toBe(0);
    expect(JSON.parse(paper.out()).parameters).toBe(55682051);
  });

  it('an unknown command exits 2 with the usage', async () => {
    const c = capture();
    expect(await main(['trian'], c.io)).toBe(2);
    expect(c.err()).toMatch(/unknown command 'trian'/);
    expect(c.err()).toMatch(/usage:/);
    const none = capture();
    expect(await main([], none.io)).toBe(2);
  });

  it('train with a missing image folder exits 2 naming the path, before any model or output is made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-train-cli-'));
    const c = capture();
    const code = await main(
      ['train', '--dataset', 'imagefolder', '--data_path', '/nonexistent', '--output_dir', join(dir, 'out'), '--config', 'tiny', '--backend', 'cpu'],
      c.io,
    );
    expect(code).toBe(2);
    expect(c.err()).toMatch(/^mmmi-train: error: --data_path \/nonexistent: no such folder/);
    // nothing else happened: no backend chosen, no model announced, no output folder
    expect(c.err().trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(c.out()).toBe('');
  });

  it('train: flag errors exit 2; --print_args prints the parsed flags; --help lists them', async () => {
    const bad = capture();
    expect(await main(['train', '--batch_size', 'x'], bad.io)).toBe(2);
    expect(bad.err()).toBe('mmmi-train: error: --batch_size x (command line): expected an integer\n(mmmi-train train --help for usage)\n');
    const printed = capture();
    expect(await main(['train', ...PAPER, '--print_args'], printed.io)).toBe(0);
    expect(JSON.parse(printed.out())).toMatchObject(PAPER_VALUES);
    const help = capture();
    expect(await main(['train', '--help'], help.io)).toBe(0);
    for (const flag of Object.keys(TRAIN_FLAGS)) expect(help.out()).toContain(`--${flag}`);
  });
});
