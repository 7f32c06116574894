/**
 * Flow-map throughput of the two engines side by side, in one process, interleaved:
 * images/s of integrateFlowRows (heun2 on the 9-step EDM grid with CFG, the default job's
 * sampling) with the tfjs forward pass (wasm, data-parallel model threads) and with ONNX
 * Runtime (intra-op threads), for each thread count and batch. `--steps` grid steps are timed
 * after one untimed step; the cost per step does not depend on t, so
 * images/s = batch / (seconds per step × 9). Ratios ORT/tfjs are of the same run.
 *
 *   npx tsx bench/engine.bench.ts [--model default | --config cifar10] [--batch 16,64] [--threads 1,2]
 *                                 [--steps 2] [--engines tfjs,onnx] [--repeats 1]
 *
 * --config uses random weights of a named configuration (e.g. the paper's cifar10);
 * --model a registry model (default: the built-in cifar10-small). Prints one JSON line a
 * measurement, then a table.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { prepareBackend } from '@mmmi/tfjs-runtime';
import { openEngine, type OrtEngine } from '../src/engine/index.js';
import { FlowModel } from '../src/flow-model.js';
import { ModelThreads } from '../src/parallel/model-threads.js';
import { loadModel } from '../src/registry.js';
import { integrateFlowRows, noiseBatch } from '../src/sample.js';
import { edmGrid } from '../src/time-grid.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { initialParamValues, type ParamValues } from '../src/unet/params.js';
import { unetConfig, type UNetConfig } from '../src/unet/config.js';

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string' },
    config: { type: 'string' },
    batch: { type: 'string', default: '16,64' },
    threads: { type: 'string', default: '1,2' },
    steps: { type: 'string', default: '2' },
    engines: { type: 'string', default: 'tfjs,onnx' },
    repeats: { type: 'string', default: '1' },
  },
});
const GRID_STEPS = 9;
const steps = Number(opts.steps);
let config: UNetConfig;
let values: ParamValues;
let label: string;
let sha = '0'.repeat(64);
if (opts.config) {
  config = unetConfig(opts.config);
  const arch = buildArchitecture(config);
  values = initialParamValues(arch, 1);
  // zero-initialised output layers would make the velocity trivially zero
  for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += 0.01 * Math.sin(i * 0.37 + v.length);
  label = `${config.name} (random weights)`;
  sha = `${'f'.repeat(56)}${config.name.length.toString(16).padStart(8, '0')}`;
} else {
  const ckpt = await loadModel(opts.model ?? 'default');
  config = ckpt.meta.config;
  values = ckpt.weights;
  label = ckpt.resolved.name ?? ckpt.resolved.path;
  sha = ckpt.sha256!;
}
const backend = await prepareBackend('wasm', { log: () => {} });
const grid = edmGrid(GRID_STEPS).slice(0, steps + 2);
const settings = { odeMethod: 'heun2', odeOptions: { nfe: GRID_STEPS }, cfgScale: 0.2, edmSchedule: true };
const model = new FlowModel(config, values);
const cacheDir = mkdtempSync(join(tmpdir(), 'mmmi-engine-bench-'));

async function measure(engineName: string, threads: number, batch: number): Promise<number> {
  const labels = Int32Array.from({ length: batch }, (_, i) => i % config.numClasses);
  const x0 = noiseBatch(model, batch, 3);
  let engine: OrtEngine | undefined;
  let pool: ModelThreads | undefined;
  if (engineName === 'onnx')
    engine = await openEngine({ arch: model.arch, values, checkpointSha256: sha, weights: 'live' }, { engine: 'onnx', threads, cacheDir, log: () => {} });
  else if (threads > 1) pool = await ModelThreads.start(config, backend, threads - 1);
  try {
    await integrateFlowRows(model, model.params, x0, labels, settings, { timeGrid: grid.slice(0, 2), threads: pool, engine });
    const t0 = performance.now();
    await integrateFlowRows(model, model.params, x0, labels, settings, { timeGrid: grid.slice(1, steps + 2), threads: pool, engine });
    const perStep = (performance.now() - t0) / 1000 / steps;
    return batch / (perStep * GRID_STEPS);
  } finally {
    await engine?.close();
    await pool?.close();
  }
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const results = new Map<string, number[]>();
for (let r = 0; r < Number(opts.repeats); r++) {
  for (const batch of opts.batch!.split(',').map(Number)) {
    for (const threads of opts.threads!.split(',').map(Number)) {
      for (const engine of opts.engines!.split(',')) {
        const ips = await measure(engine, threads, batch);
        const key = `${batch}|${threads}|${engine}`;
        results.set(key, [...(results.get(key) ?? []), ips]);
        console.log(
          JSON.stringify({
            kind: 'engine',
            model: label,
            config: config.name,
            engine,
            backend: engine === 'tfjs' ? backend : 'cpu',
            batch,
            threads,
            timedSteps: steps,
            imagesPerSecond: ips,
          }),
        );
      }
    }
  }
}
console.log(`\n${label}: flow-map images/s (heun2, ${GRID_STEPS} EDM steps, CFG 0.2; median of ${opts.repeats})`);
console.log('| batch, threads | tfjs wasm | ONNX Runtime cpu | ratio |\n|---|---|---|---|');
for (const batch of opts.batch!.split(',').map(Number)) {
  for (const threads of opts.threads!.split(',').map(Number)) {
    const t = results.get(`${batch}|${threads}|tfjs`);
    const o = results.get(`${batch}|${threads}|onnx`);
    const fmt = (v?: number[]) => (v ? median(v).toFixed(2) : '—');
    console.log(`| ${batch}, ${threads} | ${fmt(t)} | ${fmt(o)} | ${t && o ? `×${(median(o) / median(t)).toFixed(2)}` : '—'} |`);
  }
}
model.dispose();
tf.disposeVariables();
