/**
 * `mmmi-train train` end to end on an image-folder dataset (tiny model, wasm): `--resume
 * latest` starts fresh when there is no checkpoint yet and continues when there is one;
 * `--init_from` starts a new run from another run's weights; `sample` and `export` use the
 * result; the registry entry names the checkpoint.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImageRgbSync, writePng } from '@mmmi/formats';
import * as ort from 'onnxruntime-node';
import { SeededRandom } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { readCheckpointFile } from '../src/checkpoint.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
let data: string;

beforeAll(async () => {
  data = tmp('mmmi-imgfolder-');
  const rng = new SeededRandom(7);
  for (const cls of ['cats', 'dogs']) {
    mkdirSync(join(data, cls));
    for (let k = 0; k < 4; k++) await writePng(join(data, cls, `${k}.png`), { width: 8, height: 8, data: rng.bytes(192) });
  }
});

function run(args: string[]) {
  let out = '';
  let err = '';
  return main(args, { out: (t) => (out += t), err: (t) => (err += t) }).then((code) => ({ code, out, err }));
}

const trainArgs = (outDir: string, reg: string, ...extra: string[]) => [
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
  '--use_ema',
  '--output_dir',
  outDir,
  '--registry',
  reg,
  '--backend',
  'wasm',
  ...extra,
];

describe('mmmi-train train (image folder, tiny)', () => {
  it('--resume latest starts fresh, then continues; --init_from warm-starts; sample and export use the result', async () => {
    const out = tmp('mmmi-train-out-');
    const reg = tmp('mmmi-train-reg-');
    const first = await run(trainArgs(out, reg, '--resume', 'latest'));
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/--resume latest: no .*checkpoint.safetensors yet, starting fresh/);
    const ckptPath = join(out, 'checkpoint.safetensors');
    const ckpt = await readCheckpointFile(ckptPath);
    expect(ckpt.meta.progress).toMatchObject({ epoch: 1, iteration: 0, imagesSeen: 8, optimizerSteps: 2 });
    expect(ckpt.ema).toBeDefined();
    const registry = JSON.parse(readFileSync(join(reg, 'registry.json'), 'utf8'));
    expect(Object.values(registry.models)[0]).toMatchObject({ file: ckptPath, config: 'tiny', epoch: 1, imagesSeen: 8 });
    expect(existsSync(join(out, 'samples-epoch0000.png'))).toBe(true);
    // the evaluation grid needs no gradients: ONNX Runtime draws it by default
    expect(first.err).toMatch(/sample grid .*samples-epoch0000.png \(one row per class; ONNX Runtime cpu\)/);
    // log.txt is one JSON line per epoch
    const lines = readFileSync(join(out, 'log.txt'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).epoch)).toEqual([0]);

    // continues: two more epochs from the checkpoint
    const second = await run(trainArgs(out, reg, '--resume', 'latest', '--epochs', '3', '--eval_engine', 'tfjs'));
    expect(second.code, second.err).toBe(0);
    expect(second.err).toMatch(/sample grid .* \(one row per class; tfjs wasm\)/);
    expect(second.err).toMatch(/resumed from .* at epoch 1/);
    expect((await readCheckpointFile(ckptPath)).meta.progress).toMatchObject({ epoch: 3, imagesSeen: 24 });

    // warm start of a new run from the first run's (EMA) weights, fresh optimizer
    const out2 = tmp('mmmi-train-out2-');
    const third = await run(trainArgs(out2, reg, '--init_from', ckptPath, '--name', 'warm'));
    expect(third.code, third.err).toBe(0);
    expect(third.err).toMatch(/starting from the ema weights of .*checkpoint.safetensors \(24 images seen there\), fresh optimizer/);
    expect((await readCheckpointFile(join(out2, 'checkpoint.safetensors'))).meta.progress).toMatchObject({ epoch: 1, imagesSeen: 8, optimizerSteps: 2 });

    // a registry name works for sample (tfjs on 2 threads; ONNX Runtime, the default) and export
    const grid = join(out2, 'grid.png');
    const sampled = await run([
      'sample',
      '--checkpoint',
      'warm',
      '--registry',
      reg,
      '--n',
      '2',
      '--nfe',
      '1',
      '--out',
      grid,
      '--engine',
      'tfjs',
      '--backend',
      'wasm',
      '--threads',
      '2',
    ]);
    expect(sampled.code, sampled.err).toBe(0);
    expect(existsSync(grid)).toBe(true);
    expect(sampled.err).toMatch(/tfjs wasm, 2 threads/);
    const gridOrt = join(out2, 'grid-onnx.png');
    const sampledOrt = await run(['sample', '--checkpoint', 'warm', '--registry', reg, '--n', '2', '--nfe', '1', '--out', gridOrt, '--threads', '1']);
    expect(sampledOrt.code, sampledOrt.err).toBe(0);
    expect(sampledOrt.err).toMatch(/onnx cpu, 1 threads/);
    // the two engines give the same 8-bit images but for rare rounding at a quantisation step
    const [a, b] = [readImageRgbSync(grid).data, readImageRgbSync(gridOrt).data];
    expect(a.length).toBe(b.length);
    expect(a.every((v, i) => Math.abs(v - b[i]) <= 1)).toBe(true);
    const noCuda = await run([
      'sample',
      '--checkpoint',
      'warm',
      '--registry',
      reg,
      '--n',
      '1',
      '--out',
      join(out2, 'x.png'),
      '--engine',
      'onnx',
      '--ep',
      'cuda',
    ]);
    expect(noCuda.code).toBe(2);
    expect(noCuda.err).toMatch(/^mmmi-train: error: execution provider cuda is not installed .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(noCuda.err).not.toMatch(/\n\s+at /);
    const onnxFile = join(out2, 'unet.onnx');
    const exportedOnnx = await run(['export', '--format', 'onnx', '--checkpoint', 'warm', '--registry', reg, '--out', onnxFile]);
    expect(exportedOnnx.code, exportedOnnx.err).toBe(0);
    expect(JSON.parse(exportedOnnx.out)).toMatchObject({ format: 'onnx', weights: 'ema', inputs: ['x', 't', 'y'], output: 'v', opset: 17 });
    const session = await ort.InferenceSession.create(onnxFile);
    expect(session.inputNames).toEqual(['x', 't', 'y']);
    await session.release();
    const exported = await run(['export', '--checkpoint', 'warm', '--registry', reg, '--out', join(out2, 'weights.safetensors'), '--float16']);
    expect(exported.code, exported.err).toBe(0);
    const info = JSON.parse(exported.out);
    expect(info.weights).toBe('ema');
    const weightsOnly = await readCheckpointFile(join(out2, 'weights.safetensors'));
    expect(weightsOnly.optimizer).toBeUndefined();
    expect(weightsOnly.meta.weights).toBe('ema');
  });

  it('--init_from of another configuration is refused before training', async () => {
    const out = tmp('mmmi-train-out3-');
    const r = await run(trainArgs(out, tmp('mmmi-reg-'), '--init_from', join(fileDir(), 'fixtures/torch-unet/tiny_checkpoint.pth')));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/tiny_checkpoint.pth: .*(expects|differs)/);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
  });

  it('CIFAR-10 that cannot be downloaded: exit 1 with the reason and what to do, no stack trace; a missing --resume is reported before any download', async () => {
    // a mirror that answers 503 stands for a machine without network
    const server = createServer((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const cache = tmp('mmmi-cifar-');
    const before = { url: process.env.MMMI_CIFAR10_URL, cache: process.env.MMMI_CACHE };
    process.env.MMMI_CIFAR10_URL = `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`;
    process.env.MMMI_CACHE = cache;
    try {
      const out = tmp('mmmi-train-out4-');
      const r = await run(['train', '--dataset', 'cifar10', '--config', 'tiny', '--epochs', '1', '--output_dir', out, '--backend', 'cpu']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/mmmi-train: error: .*127\.0\.0\.1.*503.*; without network, put the file where the line above says, or give --data_path/);
      expect(r.err).not.toMatch(/^\s+at /m);
      const missing = await run(['train', '--dataset', 'cifar10', '--config', 'tiny', '--resume', join(out, 'nope.safetensors'), '--output_dir', out]);
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/--resume .*nope\.safetensors: .* does not exist/);
      expect(missing.err).not.toMatch(/downloading/);
    } finally {
      if (before.url === undefined) delete process.env.MMMI_CIFAR10_URL;
      else process.env.MMMI_CIFAR10_URL = before.url;
      if (before.cache === undefined) delete process.env.MMMI_CACHE;
      else process.env.MMMI_CACHE = before.cache;
      server.close();
    }
  });
});

function fileDir(): string {
  return new URL('.', import.meta.url).pathname;
}
