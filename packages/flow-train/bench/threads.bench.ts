/**
 * Data-parallel gradient threads: training images/s of whole optimizer steps (trainStep:
 * forward, backward, AdamW, EMA) with 1, 2, … threads on one backend, in one process, and
 * each count's ratio to 1 thread measured in the same run.
 *
 *   npx tsx bench/threads.bench.ts [--config small] [--batch 32] [--threads 1,2] [--steps 5] [--warmup 1] [--backend wasm]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

import { selectTrainingBackend } from '../src/backend/index.js';
import type { Batch } from '../src/data/batches.js';
import { Ema } from '../src/ema.js';
import { FlowModel } from '../src/flow-model.js';
import { AdamW, PYTORCH_ADAMW_DEFAULTS } from '../src/optim.js';
import { ModelThreads } from '../src/parallel/model-threads.js';
import { trainStep, type StepSettings } from '../src/train-step.js';
import { unetConfig } from '../src/unet/config.js';

const { values: opts } = parseArgs({
  options: {
    config: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '32' },
    threads: { type: 'string', default: `1,${availableParallelism()}` },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const backend = await selectTrainingBackend(opts.backend, { log: () => {} });
const config = unetConfig(opts.config!);
const B = Number(opts.batch);
const pixels = config.imageSize ** 2 * config.inChannels;
const batch: Batch = { images: Float32Array.from({ length: B * pixels }, (_, i) => Math.sin(i) * 0.9), labels: Int32Array.from({ length: B }, (_, i) => i % 10), n: B };
const settings: StepSettings = { seed: 0, classDropProb: 0.2, skewedTimesteps: true };

const rows: Array<{ threads: number; imagesPerSecond: number }> = [];
for (const threads of opts.threads!.split(',').map(Number)) {
  const model = new FlowModel(config, { seed: 1 });
  const optimizer = new AdamW(model.params, PYTORCH_ADAMW_DEFAULTS);
  const ema = new Ema(model.params);
  const pool = threads > 1 ? await ModelThreads.start(config, backend, threads - 1) : undefined;
  let iteration = 0;
  for (let i = 0; i < Number(opts.warmup); i++) await trainStep(model, optimizer, ema, [batch], iteration++, 1e-4, settings, pool);
  const t0 = performance.now();
  for (let i = 0; i < Number(opts.steps); i++) await trainStep(model, optimizer, ema, [batch], iteration++, 1e-4, settings, pool);
  const seconds = (performance.now() - t0) / 1000;
  await pool?.close();
  optimizer.dispose();
  ema.dispose();
  model.dispose();
  const row = { threads, imagesPerSecond: (Number(opts.steps) * B) / seconds };
  rows.push(row);
  console.log(JSON.stringify({ kind: 'train-threads', config: config.name, backend, batch: B, steps: Number(opts.steps), ...row }));
}
const base = rows.find((r) => r.threads === 1)?.imagesPerSecond;
console.log(`\n| threads | train img/s (${config.name}, batch ${B}, ${backend}) | × 1 thread |\n|---|---|---|`);
for (const r of rows) console.log(`| ${r.threads} | ${r.imagesPerSecond.toFixed(2)} | ${base ? `×${(r.imagesPerSecond / base).toFixed(2)}` : '—'} |`);

