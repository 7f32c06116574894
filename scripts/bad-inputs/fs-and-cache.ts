/**
 * Bad inputs of issue #23: fs-and-cache. Paths the file system refuses — a file in the path
 * (ENOTDIR, for root too), a symlink loop, a dangling link, a name over 255 bytes — given as an
 * output, an input, an argument file, a registry or a cache folder: each is one line naming the
 * path, the cause and the fix (cli-kit's fs-errors.ts), never a raw errno. The ONNX graph cache
 * never stops a run: an unwritable one falls back to a temporary folder (said once), and a
 * cached graph ONNX Runtime refuses is rebuilt.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { bin, fig1, free, gen, repo, type Case, type CaseResult } from './case.js';

const long = 'n'.repeat(300);
/** DIR/file (a regular file), DIR/loop (a link to itself), DIR/dangling (a link to nothing). */
const traps = (dir: string) => {
  writeFileSync(join(dir, 'file'), 'x');
  symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
};

/** The one line: the path, then a cause with its code in parentheses, then a fix. */
const says =
  (pattern: RegExp) =>
  (_dir: string, r: CaseResult): ReturnType<NonNullable<Case['check']>> =>
    pattern.test(r.stderr) ? undefined : { outcome: 'silent', why: `the message does not match ${pattern}` };

const ENOTDIR = /file\/\S*: a part of the path is a file, not a folder \(ENOTDIR\); \S/;
const ELOOP = /loop\S*: too many levels of symbolic links \(a symlink loop\) \(ELOOP\); \S/;
const DANGLING = /dangling: is a symbolic link to \S*nowhere, which does not exist \(E(NOENT|EXIST)\); fix or remove the link/;
const TOO_LONG = /n{300}\S*: the name is too long for the file system \(at most 255 bytes per name\) \(ENAMETOOLONG\); /;

const sample = (...extra: string[]) => ['sample', '--checkpoint', 'default', '--n', '1', '--nfe', '2', ...extra];
const bench = (...extra: string[]) => ['estimate', '--data', 'DIR/big', '--pair', 'X1;X2', '--estimators', 'gaussian', '--n', '32', '--seeds', '1', ...extra];
/** A shard of 64 draws in DIR/big, enough for the estimate to reach its output. */
function bigShard(dir: string): void {
  const r = spawnSync(process.execPath, [bin.generate, `@${fig1}`, ...free, '--dataset_size', '64', '--dataset_loc', join(dir, 'big')], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`preparing a shard of 64 draws: ${r.stderr}`);
}

/** The built-in model's graph in the cache DIR/cache/onnx (one run of `sample` makes it). */
function cachedGraph(dir: string): string {
  const r = spawnSync(process.execPath, [bin.train, ...sample('--out', join(dir, 'first.png'))], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, MMMI_CACHE_DIR: join(dir, 'cache') },
  });
  if (r.status !== 0) throw new Error(`preparing the ONNX cache: ${r.stderr}`);
  const name = readdirSync(join(dir, 'cache', 'onnx')).find((n) => n.endsWith('.onnx'));
  if (!name) throw new Error('preparing the ONNX cache: no graph was cached');
  return join(dir, 'cache', 'onnx', name);
}

export const cases: Case[] = [
  // outputs
  {
    name: 'fs: generate --dataset_loc under a file',
    cli: 'generate',
    args: gen().map((a) => a.replace('DIR/out', 'DIR/file/out')),
    setup: traps,
    check: says(ENOTDIR),
  },
  {
    name: 'fs: generate --dataset_loc a symlink loop',
    cli: 'generate',
    args: gen().map((a) => a.replace('DIR/out', 'DIR/loop')),
    setup: traps,
    check: says(ELOOP),
  },
  {
    name: 'fs: generate --dataset_loc a dangling link',
    cli: 'generate',
    args: gen().map((a) => a.replace('DIR/out', 'DIR/dangling')),
    setup: traps,
    check: says(DANGLING),
  },
  {
    name: 'fs: generate --dataset_loc a name over 255 bytes',
    cli: 'generate',
    args: gen().map((a) => a.replace('DIR/out', `DIR/${long}`)),
    check: says(TOO_LONG),
  },
  {
    name: 'fs: generate figures --out under a file',
    cli: 'generate',
    args: ['figures', '--out', 'DIR/file/figs', '--only', 'dag'],
    setup: traps,
    check: says(ENOTDIR),
  },
  { name: 'fs: train sample --out under a file', cli: 'train', args: sample('--out', 'DIR/file/grid.png'), setup: traps, check: says(ENOTDIR) },
  { name: 'fs: train sample --out a name over 255 bytes', cli: 'train', args: sample('--out', `DIR/${long}.png`), check: says(TOO_LONG) },
  {
    name: 'fs: train export --out under a file names the destination, not its temp file',
    cli: 'train',
    args: ['export', '--checkpoint', 'default', '--out', 'DIR/file/m.safetensors'],
    setup: traps,
    check: (dir, r) =>
      /\.tmp/.test(r.stderr)
        ? { outcome: 'silent', why: 'the message names the temp file' }
        : says(/file\/m\.safetensors: a part of the path is a file/)(dir, r),
  },
  {
    name: 'fs: bench --out under a file',
    cli: 'bench',
    args: bench('--out', 'DIR/file/report'),
    setup: (dir) => (traps(dir), bigShard(dir)),
    check: says(ENOTDIR),
  },
  { name: 'fs: bench --out a name over 255 bytes', cli: 'bench', args: bench('--out', `DIR/${long}`), setup: bigShard, check: says(TOO_LONG) },
  // inputs
  { name: 'fs: generate index of a symlink loop', cli: 'generate', args: ['index', 'DIR/loop'], setup: traps, check: says(ELOOP) },
  {
    name: 'fs: generate verify of a file',
    cli: 'generate',
    args: ['verify', 'DIR/file'],
    setup: traps,
    check: says(/file is not a folder of shards \(it is a file: give the folder/),
  },
  {
    name: 'fs: generate @argument file a symlink loop',
    cli: 'generate',
    args: ['@DIR/loop'],
    setup: traps,
    check: says(/argument file \S*loop: too many levels of symbolic links/),
  },
  {
    name: 'fs: latents @argument file a dangling link',
    cli: 'latents',
    args: ['mi', '@DIR/dangling'],
    setup: traps,
    check: says(/argument file \S*dangling: is a symbolic link to/),
  },
  {
    name: 'fs: generate --T_vectors_method a symlink loop',
    cli: 'generate',
    args: gen('--T_vectors_method', 'DIR/loop'),
    setup: traps,
    check: says(/--T_vectors_method \S*loop: too many levels of symbolic links/),
  },
  {
    name: 'fs: train info of a dangling checkpoint link',
    cli: 'train',
    args: ['info', 'DIR/dangling'],
    setup: traps,
    check: says(/checkpoint \S*dangling: is a symbolic link to/),
  },
  {
    name: 'fs: bench --data a symlink loop',
    cli: 'bench',
    args: ['estimate', '--data', 'DIR/loop', '--pair', 'X1;X2'],
    setup: traps,
    check: says(/--data \S*loop: too many levels/),
  },
  { name: 'fs: fid realism --data a dangling link', cli: 'fid', args: ['realism', '--data', 'DIR/dangling'], setup: traps, check: says(DANGLING) },
  // registries
  {
    name: 'fs: train sample --registry under a file',
    cli: 'train',
    args: sample('--registry', 'DIR/file/reg', '--out', 'DIR/g.png'),
    setup: traps,
    check: says(/registry \S*file\/reg\/registry\.json: a part of the path is a file/),
  },
  {
    name: 'fs: train sample with MMMI_REGISTRY a symlink loop',
    cli: 'train',
    args: sample('--out', 'DIR/g.png'),
    env: { MMMI_REGISTRY: 'DIR/loop' },
    setup: traps,
    check: says(ELOOP),
  },
  // the ONNX graph cache
  {
    name: 'fs: train sample with MMMI_CACHE_DIR a file: falls back to a temporary folder, said once, and samples',
    cli: 'train',
    args: sample('--engine', 'onnx', '--out', 'DIR/g.png'),
    env: { MMMI_CACHE_DIR: 'DIR/file' },
    setup: traps,
    expectOk: true,
    check: (dir, r) => {
      const said = r.stderr.split('\n').filter((l) => l.startsWith('ONNX graph cache: '));
      if (said.length !== 1) return { outcome: 'silent', why: `the fallback is said ${said.length} times` };
      if (!/file\/onnx: a part of the path is a file, not a folder \(ENOTDIR\); set MMMI_CACHE_DIR/.test(said[0])) return { outcome: 'silent', why: said[0] };
      if (statSync(join(dir, 'g.png')).size === 0) return { outcome: 'silent', why: 'no image' };
      return undefined;
    },
  },
  {
    name: 'fs: train sample with a cached graph cut short and re-summed: rebuilt and used',
    cli: 'train',
    args: sample('--engine', 'onnx', '--out', 'DIR/g.png'),
    env: { MMMI_CACHE_DIR: 'DIR/cache' },
    setup: (dir) => {
      const graph = cachedGraph(dir);
      const cut = readFileSync(graph).subarray(0, 4096);
      writeFileSync(graph, cut);
      writeFileSync(`${graph}.sha256`, `${createHash('sha256').update(cut).digest('hex')}\n`);
    },
    expectOk: true,
    check: (dir, r) => {
      if (!/ONNX graph rebuilt \(the cached one was refused: ONNX Runtime refused it/.test(r.stderr)) return { outcome: 'silent', why: 'no rebuild was said' };
      const onnx = join(dir, 'cache', 'onnx');
      const graph = readdirSync(onnx).find((n) => n.endsWith('.onnx'))!;
      if (statSync(join(onnx, graph)).size <= 4096) return { outcome: 'silent', why: 'the cached graph was not rewritten' };
      if (!/; onnx cpu/.test(r.stderr)) return { outcome: 'silent', why: 'did not sample with ONNX Runtime' };
      return undefined;
    },
  },
];
