/**
 * A demanding user's bad inputs, run against the built CLIs (mmmi-generate, mmmi-latents,
 * mmmi-train, mmmi-fid, mmmi-bench), each in its own process, and classified:
 *
 *   clear    stopped with a one-line reason (exit ≠ 0, no stack trace)
 *   stack    a stack trace reached the user
 *   silent   exit 0 where the input should have been refused
 *   lost     a complete shard that was there before was changed or removed
 *
 *   npm run build && npx tsx scripts/bad-inputs.ts [--list]
 *
 * Prints one line per case and the counts (target: 0 stack, 0 silent, 0 lost). Each case
 * runs in a scratch folder holding a finished model-free shard, whose bytes are compared
 * after the case.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bin = {
  generate: join(repo, 'packages/dataset-generation/bin/mmmi-generate.js'),
  latents: join(repo, 'packages/latents/bin/mmmi-latents.js'),
  train: join(repo, 'packages/flow-train/bin/mmmi-train.js'),
  fid: join(repo, 'packages/fid/bin/mmmi-fid.js'),
  bench: join(repo, 'packages/mi-bench/bin/mmmi-bench.js'),
};
const fig1 = join(repo, 'generation_arguments/simple_fig1_DAG.txt');

interface Case {
  name: string;
  cli: keyof typeof bin;
  /** Arguments; `DIR` is the case's scratch folder. */
  args: string[];
  /** Files to write into the scratch folder first. */
  files?: Record<string, string | Buffer>;
  env?: Record<string, string>;
}

const free = ['--transform', 'identity', '--dataset_size', '4', '--preview', '0'];

/** A valid 32×32 8-bit grey PNG of one value. */
function greyPng(value: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(32, 0);
  ihdr.writeUInt32BE(32, 4);
  ihdr[8] = 8;
  const row = Buffer.alloc(33, value);
  row[0] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: 32 }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
const gen = (...extra: string[]) => [`@${fig1}`, ...free, '--dataset_loc', 'DIR/out', ...extra];
const pngHeader = (colorType: number, depth: number) => {
  const b = Buffer.alloc(40);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  b[24] = depth;
  b[25] = colorType;
  return b;
};

const CASES: Case[] = [
  // argument files and tokens
  { name: 'forgotten @ before the argument file', cli: 'generate', args: [fig1, '--dataset_loc', 'DIR/out'] },
  { name: 'bare @', cli: 'generate', args: ['@', ...free, '--dataset_loc', 'DIR/out'] },
  { name: 'stray token', cli: 'generate', args: gen('oops') },
  { name: 'inline comment in a file', cli: 'generate', args: ['@DIR/a.txt', ...free, '--dataset_loc', 'DIR/out'], files: { 'a.txt': '--N_mod 2 # two\n' } },
  { name: 'empty argument file', cli: 'generate', args: ['@DIR/e.txt', '--dataset_loc', 'DIR/out'], files: { 'e.txt': '# nothing\n' } },
  { name: 'self-including file', cli: 'generate', args: ['@DIR/s.txt'], files: { 's.txt': '--N_mod 2\n@DIR/s.txt\n' } },
  { name: 'two files including each other', cli: 'generate', args: ['@DIR/p.txt'], files: { 'p.txt': '@DIR/q.txt\n', 'q.txt': '@DIR/p.txt\n' } },
  { name: 'missing argument file', cli: 'generate', args: ['@DIR/none.txt'] },
  { name: 'argument file is a folder', cli: 'generate', args: ['@DIR'] },
  { name: 'unknown flag', cli: 'generate', args: gen('--datset_size', '3') },
  { name: 'flag without value', cli: 'generate', args: gen('--dataset_size') },
  { name: 'non-integer size', cli: 'generate', args: gen('--dataset_size', '2.5') },
  { name: 'negative size', cli: 'generate', args: gen('--dataset_size', '-3') },
  { name: 'zero size', cli: 'generate', args: gen('--dataset_size', '0') },
  { name: 'list with spaces split', cli: 'generate', args: gen('--rho_arg', '[0.1,', '0.2]') },
  { name: 'list of wrong length', cli: 'generate', args: gen('--rho_arg', '[0.1,0.2,0.3]') },
  { name: 'matrix of wrong shape', cli: 'generate', args: gen('--DAG_ul', '[[1,0,0],[0,1,0]]') },
  { name: 'not JSON', cli: 'generate', args: gen('--rho_arg', '[0.1;0.2]') },
  { name: 'NaN coefficient', cli: 'generate', args: gen('--alpha', 'NaN') },
  { name: 'percentile as percent', cli: 'generate', args: gen('--percentile_to_align', '95') },
  { name: 'labels too few for N_mod', cli: 'generate', args: gen('--labels', '[1]') },
  { name: 'unknown transform', cli: 'generate', args: gen('--transform', 'sigmoid') },
  { name: 'unknown scaling', cli: 'generate', args: gen('--scaling', 'log') },
  { name: 'transform and checkpoint both', cli: 'generate', args: gen('--checkpoint_path', 'default') },
  { name: 'missing checkpoint file', cli: 'generate', args: [`@${fig1}`, '--checkpoint_path', 'DIR/none.safetensors', '--dataset_loc', 'DIR/out'] },
  { name: 'unknown registry name', cli: 'generate', args: [`@${fig1}`, '--checkpoint_path', 'no-such-model', '--dataset_loc', 'DIR/out'] },
  {
    name: 'checkpoint that is not a checkpoint',
    cli: 'generate',
    args: [`@${fig1}`, '--checkpoint_path', 'DIR/x.safetensors', '--dataset_loc', 'DIR/out'],
    files: { 'x.safetensors': 'hello' },
  },
  { name: 'labels beyond the model classes', cli: 'generate', args: [`@${fig1}`, '--labels', '[1,11]', '--dataset_size', '2', '--dataset_loc', 'DIR/out'] },
  { name: 'mod_dim other than 3072 with a flow', cli: 'generate', args: [`@${fig1}`, '--mod_dim', '16', '--dataset_loc', 'DIR/out'] },
  { name: 'cuda provider not installed', cli: 'generate', args: [`@${fig1}`, '--engine', 'onnx', '--ep', 'cuda', '--dataset_loc', 'DIR/out'] },
  { name: 'job id beyond the streams', cli: 'generate', args: gen('--job_id', String(2 ** 20)) },
  {
    name: 'template folder with the wrong count',
    cli: 'generate',
    args: gen('--T_vectors_method', 'DIR/tpl', '--mod_dim', '3072'),
    files: { 'tpl/a.png': pngHeader(2, 8) },
  },
  {
    name: 'grey template PNGs',
    cli: 'generate',
    args: [...gen('--mod_dim', '3072', '--T_vectors_method', 'DIR/grey')],
    files: { 'grey/a.png': greyPng(100), 'grey/b.png': greyPng(200) },
  },
  {
    name: 'npy templates of the wrong shape',
    cli: 'generate',
    args: gen('--T_vectors_method', 'DIR/t.npy'),
    files: { 't.npy': Buffer.from('\x93NUMPY\x01\x00v\x00' + "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 4, 2), }".padEnd(117) + '\n', 'latin1') },
  },
  // overwriting, racing
  { name: 'another job into a finished shard name', cli: 'generate', args: [`@${fig1}`, ...free, '--dataset_loc', 'DIR/done', '--sample_seed', '5'] },
  { name: 'foreign .npz at the shard name', cli: 'generate', args: gen(), files: { 'out/simple_fig1_DAG_0.npz': 'not mine' } },
  {
    name: 'lock held by a live process',
    cli: 'generate',
    args: gen(),
    files: { 'out/.simple_fig1_DAG_0.lock': `{"pid": ${process.pid}, "host": "${(await import('node:os')).hostname()}", "started": "now"}` },
  },
  { name: 'verify a corrupted shard', cli: 'generate', args: ['verify', 'DIR/corrupt'] },
  { name: 'verify a missing folder', cli: 'generate', args: ['verify', 'DIR/none'] },
  // whitening, scaling and inversion (issue #22)
  { name: 'whiten: not on or off', cli: 'generate', args: gen('--whiten', 'yes') },
  {
    name: 'whiten a modality without a local proto-latent',
    cli: 'generate',
    args: gen('--whiten', 'on', '--N_u', '1', '--DAG_ul', '[[1],[0]]', '--rho_arg', '[0.9]'),
  },
  { name: 'scaling: unknown name', cli: 'generate', args: gen('--scaling', 'unit') },
  { name: 'verify --draws without --invert', cli: 'generate', args: ['verify', 'DIR/done', '--draws', '2'] },
  { name: 'verify --invert with 0 draws', cli: 'generate', args: ['verify', 'DIR/done', '--invert', '--draws', '0'] },
  { name: 'index of a folder without shards', cli: 'generate', args: ['index', 'DIR'] },
  { name: 'index with shards of two datasets', cli: 'generate', args: ['index', 'DIR/mixed'] },
  { name: 'dataset folder is a file', cli: 'generate', args: [`@${fig1}`, ...free, '--dataset_loc', 'DIR/file'], files: { file: 'x' } },
  // mmmi-latents
  { name: 'latents: unknown query modality', cli: 'latents', args: ['mi', `@${fig1}`, '--query', 'X7;theta'] },
  { name: 'latents: malformed query', cli: 'latents', args: ['mi', `@${fig1}`, '--query', 'X1;;'] },
  { name: 'latents: stray token', cli: 'latents', args: ['mi', `@${fig1}`, 'extra'] },
  { name: 'latents: unknown command', cli: 'latents', args: ['mutual', `@${fig1}`] },
  { name: 'latents: not positive definite', cli: 'latents', args: ['mi', `@${fig1}`, '--cov_theta', '[5,5]'] },
  // mmmi-train
  { name: 'train: unknown flag', cli: 'train', args: ['train', '--epoch', '3'] },
  { name: 'train: bad JSON options', cli: 'train', args: ['train', '--ode_options', '{nfe: 5}'] },
  {
    name: 'train: no data and no network',
    cli: 'train',
    args: ['train', '--dataset', 'cifar10', '--config', 'tiny', '--output_dir', 'DIR/run'],
    env: { MMMI_CACHE: 'DIR/cache', MMMI_CIFAR10_URL: 'http://127.0.0.1:9/none.tar.gz' },
  },
  { name: 'train: image folder missing', cli: 'train', args: ['train', '--dataset', 'imagefolder', '--data_path', 'DIR/none'] },
  {
    name: 'train: --resume of a missing file',
    cli: 'train',
    args: ['train', '--dataset', 'cifar10', '--resume', 'DIR/none.safetensors', '--output_dir', 'DIR/run'],
  },
  { name: 'train: unknown configuration', cli: 'train', args: ['train', '--config', 'huge'] },
  {
    name: 'train: webgpu without adapter',
    cli: 'train',
    args: ['sample', '--checkpoint', 'default', '--engine', 'tfjs', '--backend', 'webgpu', '--n', '1'],
    env: { MMMI_WEBGPU_BACKENDS: 'default' },
  },
  {
    name: 'train: sample --threads negative',
    cli: 'train',
    args: ['sample', '--checkpoint', 'default', '--engine', 'tfjs', '--backend', 'cpu', '--threads', '-1'],
  },
  { name: 'train: sample --n not a number', cli: 'train', args: ['sample', '--checkpoint', 'default', '--n', 'many'] },
  { name: 'train: sample unknown solver', cli: 'train', args: ['sample', '--checkpoint', 'default', '--ode_method', 'rk45'] },
  { name: 'train: sample label out of range', cli: 'train', args: ['sample', '--checkpoint', 'default', '--labels', '12'] },
  { name: 'train: export without --out', cli: 'train', args: ['export', '--checkpoint', 'default'] },
  { name: 'train: info of a missing file', cli: 'train', args: ['info', 'DIR/none.safetensors'] },
  // mmmi-fid
  { name: 'fid: missing statistics file', cli: 'fid', args: ['DIR/a.npz', 'DIR/b.npz'] },
  { name: 'fid: not an npz', cli: 'fid', args: ['DIR/a.npz', 'DIR/b.npz'], files: { 'a.npz': 'x', 'b.npz': 'y' } },
  { name: 'fid: unknown option', cli: 'fid', args: ['--batchsize', '5', 'DIR/a', 'DIR/b'] },
  { name: 'fid: non-symmetric sigma', cli: 'fid', args: ['DIR/s1.npz', 'DIR/s2.npz'] },
  { name: 'fid realism: missing data', cli: 'fid', args: ['realism', '--data', 'DIR/none.npz'] },
  { name: 'fid realism: not a shard', cli: 'fid', args: ['realism', '--data', 'DIR/a.npz'], files: { 'a.npz': 'x' } },
  { name: 'fid realism: a modality beyond the shard', cli: 'fid', args: ['realism', '--data', 'DIR/done', '--modality', '5'] },
  // mmmi-bench (the 'done' folder holds 4 draws of simple_fig1_DAG)
  { name: 'bench: no --data', cli: 'bench', args: ['estimate', '--pair', 'X1;θ'] },
  { name: 'bench: unknown pair name', cli: 'bench', args: ['estimate', '--data', 'DIR/done', '--pair', 'X3;θ'] },
  { name: 'bench: more samples than draws', cli: 'bench', args: ['estimate', '--data', 'DIR/done', '--pair', 'X1;θ', '--n', '100'] },
  { name: 'bench: Gaussian fit on raw pixels', cli: 'bench', args: ['estimate', '--data', 'DIR/done', '--pair', 'X1;θ', '--features', 'pixels', '--n', '4'] },
  { name: 'bench: two datasets, no index', cli: 'bench', args: ['estimate', '--data', 'DIR/mixed', '--pair', 'X1;θ'] },
  {
    name: 'bench: a finished report in --out',
    cli: 'bench',
    args: [
      'estimate',
      '--data',
      'DIR/done',
      '--pair',
      'X1;θ',
      '--estimators',
      'gaussian',
      '--features',
      'pca1',
      '--n',
      '4',
      '--seeds',
      '1',
      '--out',
      'DIR/rep',
    ],
    files: { 'rep/README.md': '# an earlier report\n' },
  },
  { name: 'bench: external estimator without a command', cli: 'bench', args: ['estimate', '--data', 'DIR/done', '--pair', 'X1;θ', '--estimators', 'external'] },
  { name: 'bench: PMI of two modalities', cli: 'bench', args: ['pmi', '--data', 'DIR/done', '--pair', 'X1;X2'] },
  { name: 'bench: unknown regression model', cli: 'bench', args: ['regress', '--data', 'DIR/done', '--subsets', 'X1', '--models', 'forest'] },
];

/** A finished shard (the 'done' folder), a corrupted copy, and two datasets in one folder. */
function prepare(dir: string): void {
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin.generate, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`preparing: ${r.stderr}`);
  };
  run([`@${fig1}`, ...free, '--dataset_loc', join(dir, 'done')]);
  mkdirSync(join(dir, 'corrupt'));
  for (const f of readdirSync(join(dir, 'done'))) copyFileSync(join(dir, 'done', f), join(dir, 'corrupt', f));
  const npz = join(dir, 'corrupt', 'simple_fig1_DAG_0.npz');
  const bytes = readFileSync(npz);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(npz, bytes);
  run([`@${fig1}`, ...free, '--dataset_loc', join(dir, 'mixed'), '--dataset_name', 'a']);
  run([`@${fig1}`, ...free, '--dataset_loc', join(dir, 'mixed'), '--dataset_name', 'b']);
  // fid statistics with a non-symmetric sigma (NumPy's np.savez layout via our writer)
  const stats = (sigma: number[]) =>
    spawnSync(process.execPath, [
      '--input-type=module',
      '-e',
      `const { writeNpz } = await import(${JSON.stringify(join(repo, 'packages/formats/dist/index.js'))}); await writeNpz(process.argv[1], { mu: { dtype: '<f8', shape: [2], data: Float64Array.of(0, 0) }, sigma: { dtype: '<f8', shape: [2, 2], data: Float64Array.from(${JSON.stringify(sigma)}) } });`,
      join(dir, sigma[1] === sigma[2] ? 's1.npz' : 's2.npz'),
    ]);
  stats([1, 0, 0, 1]);
  stats([1, 0.5, 0.1, 1]);
}

const doneBytes = (dir: string) => readFileSync(join(dir, 'done', 'simple_fig1_DAG_0.npz'));

const list = process.argv.includes('--list');
const base = mkdtempSync(join(tmpdir(), 'mmmi-bad-inputs-'));
const counts = { clear: 0, stack: 0, silent: 0, lost: 0 };
const exits: Record<string, number> = {};
try {
  for (const c of CASES) {
    const dir = join(base, String(CASES.indexOf(c)));
    mkdirSync(dir, { recursive: true });
    prepare(dir);
    const before = doneBytes(dir);
    for (const [name, content] of Object.entries(c.files ?? {})) {
      const path = join(dir, name.replace('DIR/', ''));
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, typeof content === 'string' ? content.replaceAll('DIR', dir) : content);
    }
    const sub = (s: string) => s.replaceAll('DIR', dir);
    const env = { ...process.env, ...Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, sub(v)])) };
    const r = spawnSync(process.execPath, [bin[c.cli], ...c.args.map(sub)], { encoding: 'utf8', env, timeout: 300_000, cwd: repo });
    const err = `${r.stderr ?? ''}`;
    const stack = /^\s+at .+:\d+:\d+\)?$/m.test(err) || /^\s+at /m.test(err);
    let after: Buffer | undefined;
    try {
      after = doneBytes(dir);
    } catch {
      after = undefined;
    }
    const lost = !after || !after.equals(before);
    const kind = lost ? 'lost' : stack ? 'stack' : r.status === 0 ? 'silent' : 'clear';
    counts[kind]++;
    exits[String(r.status)] = (exits[String(r.status)] ?? 0) + 1;
    const line =
      err
        .trim()
        .split('\n')
        .filter((l) => !/^\s+at /.test(l))
        .pop() ?? '';
    process.stdout.write(`${kind.padEnd(6)} ${c.cli.padEnd(8)} ${c.name}: exit ${r.status}${list || kind !== 'clear' ? ` — ${line.slice(0, 200)}` : ''}\n`);
    rmSync(dir, { recursive: true, force: true });
    chmodSync(base, 0o755);
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
process.stdout.write(
  `\n${CASES.length} cases: ${counts.clear} clear, ${counts.stack} stack traces, ${counts.silent} silent, ${counts.lost} lost; exit codes ${Object.entries(
    exits,
  )
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ')} (2 the input is wrong, 1 the run failed)\n`,
);
