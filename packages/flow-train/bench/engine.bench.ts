/**
 * Flow-map throughput of the engines side by side, interleaved: images/s of a whole sampling
 * run (heun2 on an `--nfe`-step grid with CFG w = `--cfg_scale`, one forward of the doubled
 * batch per velocity; default 18 steps and w = 2, the built-in model's recipe, i.e. the
 * default job's sampling) with
 *   tfjs    integrateFlowRows with the tfjs forward pass (wasm, data-parallel model threads);
 *   onnx    integrateFlowRows with ONNX Runtime (intra-op threads);
 *   torch   bench/torch_baseline.py in its own process (torch.set_num_threads), with the SAME
 *           weights (--weights, the registry file) and a uniform grid of the same length.
 * For each batch and thread count. `--steps` grid steps are timed after one untimed step; the
 * cost per step does not depend on t, so images/s = batch / (seconds per step × nfe). Each
 * repeat runs every cell once, so slow drifts of the machine's load spread over all engines;
 * the table gives the median of `--repeats`, the ratios are of those medians, and the
 * summary names the date and the load average before and after.
 *
 *   npx tsx bench/engine.bench.ts [--model default | --config cifar10] [--batch 16,64] [--threads 1,2]
 *                                 [--steps 2] [--engines tfjs,onnx,torch] [--repeats 3]
 *                                 [--nfe 18] [--cfg_scale 2] [--python /usr/bin/python3]
 *
 * --config uses random weights of a named configuration (e.g. the paper's cifar10; torch's
 * own random initialisation on its side: the same work, not the same numbers);
 * --model a registry model (default: the built-in cifar10-small). Prints one JSON line a
 * measurement, then a table.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
    engines: { type: 'string', default: 'tfjs,onnx,torch' },
    repeats: { type: 'string', default: '3' },
    nfe: { type: 'string', default: '18' },
    cfg_scale: { type: 'string', default: '2' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const GRID_STEPS = Number(opts.nfe);
const CFG = Number(opts.cfg_scale);
const TORCH_BASELINE = join(dirname(fileURLToPath(import.meta.url)), 'torch_baseline.py');
const loadAtStart = loadavg();
const steps = Number(opts.steps);
let config: UNetConfig;
let values: ParamValues;
let label: string;
let sha = '0'.repeat(64);
let weightsFile: string | undefined;
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
  weightsFile = ckpt.resolved.path;
}
const backend = await prepareBackend('wasm', { log: () => {} });
const grid = edmGrid(GRID_STEPS).slice(0, steps + 2);
const settings = { odeMethod: 'heun2', odeOptions: { nfe: GRID_STEPS }, cfgScale: CFG, edmSchedule: true };
const model = new FlowModel(config, values);
const cacheDir = mkdtempSync(join(tmpdir(), 'mmmi-engine-bench-'));

/** PyTorch CPU on the same weights and work (a fresh process per cell, as its thread count is per process). */
function measureTorch(threads: number, batch: number): number {
  const args = [
    TORCH_BASELINE,
    ...(weightsFile ? ['--weights', weightsFile] : ['--config', config.name]),
    '--skip_train',
    '--sample_batch_size',
    String(batch),
    '--nfe',
    String(GRID_STEPS),
    '--sample_steps',
    String(steps),
    '--cfg_scale',
    String(CFG),
    '--threads',
    String(threads),
  ];
  const r = spawnSync(opts.python!, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line)
    throw new Error(`torch baseline failed (${opts.python} ${args.join(' ')}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
  const out = JSON.parse(line) as { sample: { images_per_s: number }; threads: number };
  if (out.threads !== threads) throw new Error(`torch ran ${out.threads} threads, not ${threads}`);
  return out.sample.images_per_s;
}

async function measure(engineName: string, threads: number, batch: number): Promise<number> {
  if (engineName === 'torch') return measureTorch(threads, batch);
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
            nfe: GRID_STEPS,
            cfgScale: CFG,
            repeat: r,
            loadAverage1m: Number(loadavg()[0].toFixed(2)),
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
const engines = opts.engines!.split(',');
const fmtLoad = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
console.log(
  `\n${label}: flow-map images/s (heun2, ${GRID_STEPS} steps, CFG ${CFG}; median of ${opts.repeats}; ${new Date().toISOString().slice(0, 10)}; ` +
    `load average ${fmtLoad(loadAtStart)} at the start, ${fmtLoad(loadavg())} at the end (1, 5, 15 min))`,
);
const named: Record<string, string> = { tfjs: 'tfjs wasm', onnx: 'ONNX Runtime cpu', torch: 'PyTorch cpu' };
const pairs: Array<[string, string]> = [
  ['onnx', 'tfjs'],
  ['onnx', 'torch'],
  ['tfjs', 'torch'],
].filter(([a, b]) => engines.includes(a) && engines.includes(b)) as Array<[string, string]>;
console.log(`| batch, threads | ${engines.map((e) => named[e] ?? e).join(' | ')} | ${pairs.map(([a, b]) => `${a} ÷ ${b}`).join(' | ')} |`);
console.log(`|---|${engines.map(() => '---|').join('')}${pairs.map(() => '---|').join('')}`);
for (const batch of opts.batch!.split(',').map(Number)) {
  for (const threads of opts.threads!.split(',').map(Number)) {
    const med = (e: string) => {
      const v = results.get(`${batch}|${threads}|${e}`);
      return v ? median(v) : undefined;
    };
    const cells = engines.map((e) => med(e)?.toPrecision(3) ?? '—');
    const ratios = pairs.map(([a, b]) => {
      const x = med(a);
      const y = med(b);
      return x !== undefined && y ? `×${(x / y).toFixed(2)}` : '—';
    });
    console.log(`| ${batch}, ${threads} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
}
model.dispose();
tf.disposeVariables();
