/**
 * Data-parallel model threads, with 1, 2, … threads on one backend, in one process, each
 * count's ratio to 1 thread measured in the same run:
 *  - train: images/s of whole optimizer steps (trainStep: forward, backward, AdamW, EMA);
 *  - sample: images/s of integrateFlowRows, heun2 on the EDM grid with CFG, `--sample_steps`
 *    grid steps (the cost per step is constant, so images/s at 50 steps is this × steps/50).
 *
 *   npx tsx bench/threads.bench.ts [--config small] [--batch 32] [--threads 1,2] [--steps 5] [--warmup 1]
 *                                  [--sample_batch 32] [--sample_steps 2] [--backend wasm]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { prepareBackend } from '@mmmi/tfjs-runtime';
import type { Batch } from '../src/data/batches.js';
import { Ema } from '../src/ema.js';
import { FlowModel } from '../src/flow-model.js';
import { AdamW, PYTORCH_ADAMW_DEFAULTS } from '../src/optim.js';
import { ModelThreads } from '../src/parallel/model-threads.js';
import { integrateFlowRows } from '../src/sample.js';
import { trainStep, type StepSettings } from '../src/train-step.js';
import { unetConfig } from '../src/unet/config.js';

const { values: opts } = parseArgs({
  options: {
    config: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '32' },
    threads: { type: 'string', default: `1,${availableParallelism()}` },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    sample_batch: { type: 'string', default: '32' },
    sample_steps: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const backend = await prepareBackend(opts.backend, { log: () => {} });
const config = unetConfig(opts.config!);
const B = Number(opts.batch);
const S = Number(opts.sample_batch);
const sampleSteps = Number(opts.sample_steps);
const pixels = config.imageSize ** 2 * config.inChannels;
const batch: Batch = {
  images: Float32Array.from({ length: B * pixels }, (_, i) => Math.sin(i) * 0.9),
  labels: Int32Array.from({ length: B }, (_, i) => i % 10),
  n: B,
};
const settings: StepSettings = { seed: 0, classDropProb: 0.2, skewedTimesteps: true };
const sampling = { odeMethod: 'heun2', odeOptions: { nfe: sampleSteps }, cfgScale: 0.2, edmSchedule: true };
const noise = Float32Array.from({ length: S * pixels }, (_, i) => Math.cos(i * 1.7));
const sampleLabels = Int32Array.from({ length: S }, (_, i) => i % 10);

const rows: Array<{ threads: number; train: number; sample: number }> = [];
for (const threads of opts.threads!.split(',').map(Number)) {
  const model = new FlowModel(config, { seed: 1 });
  const optimizer = new AdamW(model.params, PYTORCH_ADAMW_DEFAULTS);
  const ema = new Ema(model.params);
  const pool = threads > 1 ? await ModelThreads.start(config, backend, threads - 1) : undefined;
  let iteration = 0;
  for (let i = 0; i < Number(opts.warmup); i++) await trainStep(model, optimizer, ema, [batch], iteration++, 1e-4, settings, pool);
  let t0 = performance.now();
  for (let i = 0; i < Number(opts.steps); i++) await trainStep(model, optimizer, ema, [batch], iteration++, 1e-4, settings, pool);
  const train = (Number(opts.steps) * B) / ((performance.now() - t0) / 1000);
  // the trained weights are no longer zero in the output layer, so the flow does real work
  await integrateFlowRows(model, model.params, noise, sampleLabels, { ...sampling, odeOptions: { nfe: 2 } }, { threads: pool });
  t0 = performance.now();
  await integrateFlowRows(model, model.params, noise, sampleLabels, sampling, { threads: pool });
  const sample = S / ((performance.now() - t0) / 1000);
  await pool?.close();
  optimizer.dispose();
  ema.dispose();
  model.dispose();
  rows.push({ threads, train, sample });
  console.log(
    JSON.stringify({
      kind: 'threads',
      config: config.name,
      backend,
      batch: B,
      steps: Number(opts.steps),
      sampleBatch: S,
      sampleSteps,
      threads,
      trainImagesPerSecond: train,
      sampleImagesPerSecond: sample,
    }),
  );
}
const base = rows.find((r) => r.threads === 1);
const ratio = (v: number, b?: number) => (b ? `×${(v / b).toFixed(2)}` : '—');
console.log(
  `\n| threads | train img/s (${config.name}, batch ${B}, ${backend}) | × 1 thread | sample img/s (heun2, ${sampleSteps} steps, CFG, batch ${S}) | × 1 thread |\n|---|---|---|---|---|`,
);
for (const r of rows)
  console.log(`| ${r.threads} | ${r.train.toFixed(2)} | ${ratio(r.train, base?.train)} | ${r.sample.toFixed(2)} | ${ratio(r.sample, base?.sample)} |`);
