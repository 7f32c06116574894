/**
 * Bad inputs of issue #23: the Python reader (packages/dataset-generation/python/mmmi_dataset.py),
 * through its CLI `python3 -m mmmi_dataset info <folder | index | shard>`: a summary and exit 0,
 * or exit 2 with one line naming the file and the cause (the MmmiDatasetError a script gets).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, fig1, free, type Case, type CaseResult } from './case.js';

const info = (path: string, ...extra: string[]) => ['-m', 'mmmi_dataset', 'info', path, ...extra];
const SHARD = 'simple_fig1_DAG_0.npz';
const MANIFEST = 'simple_fig1_DAG_0.manifest.json';

/** A copy of the finished shard's folder (`done`) at `to`. */
function copyDone(dir: string, to: string): string {
  const target = join(dir, to);
  mkdirSync(target, { recursive: true });
  for (const f of readdirSync(join(dir, 'done'))) copyFileSync(join(dir, 'done', f), join(target, f));
  return target;
}

/** The manifest records the shard as it now is (size and sha256), so that only its content is wrong. */
function restamp(folder: string): void {
  const bytes = readFileSync(join(folder, SHARD));
  const m = JSON.parse(readFileSync(join(folder, MANIFEST), 'utf8')) as { file: { bytes: number; sha256: string } };
  m.file.bytes = bytes.length;
  m.file.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(folder, MANIFEST), JSON.stringify(m));
}

/** Rewrites the folder's shard with NumPy (`change`: Python statements on the dict `z` of its arrays), then restamps it. */
function rewrite(folder: string, change: string, save = 'np.savez'): void {
  const script = `import sys, numpy as np\nz = dict(np.load(sys.argv[1]))\n${change}\n${save}(sys.argv[1], **z)`;
  const r = spawnSync(bin.python, ['-c', script, join(folder, SHARD)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`preparing: ${r.stderr}`);
  restamp(folder);
}

/** `mmmi-generate` with the case's model-free arguments (e.g. a second job, an index). */
function generate(...args: string[]): void {
  const r = spawnSync(process.execPath, [bin.generate, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`preparing: ${r.stderr}`);
}

/** A folder with an index over two shards (`done`'s job 0 and a job 1), 8 draws. */
function indexed(dir: string, to: string): string {
  const folder = copyDone(dir, to);
  generate(`@${fig1}`, ...free, '--dataset_loc', folder, '--job_id', '1', '--num_jobs', '2');
  return folder;
}

const editIndex = (folder: string, edit: (index: { shards: Record<string, unknown>[] } & Record<string, unknown>) => void) => {
  const path = join(folder, 'simple_fig1_DAG.index.json');
  const index = JSON.parse(readFileSync(path, 'utf8')) as { shards: Record<string, unknown>[] } & Record<string, unknown>;
  edit(index);
  writeFileSync(path, JSON.stringify(index));
};

/** The one line on stderr must say these things (a case is `silent` where the message misses its point). */
const says =
  (...parts: (string | RegExp)[]) =>
  (_dir: string, r: CaseResult) => {
    const lines = r.stderr.trim().split('\n');
    if (lines.length !== 1) return { outcome: 'silent' as const, why: `${lines.length} lines on stderr, expected one` };
    const missing = parts.filter((p) => (typeof p === 'string' ? !r.stderr.includes(p) : !p.test(r.stderr)));
    return missing.length ? { outcome: 'silent' as const, why: `the message does not say ${missing.join(', ')}` } : undefined;
  };

export const cases: Case[] = [
  {
    name: 'python: info on a path that does not exist',
    cli: 'python',
    args: info('DIR/nowhere/simple_fig1_DAG.index.json'),
    check: says('nowhere/simple_fig1_DAG.index.json: no such dataset folder, index or shard'),
  },
  {
    name: 'python: no arguments',
    cli: 'python',
    args: ['-m', 'mmmi_dataset'],
    check: says('usage: python3 -m mmmi_dataset info'),
  },
  {
    name: 'python: info on the finished shard folder (valid)',
    cli: 'python',
    args: info('DIR/done'),
    expectOk: true,
    check: (_dir, r) =>
      /^simple_fig1_DAG: 4 draws in 1 shard \(shard .*done\/simple_fig1_DAG_0\.npz\)/.test(r.stdout) && /x \(2, 3, 32, 32\) float32/.test(r.stdout)
        ? undefined
        : { outcome: 'silent', why: `unexpected summary: ${r.stdout.split('\n')[0]}` },
  },
  {
    name: 'python: info on an index over two shards (valid)',
    cli: 'python',
    args: info('DIR/two/simple_fig1_DAG.index.json'),
    setup: (dir) => void indexed(dir, 'two'),
    expectOk: true,
    check: (_dir, r) =>
      /^simple_fig1_DAG: 8 draws in 2 shards \(index /.test(r.stdout) && r.stdout.includes('simple_fig1_DAG_1.npz: draws 4…7')
        ? undefined
        : { outcome: 'silent', why: `unexpected summary: ${r.stdout.split('\n')[0]}` },
  },
  {
    name: 'python: a shard with a flipped byte (sha256 against its manifest)',
    cli: 'python',
    args: info('DIR/corrupt'),
    check: says(/corrupt\/simple_fig1_DAG_0\.npz: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}: the shard is corrupt or was replaced$/m),
  },
  {
    name: 'python: a shard without its manifest',
    cli: 'python',
    args: info('DIR/lone/simple_fig1_DAG_0.npz'),
    setup: (dir) => {
      mkdirSync(join(dir, 'lone'));
      copyFileSync(join(dir, 'done', SHARD), join(dir, 'lone', SHARD));
    },
    check: says('lone/simple_fig1_DAG_0.npz: no manifest beside the shard (simple_fig1_DAG_0.manifest.json)'),
  },
  {
    name: 'python: a folder whose only .npz has no manifest',
    cli: 'python',
    args: info('DIR/lone'),
    setup: (dir) => {
      mkdirSync(join(dir, 'lone'));
      copyFileSync(join(dir, 'done', SHARD), join(dir, 'lone', SHARD));
    },
    check: says('lone: no manifest beside simple_fig1_DAG_0.npz'),
  },
  {
    name: 'python: a text file named .npz, its manifest recording its size and sha256',
    cli: 'python',
    args: info('DIR/text/simple_fig1_DAG_0.npz'),
    setup: (dir) => {
      const folder = copyDone(dir, 'text');
      writeFileSync(join(folder, SHARD), 'these are not the arrays you are looking for\n'.repeat(50));
      restamp(folder);
    },
    check: says('text/simple_fig1_DAG_0.npz: not a complete .npz (ZIP) file'),
  },
  {
    name: 'python: a shard truncated to half its size',
    cli: 'python',
    args: info('DIR/half'),
    setup: (dir) => {
      const folder = copyDone(dir, 'half');
      truncateSync(join(folder, SHARD), readFileSync(join(folder, SHARD)).length >> 1);
    },
    check: says(/half\/simple_fig1_DAG_0\.npz: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}: .*\(size \d+ bytes, its manifest records \d+\)/),
  },
  {
    name: 'python: a truncated shard read with --no-check',
    cli: 'python',
    args: info('DIR/half', '--no-check'),
    setup: (dir) => {
      const folder = copyDone(dir, 'half');
      truncateSync(join(folder, SHARD), readFileSync(join(folder, SHARD)).length >> 1);
    },
    check: says(/half\/simple_fig1_DAG_0\.npz: size \d+ bytes, its manifest records \d+: the shard is truncated or was replaced/),
  },
  {
    name: "python: an index whose shard was replaced by another of the same size (the index's sha256)",
    cli: 'python',
    args: info('DIR/two'),
    setup: (dir) => {
      const folder = indexed(dir, 'two');
      copyFileSync(join(dir, 'corrupt', SHARD), join(folder, SHARD));
    },
    check: says(/two\/simple_fig1_DAG_0\.npz: sha256 [0-9a-f]{64}, the index records [0-9a-f]{64}: the shard is corrupt or was replaced$/m),
  },
  {
    name: 'python: an index whose shard was regenerated with more draws (size and sha256)',
    cli: 'python',
    args: info('DIR/two/simple_fig1_DAG.index.json'),
    setup: (dir) => {
      const folder = indexed(dir, 'two');
      generate(`@${fig1}`, ...free, '--dataset_size', '6', '--dataset_loc', join(dir, 'six'));
      copyFileSync(join(dir, 'six', SHARD), join(folder, SHARD));
    },
    check: says(/sha256 [0-9a-f]{64}, the index records [0-9a-f]{64}: the shard is corrupt or was replaced \(size \d+ bytes, the index records \d+\)/),
  },
  {
    name: 'python: an index listing a shard that is gone',
    cli: 'python',
    args: info('DIR/two'),
    setup: (dir) => {
      const folder = indexed(dir, 'two');
      spawnSync('rm', [join(folder, 'simple_fig1_DAG_1.npz')]);
    },
    check: says('two/simple_fig1_DAG_1.npz: no such shard (the index records it in'),
  },
  {
    name: 'python: an index naming a shard outside its folder',
    cli: 'python',
    args: info('DIR/two'),
    setup: (dir) => editIndex(indexed(dir, 'two'), (i) => (i.shards[0].file = '../done/simple_fig1_DAG_0.npz')),
    check: says("simple_fig1_DAG.index.json: shard 0's file '../done/simple_fig1_DAG_0.npz' is not a file name in its folder"),
  },
  {
    name: 'python: an index of another format version',
    cli: 'python',
    args: info('DIR/two'),
    setup: (dir) => editIndex(indexed(dir, 'two'), (i) => (i.format = 'mmmi-dataset-index/2')),
    check: says("format 'mmmi-dataset-index/2', expected 'mmmi-dataset-index/1'"),
  },
  {
    name: 'python: an index whose shard entry lacks its sha256',
    cli: 'python',
    args: info('DIR/two'),
    setup: (dir) => editIndex(indexed(dir, 'two'), (i) => delete i.shards[1].sha256),
    check: says("shard 1 (simple_fig1_DAG_1.npz): 'sha256' is None, not a 64-digit hex digest"),
  },
  {
    name: 'python: an index that is a JSON list',
    cli: 'python',
    args: info('DIR/x.index.json'),
    files: { 'x.index.json': '[1, 2, 3]\n' },
    check: says('x.index.json: not a readable dataset index (a JSON list, not an object)'),
  },
  {
    name: 'python: an index cut off mid-file',
    cli: 'python',
    args: info('DIR/two'),
    setup: (dir) => {
      const path = join(indexed(dir, 'two'), 'simple_fig1_DAG.index.json');
      truncateSync(path, readFileSync(path).length >> 1);
    },
    check: says('simple_fig1_DAG.index.json: not a readable dataset index (not UTF-8 JSON:'),
  },
  {
    name: 'python: a folder of two datasets and no index',
    cli: 'python',
    args: info('DIR/mixed'),
    check: says(/mixed holds 2 shards and no index: run `mmmi-generate index .*mixed` to read them as one dataset, or name one shard/),
  },
  {
    name: 'python: a folder with two indexes',
    cli: 'python',
    args: info('DIR/two'),
    setup: (dir) => {
      const folder = indexed(dir, 'two');
      copyFileSync(join(folder, 'simple_fig1_DAG.index.json'), join(folder, 'copy.index.json'));
    },
    check: says('two holds several dataset indexes (copy.index.json, simple_fig1_DAG.index.json): name one'),
  },
  {
    name: 'python: an empty folder',
    cli: 'python',
    args: info('DIR/empty'),
    setup: (dir) => mkdirSync(join(dir, 'empty')),
    check: says('empty: no dataset shard (.npz with its .manifest.json) or index in this folder'),
  },
  {
    name: 'python: a dangling symbolic link',
    cli: 'python',
    args: info('DIR/link.npz'),
    setup: (dir) => symlinkSync(join(dir, 'gone.npz'), join(dir, 'link.npz')),
    check: says('link.npz: no target of this symbolic link (dangling or a loop)'),
  },
  {
    name: 'python: a file that is neither index nor shard',
    cli: 'python',
    args: info('DIR/done/dataset_gen_args.json'),
    check: says('dataset_gen_args.json: expected a dataset folder, a <name>.index.json or a .npz shard'),
  },
  {
    name: 'python: a shard whose X is float64 (the manifest records float32)',
    cli: 'python',
    args: info('DIR/f8'),
    setup: (dir) => rewrite(copyDone(dir, 'f8'), 'z["X"] = z["X"].astype(np.float64)'),
    check: says("f8/simple_fig1_DAG_0.npz: array 'X' is float64 (<f8), the manifest", 'records float32 (<f4)'),
  },
  {
    name: 'python: a shard and manifest that agree on labels int64 (not the documented int32)',
    cli: 'python',
    args: info('DIR/i8/simple_fig1_DAG_0.npz'),
    setup: (dir) => {
      const folder = copyDone(dir, 'i8');
      rewrite(folder, 'z["labels"] = z["labels"].astype(np.int64)');
      const m = JSON.parse(readFileSync(join(folder, MANIFEST), 'utf8')) as { arrays: Record<string, { dtype: string }> };
      m.arrays.labels.dtype = '<i8';
      writeFileSync(join(folder, MANIFEST), JSON.stringify(m));
    },
    check: says("i8/simple_fig1_DAG_0.npz: array 'labels' is int64 (<i8), the documented dtype is int32 (<i4)"),
  },
  {
    name: 'python: a big-endian θ array',
    cli: 'python',
    args: info('DIR/be'),
    setup: (dir) => rewrite(copyDone(dir, 'be'), 'z["Y"] = z["Y"].astype(">f4")'),
    check: says("be/simple_fig1_DAG_0.npz: array 'Y' is float32 (>f4), the manifest"),
  },
  {
    name: 'python: a shard whose labels have a column too many',
    cli: 'python',
    args: info('DIR/shape'),
    setup: (dir) => rewrite(copyDone(dir, 'shape'), 'z["labels"] = np.concatenate([z["labels"], z["labels"][:, :1]], axis=1)'),
    check: says("shape/simple_fig1_DAG_0.npz: array 'labels' has shape (4, 3), the manifest describes (4, 2)"),
  },
  {
    name: 'python: a shard without its labels array',
    cli: 'python',
    args: info('DIR/nolabels'),
    setup: (dir) => rewrite(copyDone(dir, 'nolabels'), 'del z["labels"]'),
    check: says("nolabels/simple_fig1_DAG_0.npz: no 'labels' array — not an mmmi dataset shard"),
  },
  {
    name: 'python: a shard saved with np.savez_compressed',
    cli: 'python',
    args: info('DIR/zip'),
    setup: (dir) => rewrite(copyDone(dir, 'zip'), 'pass', 'np.savez_compressed'),
    check: says("zip/simple_fig1_DAG_0.npz: array 'X' is compressed (np.savez_compressed)"),
  },
  {
    name: 'python: a manifest that is not JSON',
    cli: 'python',
    args: info('DIR/badjson'),
    setup: (dir) => writeFileSync(join(copyDone(dir, 'badjson'), MANIFEST), '{"format": "mmmi-dataset-manifest/1",'),
    check: says('badjson/simple_fig1_DAG_0.manifest.json: not a readable shard manifest (not UTF-8 JSON:'),
  },
];
