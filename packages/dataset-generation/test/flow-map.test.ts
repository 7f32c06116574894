/**
 * The flow map end to end: a tiny random-weight flow checkpoint (32×32, so it takes the
 * latents) maps the latents to images; the saved images equal an independent integration
 * of the saved latents with flow-train's API, the MI table is the latents', and bad
 * checkpoints fail before any work.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readNpz } from '@mmmi/formats';
import {
  buildArchitecture,
  FlowModel,
  integrateFlow,
  registerModel,
  uniformGrid,
  unetConfig,
  writeCheckpoint,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type ParamValues,
} from '@mmmi/flow-train';
import { latentModelFromTokens, marginalWhitening, miTable, structureFromDescription } from '@mmmi/latents';
import { Rng } from '@mmmi/latents';
import { openWebGpuAdapter } from '@mmmi/tfjs-runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, prepareJob } from '../src/generate.js';
import type { Manifest } from '../src/manifest.js';

// every job's inversion check (src/inversion.ts; tested in inversion.test.ts) would multiply the time of these tiny jobs on tfjs several times over
process.env.MMMI_INVERSION_DRAWS = '0';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'mmmi-flowmap-'));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
const config = { ...unetConfig('tiny'), name: 'tiny32', imageSize: 32 };

/** Random non-zero weights everywhere (the zero-initialised output layers would make the flow the identity). */
function randomWeights(seed: number): ParamValues {
  const arch = buildArchitecture(config);
  const values: ParamValues = new Map();
  arch.params.forEach((p, i) => {
    const rng = new Rng(seed, i);
    const n = p.shape.reduce((a, b) => a * b, 1);
    const scale = p.kind === 'norm-weight' ? 0 : 0.5 / Math.sqrt(Math.max(1, p.fanIn));
    const data = new Float32Array(n);
    for (let k = 0; k < n; k++) data[k] = (p.kind === 'norm-weight' ? 1 : 0) + scale * rng.normal();
    if (p.kind === 'embedding') data.fill(0, config.numClasses * p.shape[1]);
    values.set(p.name, data);
  });
  return values;
}

let ckptPath: string;
let weights: ParamValues;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const dir = tmp();
  ckptPath = join(dir, 'tiny32.safetensors');
  weights = randomWeights(5);
  await writeCheckpoint(ckptPath, {
    meta: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      config,
      parameters: buildArchitecture(config).parameterCount,
      weights: 'ema',
      sampling: { odeMethod: 'heun2', odeOptions: { nfe: 2 }, cfgScale: 0.3, edmSchedule: false },
      trainArgs: {},
      provenance: { test: true },
    },
    weights,
  });
});

/** Where no WebGPU adapter opens (software ones count: CI has Mesa's), the webgpu case is skipped with the reason. */
const noWebGpu = await openWebGpuAdapter({ allowSoftware: true }).then(
  () => undefined,
  (e: Error) => e.message,
);
if (noWebGpu) process.stderr.write(`flow map on webgpu skipped: ${noWebGpu}\n`);

/** max |X_a − X_ref| / max |X_ref| over two shards' images. */
async function imagesRelDiff(npz: string, refNpz: string): Promise<number> {
  const x = (await readNpz(npz)).get('X')!.data as Float32Array;
  const ref = (await readNpz(refNpz)).get('X')!.data as Float32Array;
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return worst / scale;
}

const args = (dir: string, ...extra: string[]) => [
  `@${repo}generation_arguments/simple_fig1_DAG.txt`,
  '--checkpoint_path',
  ckptPath,
  '--dataset_loc',
  dir,
  '--dataset_size',
  '3',
  '--batch_size',
  '4',
  '--backend',
  'cpu',
  ...extra,
];

describe('flow map', { timeout: 900_000 }, () => {
  it('maps the latents through the checkpoint: X equals an independent integration of Noise', async () => {
    const dir = tmp();
    const r = await generate(args(dir, '--scaling', 'float', '--calculate_MI', 'analytical'), quiet);
    const npz = await readNpz(r.npzPath);
    const X = npz.get('X')!;
    const noise = npz.get('Noise')!;
    expect(X.shape).toEqual([3, 2, 3, 32, 32]);
    const labels = Array.from(npz.get('labels')!.data as Int32Array).slice(0, 2);
    // the flow is fed the whitened latents (the default): Σ_ii^(−1/2)·Noise from the manifest's structure
    const manifest = JSON.parse(readFileSync(r.manifestPath, 'utf8')) as Manifest;
    expect(manifest.map.whitening).toBeDefined();
    const whitenings = marginalWhitening(structureFromDescription(manifest.latent.structure as never));
    const fed = new Float64Array(noise.data.length);
    for (let d = 0; d < 3; d++) for (let m = 0; m < 2; m++) whitenings[m].whiten(noise.data as Float32Array, (d * 2 + m) * 3072, fed, (d * 2 + m) * 3072);
    // independent: flow-train's API on the saved latents, NCHW → NHWC by hand
    const model = new FlowModel(config, weights);
    const px = 3 * 32 * 32;
    let maxDiff = 0;
    let maxRef = 0;
    for (let m = 0; m < 2; m++) {
      const nhwc = new Float32Array(3 * px);
      for (let d = 0; d < 3; d++) for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) nhwc[d * px + p * 3 + c] = fed[(d * 2 + m) * px + c * 1024 + p];
      const { x } = integrateFlow(
        model,
        model.params,
        tf.tensor4d(nhwc, [3, 32, 32, 3]),
        new Int32Array(3).fill(labels[m]),
        { odeMethod: 'heun2', odeOptions: { nfe: 2 }, cfgScale: 0.3, edmSchedule: false },
        { timeGrid: uniformGrid(2) },
      );
      const out = x.dataSync();
      for (let d = 0; d < 3; d++) {
        for (let c = 0; c < 3; c++) {
          for (let p = 0; p < 1024; p++) {
            const ref = out[d * px + p * 3 + c];
            const got = (X.data as Float32Array)[(d * 2 + m) * px + c * 1024 + p];
            maxDiff = Math.max(maxDiff, Math.abs(ref - got));
            maxRef = Math.max(maxRef, Math.abs(ref));
          }
        }
      }
    }
    model.dispose();
    expect(maxDiff / maxRef).toBeLessThan(1e-5);
    // the flow changed the images (not the identity)
    let moved = 0;
    for (let i = 0; i < X.data.length; i++) moved = Math.max(moved, Math.abs((X.data as Float32Array)[i] - (noise.data as Float32Array)[i]));
    expect(moved).toBeGreaterThan(0.1);
    expect(manifest.map.kind).toBe('flow');
    expect(manifest.map.flow).toMatchObject({ configuration: 'tiny32', ode_method: 'heun2', cfg_scale: 0.3, weights: 'ema' });
    expect(manifest.map.checkpoint_sha256).toMatch(/^[0-9a-f]{64}$/);
    // the MI table is the latents' (the map does not change it)
    const latent = await latentModelFromTokens([`@${repo}generation_arguments/simple_fig1_DAG.txt`]);
    const expected = miTable(latent.structure, 'analytical');
    expect(manifest.mi!.values).toEqual(expected.values.map((v: number) => (Number.isFinite(v) ? v : String(v))));
  });

  it('overrides (solver, steps, grid, guidance) are used and recorded', async () => {
    const dir = tmp();
    const r = await generate(args(dir, '--ode_method', 'euler', '--ode_nfe', '3', '--ode_grid', 'edm', '--cfg_scale', '0'), quiet);
    const manifest = JSON.parse(readFileSync(r.manifestPath, 'utf8'));
    expect(manifest.map.flow.ode_method).toBe('euler');
    expect(manifest.map.flow.cfg_scale).toBe(0);
    expect(manifest.map.flow.time_grid).toHaveLength(4);
    expect(manifest.map.flow.time_grid[0]).toBeGreaterThan(0.01);
  });

  it('--threads 2 integrates shards of each batch on a worker thread: the same images, recorded, and the same job for resuming', async () => {
    const one = tmp();
    const two = tmp();
    // wasm (as users run it), one batch of 2 draws: each modality's 2 rows split 1 + 1
    const fast = ['--engine', 'tfjs', '--backend', 'wasm', '--dataset_size', '2', '--scaling', 'float'];
    const r1 = await generate(args(one, ...fast, '--threads', '1'), quiet);
    const r2 = await generate(args(two, ...fast, '--threads', '2'), quiet);
    const x1 = (await readNpz(r1.npzPath)).get('X')!.data as Float32Array;
    const x2 = (await readNpz(r2.npzPath)).get('X')!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < x1.length; i++) worst = Math.max(worst, Math.abs(x1[i] - x2[i]));
    expect(worst).toBeLessThan(1e-4);
    expect(JSON.parse(readFileSync(r1.manifestPath, 'utf8')).map.flow.threads).toBe(1);
    expect(JSON.parse(readFileSync(r2.manifestPath, 'utf8')).map.flow.threads).toBe(2);
    // the thread count is not part of the job's identity: the finished one-thread shard is reused
    expect((await generate(args(one, ...fast, '--threads', '2'), quiet)).skipped).toBe(true);
  });

  it('--engine onnx and tfjs give the same images (1e-4), are recorded, and are the same job for resuming', async () => {
    const viaOrt = tmp();
    const viaTfjs = tmp();
    const common = ['--dataset_size', '2', '--scaling', 'float'];
    const ro = await generate(args(viaOrt, ...common, '--engine', 'onnx', '--threads', '1'), quiet);
    const rt = await generate(args(viaTfjs, ...common, '--engine', 'tfjs', '--threads', '1'), quiet);
    expect(await imagesRelDiff(ro.npzPath, rt.npzPath)).toBeLessThan(1e-4);
    const mo = JSON.parse(readFileSync(ro.manifestPath, 'utf8'));
    const mt = JSON.parse(readFileSync(rt.manifestPath, 'utf8'));
    expect(mo.map.flow.engine).toMatchObject({ engine: 'onnx', provider: 'cpu', threads: 1 });
    expect(mo.map.flow.engine.graph_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(mt.map.flow.engine).toMatchObject({ engine: 'tfjs', provider: 'cpu' });
    // the engine is not part of the job's identity: the finished shard is reused
    expect((await generate(args(viaOrt, ...common, '--engine', 'tfjs', '--threads', '1'), quiet)).skipped).toBe(true);
  });

  it.skipIf(noWebGpu !== undefined)('--engine tfjs --backend webgpu gives the cpu images (1e-4), is recorded, and is the same job', async () => {
    const onCpu = tmp();
    const onGpu = tmp();
    const common = ['--dataset_size', '2', '--scaling', 'float', '--engine', 'tfjs', '--threads', '1'];
    const rc = await generate(args(onCpu, ...common), quiet);
    const onWebGpu = (dir: string) => args(dir, ...common).map((t, i, all) => (all[i - 1] === '--backend' ? 'webgpu' : t));
    const rg = await generate(onWebGpu(onGpu), quiet);
    expect(await imagesRelDiff(rg.npzPath, rc.npzPath)).toBeLessThan(1e-4);
    expect(JSON.parse(readFileSync(rg.manifestPath, 'utf8')).map.flow.engine).toMatchObject({ engine: 'tfjs', provider: 'webgpu', threads: 1 });
    // the backend is not part of the job's identity: the finished cpu shard is reused
    expect((await generate(onWebGpu(onCpu), quiet)).skipped).toBe(true);
    await tf.setBackend('cpu');
  });

  it('--engine onnx --ep cuda without the CUDA provider is a clear error before any shard is written', async () => {
    const dir = tmp();
    await expect(generate(args(dir, '--engine', 'onnx', '--ep', 'cuda'), quiet)).rejects.toThrow(
      /execution provider cuda is not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12/,
    );
    expect(readdirSync(dir).filter((f) => f.endsWith('.npz') || f.includes('partial'))).toEqual([]);
  });

  it('resolves registry names, and a changed checkpoint is caught by its sha256 before any work', async () => {
    const reg = tmp();
    const copy = join(reg, 'm.safetensors');
    writeFileSync(copy, readFileSync(ckptPath));
    await registerModel(reg, 'tiny32', {
      file: 'm.safetensors',
      sha256: '0'.repeat(64),
      bytes: 1,
      config: 'tiny32',
      parameters: 1,
      created: new Date().toISOString(),
    });
    await expect(prepareJob(args(tmp(), '--registry', reg).map((t) => (t === ckptPath ? 'tiny32' : t)))).rejects.toThrow(/corrupt or was replaced/);
  });

  it('labels beyond the model\'s classes are refused before any shard is written (its "no label" class is allowed)', async () => {
    const dir = tmp();
    await expect(generate(args(dir, '--labels', '[1,11]'), quiet)).rejects.toThrow(
      /--labels \[1,11\]: the flow model .*tiny32\.safetensors knows classes 0–9 \(and 10 = no label\); 11 is not among them/,
    );
    expect(readdirSync(dir).filter((f) => f.endsWith('.npz') || f.includes('partial'))).toEqual([]);
    expect((await generate(args(tmp(), '--labels', '[1,10]', '--dataset_size', '1'), quiet)).count).toBe(1);
  });

  it('a missing checkpoint, or one whose images are not 32×32, is a clear error', async () => {
    await expect(prepareJob(args(tmp()).map((t) => (t === ckptPath ? '/nonexistent/model.safetensors' : t)))).rejects.toThrow(/does not exist/);
    const pth = join(repo, 'packages/flow-train/test/fixtures/torch-unet/tiny_checkpoint.pth');
    const openFiles = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const before = openFiles();
    const dir = tmp();
    await expect(
      generate(
        args(dir).map((t) => (t === ckptPath ? pth : t)),
        quiet,
      ),
    ).rejects.toThrow(/has shape \[128,32\], configuration .cifar10. expects \[512,128\]/);
    // A failed job leaves no open files to the garbage collector, and a bad map fails before a partial shard exists.
    expect(openFiles()).toBeLessThanOrEqual(before);
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});
