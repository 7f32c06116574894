/**
 * Bad inputs of issue #23: overwrite. No command replaces a file or folder it did not create
 * in this run without --overwrite (or --resume, where continuing is the meaning), and none
 * writes over its own input, even with --overwrite. Each case keeps the files that must not
 * change; the valid ones (`expectOk`) check what --overwrite wrote.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { bin, fig1, free, repo, type Case, type CaseResult } from './case.js';

const builtinModel = join(repo, 'packages/flow-train/models/cifar10-small.safetensors');
/** The built-in model copied to DIR/m.safetensors (a checkpoint the case may own). */
const copyModel = (dir: string) => copyFileSync(builtinModel, join(dir, 'm.safetensors'));

/** What a run leaves in its output folder: a checkpoint (the refusal comes before it is read), the epoch log and the arguments. */
const aRun = {
  'run/checkpoint.safetensors': Buffer.from('three days of training'),
  'run/log.txt': '{"epoch":0,"train_loss":0.5}\n{"epoch":1,"train_loss":0.4}\n',
  'run/args.json': '{}\n',
};
const keepRun = ['run/checkpoint.safetensors', 'run/log.txt', 'run/args.json'];
/** A fresh image-folder run (the folder need not exist: the output is claimed first). */
const train = (...extra: string[]) => [
  'train',
  '--dataset',
  'imagefolder',
  '--data_path',
  'DIR/images',
  '--config',
  'tiny',
  '--output_dir',
  'DIR/run',
  ...extra,
];
const env = { MMMI_REGISTRY: 'DIR/reg' };

/** The refusal names the fix (a regular expression on stderr). */
const says =
  (pattern: RegExp) =>
  (_dir: string, r: CaseResult): ReturnType<NonNullable<Case['check']>> =>
    pattern.test(r.stderr) ? undefined : { outcome: 'silent', why: `the message does not match ${pattern}` };

const registry = (models: Record<string, unknown>) => `${JSON.stringify({ format: 'mmmi-model-registry', version: 1, models })}\n`;

export const cases: Case[] = [
  // mmmi-train train: a folder holding a run
  {
    name: 'overwrite: train into a folder holding a run, no --resume',
    cli: 'train',
    args: train(),
    env,
    files: aRun,
    keep: keepRun,
    check: says(/holds a training run .*continue it by rerunning the same command with --resume latest, or pass --overwrite/),
  },
  {
    name: 'overwrite: train --resume of another checkpoint into a folder holding a run',
    cli: 'train',
    args: train('--resume', 'DIR/other.safetensors'),
    env,
    files: { ...aRun, 'other.safetensors': 'another run' },
    keep: [...keepRun, 'other.safetensors'],
    check: says(/continue that run with --resume latest instead of --resume/),
  },
  {
    name: 'overwrite: train --overwrite into a folder whose checkpoint is the --init_from',
    cli: 'train',
    args: train('--overwrite', '--init_from', 'DIR/run/checkpoint.safetensors'),
    env,
    files: aRun,
    keep: keepRun,
    check: says(/is the --init_from checkpoint .*never writes over its input/),
  },
  {
    name: 'overwrite: train --output_dir the --data_path folder',
    cli: 'train',
    args: ['train', '--dataset', 'imagefolder', '--data_path', 'DIR/images', '--config', 'tiny', '--output_dir', 'DIR/images/.', '--overwrite'],
    env,
    files: { 'images/a/0.png': 'x' },
    keep: ['images/a/0.png'],
    check: says(/is the input --data_path/),
  },
  {
    name: "overwrite: train --name of another run's registry entry",
    cli: 'train',
    args: train('--name', 'paper'),
    env,
    files: {
      'reg/registry.json': registry({
        paper: { file: '/elsewhere/checkpoint.safetensors', sha256: 'x', bytes: 1, config: 'tiny', parameters: 1, created: 'then' },
      }),
    },
    keep: ['reg/registry.json'],
    check: says(/already has 'paper' for another checkpoint .*give --name another name, or pass --overwrite/),
  },
  {
    name: 'overwrite: train with a registry.json that is not a registry',
    cli: 'train',
    args: train(),
    env,
    files: { 'reg/registry.json': '{"models": "mine"}' },
    keep: ['reg/registry.json'],
    check: says(/registry\.json is not a model registry .*move it aside, or give --registry another folder/),
  },
  // mmmi-train export / sample
  {
    name: 'overwrite: export --out the input checkpoint, with --overwrite',
    cli: 'train',
    args: ['export', '--checkpoint', 'DIR/m.safetensors', '--out', 'DIR/m.safetensors', '--overwrite'],
    env,
    setup: copyModel,
    keep: ['m.safetensors'],
    check: says(/is the input --checkpoint .*never writes over its input, even with --overwrite/),
  },
  {
    name: 'overwrite: export --out a symbolic link to the input checkpoint',
    cli: 'train',
    args: ['export', '--checkpoint', 'DIR/m.safetensors', '--out', 'DIR/link.safetensors', '--overwrite'],
    env,
    setup: (dir) => {
      copyModel(dir);
      symlinkSync(join(dir, 'm.safetensors'), join(dir, 'link.safetensors'));
    },
    keep: ['m.safetensors'],
    check: says(/is the input --checkpoint .*by another path or a symbolic link/),
  },
  {
    name: 'overwrite: export --out an existing file',
    cli: 'train',
    args: ['export', '--checkpoint', 'DIR/m.safetensors', '--out', 'DIR/old.safetensors'],
    env,
    setup: copyModel,
    files: { 'old.safetensors': 'an export of last week' },
    keep: ['old.safetensors'],
    check: says(/exists \(a file of 22 bytes\) and this run did not make it; pass --overwrite/),
  },
  {
    name: 'overwrite: export --out an existing file with --overwrite',
    cli: 'train',
    args: ['export', '--checkpoint', 'DIR/m.safetensors', '--out', 'DIR/old.safetensors', '--overwrite'],
    env,
    setup: copyModel,
    files: { 'old.safetensors': 'an export of last week' },
    expectOk: true,
    check: (dir) =>
      statSync(join(dir, 'old.safetensors')).size > 1_000_000 ? undefined : { outcome: 'silent', why: 'old.safetensors was not replaced by the export' },
  },
  {
    name: 'overwrite: export --name of another registry entry',
    cli: 'train',
    args: ['export', '--checkpoint', 'DIR/m.safetensors', '--out', 'DIR/new.safetensors', '--name', 'paper'],
    env,
    setup: copyModel,
    files: {
      'reg/registry.json': registry({
        paper: { file: '/elsewhere/paper.safetensors', sha256: 'x', bytes: 1, config: 'small', parameters: 1, created: 'then' },
      }),
    },
    keep: ['reg/registry.json'],
    check: (dir, r) =>
      existsSync(join(dir, 'new.safetensors')) ? { outcome: 'silent', why: 'the export was written before the refusal' } : says(/already has 'paper'/)(dir, r),
  },
  {
    name: 'overwrite: sample --out a dataset shard',
    cli: 'train',
    args: ['sample', '--checkpoint', 'default', '--n', '1', '--out', 'DIR/done/simple_fig1_DAG_0.npz'],
    env,
    check: says(/--out .*simple_fig1_DAG_0\.npz: this command writes a \.png file/),
  },
  {
    name: 'overwrite: sample --out a dataset shard, with --overwrite',
    cli: 'train',
    args: ['sample', '--checkpoint', 'default', '--n', '1', '--out', 'DIR/done/simple_fig1_DAG_0.npz', '--overwrite'],
    env,
  },
  {
    name: 'overwrite: sample --out an existing foreign file',
    cli: 'train',
    args: ['sample', '--checkpoint', 'default', '--n', '1', '--out', 'DIR/photo.png'],
    env,
    files: { 'photo.png': 'my holiday photo' },
    keep: ['photo.png'],
    check: says(/--out .*photo\.png: exists \(a file of 16 bytes\) and this run did not make it; pass --overwrite to replace it, or choose another --out/),
  },
  {
    name: 'overwrite: sample --out an existing file with --overwrite',
    cli: 'train',
    args: ['sample', '--checkpoint', 'default', '--n', '1', '--out', 'DIR/grid.png', '--overwrite'],
    env,
    files: { 'grid.png': 'a grid of last week' },
    expectOk: true,
    check: (dir) =>
      readFileSync(join(dir, 'grid.png')).subarray(1, 4).toString() === 'PNG' ? undefined : { outcome: 'silent', why: 'grid.png is not the new PNG' },
  },
  // the other commands with an output path
  {
    name: 'overwrite: fid stats -o its own source shard, with --overwrite',
    cli: 'fid',
    args: ['stats', 'DIR/done/simple_fig1_DAG_0.npz', '-o', 'DIR/done/../done/simple_fig1_DAG_0.npz', '--overwrite'],
    env: { MMMI_CACHE: 'DIR/cache' },
    check: says(/-o .*: is the input <source>/),
  },
  {
    name: 'overwrite: fid stats -o an existing statistics file',
    cli: 'fid',
    args: ['stats', 'DIR/done/simple_fig1_DAG_0.npz', '-o', 'DIR/s1.npz'],
    env: { MMMI_CACHE: 'DIR/cache' },
    keep: ['s1.npz'],
    check: says(/-o .*s1\.npz: exists .*pass --overwrite/),
  },
  {
    name: 'overwrite: latents design --out its own argument file, with --overwrite',
    cli: 'latents',
    args: ['design', '@DIR/base.txt', '--target', 'I(X_1;θ)=2', '--out', 'DIR/base.txt', '--overwrite'],
    setup: (dir) => copyFileSync(fig1, join(dir, 'base.txt')),
    keep: ['base.txt'],
    check: says(/is the input @argument file/),
  },
  {
    name: 'overwrite: latents design --out an existing file',
    cli: 'latents',
    args: ['design', `@${fig1}`, '--target', 'I(X_1;θ)=2', '--out', 'DIR/notes.txt'],
    files: { 'notes.txt': 'my notes' },
    keep: ['notes.txt'],
    check: says(/--out .*notes\.txt: exists/),
  },
  {
    name: 'overwrite: latents design --target_grid onto one existing grid file',
    cli: 'latents',
    args: ['design', `@${fig1}`, '--target_grid', 'I(X_1;θ)=0.5..2:3', '--out', 'DIR/family.txt'],
    files: { 'family_2.txt': 'my notes' },
    keep: ['family_2.txt'],
    check: (dir, r) =>
      existsSync(join(dir, 'family_0.txt')) ? { outcome: 'silent', why: 'grid files were written before the refusal' } : says(/family_2\.txt: exists/)(dir, r),
  },
  {
    name: 'overwrite: bench estimate --out the --data folder, with --overwrite',
    cli: 'bench',
    args: ['estimate', '--data', 'DIR/big', '--pair', 'X1;θ', '--estimators', 'gaussian', '--features', 'pca1', '--n', '50', '--out', 'DIR/big', '--overwrite'],
    // 100 draws, so that the estimate itself could run: only the output stops it
    setup: (dir) => {
      const r = spawnSync(process.execPath, [bin.generate, `@${fig1}`, ...free, '--dataset_size', '100', '--dataset_loc', join(dir, 'big')], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`setup: ${r.stderr}`);
    },
    keep: ['big/simple_fig1_DAG_0.npz'],
    check: (dir, r) =>
      existsSync(join(dir, 'big', 'README.md'))
        ? { outcome: 'silent', why: 'a report was written into the dataset folder' }
        : says(/is the input --data/)(dir, r),
  },
  {
    name: 'overwrite: generate figures --out a dataset folder',
    cli: 'generate',
    args: ['figures', '--out', 'DIR/done', '--only', 'tables', `@${fig1}`],
    keep: ['done/simple_fig1_DAG_0.manifest.json'],
    check: (dir, r) =>
      existsSync(join(dir, 'done', 'mi_simple_fig1_DAG.md'))
        ? { outcome: 'silent', why: 'figures were written among the dataset files' }
        : says(/files that figures did not write/)(dir, r),
  },
  {
    name: 'overwrite: generate sweep --out an existing file',
    cli: 'generate',
    args: ['sweep', `@${fig1}`, '--sweep', 'rho_arg=0.1,0.2', '--out', 'DIR/table.csv'],
    files: { 'table.csv': 'a,b\n1,2\n' },
    keep: ['table.csv'],
    check: says(/--out .*table\.csv: exists/),
  },
];
