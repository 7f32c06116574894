/**
 * Nothing a run did not make is replaced without --overwrite, and no input is ever written
 * over: `train` into a folder holding a run (refused, the checkpoint kept byte for byte; with
 * --overwrite a fresh run, said in a log line, its old log.txt set aside), a registry entry of
 * another run and an unreadable registry.json; `sample --out` and `export --out` onto the
 * checkpoint they read (through a link too), onto an existing file, and with --overwrite.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePng } from '@mmmi/formats';
import { SeededRandom, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, readCheckpointFile, writeCheckpoint } from '../src/checkpoint.js';
import { main } from '../src/cli.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { microConfig, randomWeights } from './helpers/training.js';

const scratch = tempDir('mmmi-output-rule-');
const data = join(scratch, 'images');
const checkpoint = join(scratch, 'model.safetensors');

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  const rng = new SeededRandom(3);
  for (const cls of ['a', 'b']) {
    mkdirSync(join(data, cls), { recursive: true });
    for (let k = 0; k < 2; k++) await writePng(join(data, cls, `${k}.png`), { width: 8, height: 8, data: rng.bytes(192) });
  }
  // a micro model (8 channels): sampling one image takes a moment
  const config = microConfig();
  const arch = buildArchitecture(config);
  await writeCheckpoint(checkpoint, {
    meta: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      config,
      parameters: arch.parameterCount,
      weights: 'live',
      sampling: { odeMethod: 'euler', odeOptions: { nfe: 1 }, cfgScale: 0, edmSchedule: false },
      trainArgs: {},
      provenance: { source: 'output-rule.test' },
    },
    weights: randomWeights(arch, 1),
  });
});

const trainArgs = (outDir: string, registry: string, ...extra: string[]) => [
  'train',
  '--dataset',
  'imagefolder',
  '--data_path',
  data,
  '--config',
  'tiny',
  '--batch_size',
  '4',
  '--epochs',
  '1',
  '--eval_frequency',
  '1',
  '--grid_per_class',
  '1',
  '--ode_options',
  '{"nfe": 1}',
  '--ode_method',
  'euler',
  '--eval_engine',
  'tfjs',
  '--backend',
  'wasm',
  '--output_dir',
  outDir,
  '--registry',
  registry,
  ...extra,
];

/** A folder as a killed run leaves it: a checkpoint (any bytes: the refusal comes before reading it), log.txt, args.json. */
function runFolder(): { out: string; registry: string; bytes: Buffer } {
  const dir = tempDir('mmmi-output-rule-run-');
  const out = join(dir, 'output_dir');
  mkdirSync(out);
  const bytes = Buffer.from('the checkpoint of three days of training');
  writeFileSync(join(out, 'checkpoint.safetensors'), bytes);
  writeFileSync(join(out, 'log.txt'), '{"epoch":0,"train_loss":0.5}\n{"epoch":1,"train_loss":0.4}\n');
  writeFileSync(join(out, 'args.json'), '{}\n');
  return { out, registry: join(dir, 'registry'), bytes };
}

describe('mmmi-train train: the output folder', () => {
  it('a fresh run into a folder holding a run is refused before any work, saying how to resume; the checkpoint is kept', async () => {
    const { out, registry, bytes } = runFolder();
    const r = await run(trainArgs(out, registry));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^mmmi-train: error: --output_dir .*output_dir: holds a training run \(checkpoint\.safetensors of 0\.0 MB, saved .*; log\.txt up to epoch 1; args\.json\); continue it by rerunning the same command with --resume latest, or pass --overwrite to replace it, or choose another --output_dir\n$/,
    );
    expect(r.err).not.toMatch(/model 'tiny'/);
    expect(readFileSync(join(out, 'checkpoint.safetensors'))).toEqual(bytes);
    expect(existsSync(registry)).toBe(false);
    // a --resume of another checkpoint would write its continuation over this run too
    const other = await run(trainArgs(out, registry, '--resume', checkpoint));
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/holds a training run .*; continue that run with --resume latest instead of --resume .*model\.safetensors, or pass --overwrite/);
    expect(readFileSync(join(out, 'checkpoint.safetensors'))).toEqual(bytes);
  });

  it('--overwrite starts afresh: one log line says what is replaced, the old log.txt is set aside', async () => {
    const { out, registry } = runFolder();
    const r = await run(trainArgs(out, registry, '--overwrite'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(
      /flow-train: --overwrite: starting afresh in .*output_dir, replacing a training run .*; its log\.txt was moved to .*log\.txt\.replaced-/,
    );
    expect((await readCheckpointFile(join(out, 'checkpoint.safetensors'))).meta.progress).toMatchObject({ epoch: 1, imagesSeen: 4 });
    const aside = readdirSync(out).find((f) => f.startsWith('log.txt.replaced-'))!;
    expect(readFileSync(join(out, aside), 'utf8')).toMatch(/"epoch":1,"train_loss":0.4/);
    expect(
      readFileSync(join(out, 'log.txt'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).epoch),
    ).toEqual([0]);
    // and --resume latest continues it without a word about replacing
    const resumed = await run(trainArgs(out, registry, '--resume', 'latest', '--epochs', '2'));
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).not.toMatch(/--overwrite/);
    expect((await readCheckpointFile(join(out, 'checkpoint.safetensors'))).meta.progress).toMatchObject({ epoch: 2, imagesSeen: 8 });
  });

  it("a registry entry of that name for another run's checkpoint, and a registry.json that is not a registry: refused, nothing replaced", async () => {
    const dir = tempDir('mmmi-output-rule-reg-');
    const registry = join(dir, 'registry');
    mkdirSync(registry);
    const entry = { file: '/elsewhere/output_dir/checkpoint.safetensors', sha256: 'x', bytes: 1, config: 'tiny', parameters: 1, created: 'then' };
    const reg = `${JSON.stringify({ format: 'mmmi-model-registry', version: 1, default: 'paper', models: { paper: entry } })}\n`;
    writeFileSync(join(registry, 'registry.json'), reg);
    const taken = await run(trainArgs(join(dir, 'out'), registry, '--name', 'paper'));
    expect(taken.code).toBe(2);
    expect(taken.err).toMatch(
      /registry .*registry\.json already has 'paper' for another checkpoint \(\/elsewhere\/output_dir\/checkpoint\.safetensors\); give --name another name, or pass --overwrite to replace the entry/,
    );
    writeFileSync(join(registry, 'registry.json'), '{"models": "mine"}');
    const foreign = await run(trainArgs(join(dir, 'out'), registry, '--name', 'paper'));
    expect(foreign.code).toBe(2);
    expect(foreign.err).toMatch(
      /^mmmi-train: error: .*registry\.json is not a model registry .*; it is left as it is: move it aside, or give --registry another folder\n$/,
    );
    expect(readFileSync(join(registry, 'registry.json'), 'utf8')).toBe('{"models": "mine"}');
  });
});

describe('mmmi-train sample --out and export --out', () => {
  const sample = (out: string, ...extra: string[]) =>
    run(['sample', '--checkpoint', checkpoint, '--n', '1', '--nfe', '1', '--engine', 'tfjs', '--backend', 'cpu', '--out', out, ...extra]);

  it('never the checkpoint read, even with --overwrite or through a symbolic link', async () => {
    const before = readFileSync(checkpoint);
    const link = join(tempDir('mmmi-output-rule-link-'), 'link.safetensors');
    symlinkSync(checkpoint, link);
    for (const args of [
      ['export', '--checkpoint', checkpoint, '--out', checkpoint, '--overwrite'],
      ['export', '--checkpoint', checkpoint, '--out', link, '--overwrite'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/--out .*: is the input --checkpoint .*model\.safetensors.*; a command never writes over its input, even with --overwrite/);
    }
    const png = await sample(join(tempDir('mmmi-output-rule-x-'), 'model.png'));
    expect(png.code, png.err).toBe(0);
    expect(readFileSync(checkpoint)).toEqual(before);
  });

  it('an existing file: refused without --overwrite and kept; replaced with it; a file of another kind is never written', async () => {
    const dir = tempDir('mmmi-output-rule-out-');
    const grid = join(dir, 'grid.png');
    writeFileSync(grid, 'a foreign file');
    const refused = await sample(grid);
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(
      `mmmi-train: error: --out ${grid}: exists (a file of 14 bytes) and this run did not make it; pass --overwrite to replace it, or choose another --out\n`,
    );
    expect(readFileSync(grid, 'utf8')).toBe('a foreign file');
    const replaced = await sample(grid, '--overwrite');
    expect(replaced.code, replaced.err).toBe(0);
    expect(replaced.err).toMatch(/--overwrite: replacing .*grid\.png \(a file of 14 bytes\)/);
    expect(readFileSync(grid).subarray(1, 4).toString()).toBe('PNG');
    const shard = join(dir, 'data_0.npz');
    writeFileSync(shard, 'a dataset shard');
    const wrongKind = await sample(shard, '--overwrite');
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.err).toMatch(/--out .*data_0\.npz: this command writes a \.png file; name it \*\.png/);
    expect(readFileSync(shard, 'utf8')).toBe('a dataset shard');
    const exportRefused = await run(['export', '--checkpoint', checkpoint, '--out', grid]);
    expect(exportRefused.code).toBe(2);
    expect(exportRefused.err).toMatch(/this command writes a \.safetensors file/);
    const weights = join(dir, 'weights.safetensors');
    writeFileSync(weights, 'old');
    expect((await run(['export', '--checkpoint', checkpoint, '--out', weights])).code).toBe(2);
    expect(readFileSync(weights, 'utf8')).toBe('old');
    const exported = await run(['export', '--checkpoint', checkpoint, '--out', weights, '--overwrite']);
    expect(exported.code, exported.err).toBe(0);
    expect((await readCheckpointFile(weights)).meta.config.name).toBe('micro');
  });
});
