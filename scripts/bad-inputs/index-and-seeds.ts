/**
 * Bad inputs of issue #23: index-and-seeds. Reads through a dataset index held to it (a shard
 * regenerated, truncated or gone since the index), `mmmi-generate index` meeting manifests it
 * cannot use, the last job of a `--num_jobs` array that cannot write the index, feature specs
 * larger than the data, and the harness's seeds (each its own draws, or said to share them).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { bin, fig1, type Case, type CaseResult } from './case.js';

/** A model-free dataset of small d in DIR/<folder> (the generator's exit status is the caller's to judge). */
function make(dir: string, folder: string, ...extra: string[]): number | null {
  const args = [`@${fig1}`, '--transform', 'identity', '--mod_dim', '4', '--scaling', 'float', '--dataset_size', '20', '--preview', '0'];
  return spawnSync(process.execPath, [bin.generate, ...args, '--dataset_loc', join(dir, folder), ...extra], { encoding: 'utf8' }).status;
}

/** Two shards with --num_jobs 2 (the index written by the second), then shard `id` regenerated from another sample seed. */
function regenerated(id: number) {
  return (dir: string) => {
    for (const j of [0, 1]) if (make(dir, 'arr', '--job_id', String(j), '--num_jobs', '2') !== 0) throw new Error('setup: generation failed');
    make(dir, 'arr', '--job_id', String(id), '--num_jobs', '2', '--sample_seed', '7', '--overwrite');
  };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The refusal names the shard's sha256 now and the one its index records. */
function bothHashes(id: number) {
  return (dir: string, r: CaseResult) => {
    const index = JSON.parse(readFileSync(join(dir, 'arr/simple_fig1_DAG.index.json'), 'utf8')) as { shards: { sha256: string }[] };
    const now = sha256(join(dir, `arr/simple_fig1_DAG_${id}.npz`));
    const recorded = index.shards[id].sha256;
    if (now === recorded) return { outcome: 'silent' as const, why: 'setup did not change the shard' };
    return r.stderr.includes(now) && r.stderr.includes(recorded) ? undefined : { outcome: 'silent' as const, why: 'the refusal lacks the two sha256 values' };
  };
}

/** DIR/<folder>: a copy of DIR/done, changed by `change`. */
function doneCopy(folder: string, change: (copy: string) => void) {
  return (dir: string) => {
    const copy = join(dir, folder);
    mkdirSync(copy);
    for (const f of readdirSync(join(dir, 'done'))) copyFileSync(join(dir, 'done', f), join(copy, f));
    change(copy);
  };
}

/** stderr matches: else the case is 'silent' (the refusal does not say what it should). */
const says =
  (pattern: RegExp) =>
  (_dir: string, r: CaseResult): ReturnType<NonNullable<Case['check']>> =>
    pattern.test(r.stderr) ? undefined : { outcome: 'silent', why: `stderr does not match ${pattern}` };

const estimate = (data: string, ...extra: string[]) => [
  'estimate',
  '--data',
  data,
  '--pair',
  'X1;θ',
  '--estimators',
  'gaussian',
  '--features',
  'latents',
  '--n',
  '30',
  '--seeds',
  '1',
  '--out',
  'DIR/report',
  ...extra,
];

const manifest = 'simple_fig1_DAG_0.manifest.json';

export const cases: Case[] = [
  {
    name: 'index: estimate on a dataset whose second shard was regenerated after the index',
    cli: 'bench',
    args: estimate('DIR/arr'),
    setup: regenerated(1),
    keep: ['arr/simple_fig1_DAG.index.json', 'arr/simple_fig1_DAG_1.npz'],
    check: bothHashes(1),
  },
  {
    name: 'index: estimate on a dataset whose first shard was regenerated after the index',
    cli: 'bench',
    args: estimate('DIR/arr/simple_fig1_DAG.index.json'),
    setup: regenerated(0),
    keep: ['arr/simple_fig1_DAG.index.json', 'arr/simple_fig1_DAG_0.npz'],
    check: bothHashes(0),
  },
  {
    name: 'index: estimate on a dataset whose shard was truncated after the index',
    cli: 'bench',
    args: estimate('DIR/arr'),
    setup: (dir) => {
      regenerated(1)(dir);
      truncateSync(join(dir, 'arr/simple_fig1_DAG_1.npz'), 1000);
    },
    check: says(/simple_fig1_DAG_1\.npz: 1000 bytes, the index .* records \d+ bytes/),
  },
  {
    name: 'index: estimate on a dataset whose shard is gone',
    cli: 'bench',
    args: estimate('DIR/arr'),
    setup: (dir) => {
      regenerated(1)(dir);
      rmSync(join(dir, 'arr/simple_fig1_DAG_1.npz'));
    },
    check: says(/simple_fig1_DAG_1\.npz: missing, the index .* lists it/),
  },
  {
    name: 'index: estimate on an index file that holds null',
    cli: 'bench',
    args: estimate('DIR/x.index.json'),
    files: { 'x.index.json': 'null' },
    check: says(/x\.index\.json: not a dataset index/),
  },
  {
    name: 'index: a truncated manifest',
    cli: 'generate',
    args: ['index', 'DIR/t'],
    setup: doneCopy('t', (c) => writeFileSync(join(c, manifest), readFileSync(join(c, manifest), 'utf8').slice(0, 300))),
    check: says(/t\/simple_fig1_DAG_0\.manifest\.json: not valid JSON, perhaps truncated/),
  },
  {
    name: 'index: a foreign manifest beside the shards',
    cli: 'generate',
    args: ['index', 'DIR/f'],
    setup: doneCopy('f', (c) => writeFileSync(join(c, 'model.manifest.json'), '{"name": "resnet", "files": ["a.bin"]}')),
    check: says(/model\.manifest\.json: not a shard manifest of this toolkit/),
  },
  {
    name: 'index: a manifest that holds null',
    cli: 'generate',
    args: ['index', 'DIR/f'],
    setup: doneCopy('f', (c) => writeFileSync(join(c, 'x.manifest.json'), 'null')),
    check: says(/x\.manifest\.json: not a shard manifest \(not a JSON object\)/),
  },
  {
    name: 'index: our format but its fields missing',
    cli: 'generate',
    args: ['index', 'DIR/f'],
    setup: doneCopy('f', (c) => writeFileSync(join(c, manifest), '{"format": "mmmi-dataset-manifest/1", "file": {"name": 3}}')),
    check: says(/a shard manifest without valid file/),
  },
  {
    name: 'index: a manifest whose npz is missing',
    cli: 'generate',
    args: ['index', 'DIR/m'],
    setup: doneCopy('m', (c) => rmSync(join(c, 'simple_fig1_DAG_0.npz'))),
    check: says(/simple_fig1_DAG_0\.npz \(shard file is missing\)/),
  },
  {
    name: 'index: a folder whose shard has a flipped byte',
    cli: 'generate',
    args: ['index', 'DIR/corrupt'],
    keep: ['corrupt/simple_fig1_DAG_0.npz'],
    check: says(/shards that fail verify: simple_fig1_DAG_0\.npz \(sha256 does not match the manifest\)/),
  },
  {
    name: 'index: the last job of a --num_jobs array made with other arguments',
    cli: 'generate',
    args: [
      `@${fig1}`,
      ...['--transform', 'identity', '--mod_dim', '4', '--scaling', 'float', '--dataset_size', '20', '--preview', '0'],
      ...['--dataset_loc', 'DIR/arr', '--job_id', '1', '--num_jobs', '2', '--sample_seed', '7'],
    ],
    setup: (dir) => {
      make(dir, 'arr', '--job_id', '0', '--num_jobs', '2');
    },
    keep: ['arr/simple_fig1_DAG_0.npz'],
    check: says(/simple_fig1_DAG_1\.npz is complete, but the dataset index was not written: shards of 'simple_fig1_DAG' made with other arguments/),
  },
  {
    name: 'index: features pca50 on data of 4 values per modality',
    cli: 'bench',
    args: estimate('DIR/one', '--features', 'pca50', '--n', '10'),
    setup: (dir) => {
      make(dir, 'one');
    },
    check: says(/--features pca50 on I\(X_1; θ\): 50 components of X_1, which has 4 values per draw; use at most pca4/),
  },
  {
    name: 'index: features latents:pca5 on latents of 4 values',
    cli: 'bench',
    args: estimate('DIR/one', '--features', 'latents:pca5', '--n', '10'),
    setup: (dir) => {
      make(dir, 'one');
    },
    check: says(/use at most latents:pca4/),
  },
  {
    name: 'index: more PCA components than draws to fit them on',
    cli: 'bench',
    args: estimate('DIR/one', '--features', 'pca8', '--estimators', 'ksg1', '--n', '8', '--fit_draws', '0'),
    setup: (dir) => {
      make(dir, 'one', '--mod_dim', '8');
    },
    check: says(/8 components need more than 8 draws to fit/),
  },
  {
    name: 'index: seeds on pixels draw their own samples (estimates differ per seed)',
    cli: 'bench',
    args: estimate('DIR/big', '--features', 'pixels', '--n', '40', '--seeds', '3'),
    setup: (dir) => {
      make(dir, 'big', '--dataset_size', '200');
    },
    expectOk: true,
    check: (dir) => {
      const lines = readFileSync(join(dir, 'report/estimates.csv'), 'utf8').trim().split('\n').slice(1);
      const estimates = new Set(lines.map((l) => l.split(',')[8]));
      return lines.length === 3 && estimates.size === 3
        ? undefined
        : { outcome: 'silent', why: `seeds gave ${estimates.size} distinct estimates of ${lines.length}` };
    },
  },
  {
    name: 'index: seeds that must share draws say so',
    cli: 'bench',
    args: estimate('DIR/one', '--features', 'pixels', '--n', '20', '--seeds', '2'),
    setup: (dir) => {
      make(dir, 'one');
    },
    expectOk: true,
    check: says(/the seeds share draws: .*at n = 20 every seed reads all 20 draws/s),
  },
];
