/**
 * Training and sampling throughput of the flow model, per model configuration and tfjs
 * backend, against the PyTorch CPU baseline (bench/torch_baseline.py) when torch is there.
 *
 *   npx tsx bench/train.bench.ts [--configs small,cifar10] [--backends wasm,cpu,tensorflow]
 *       [--batch 32] [--sample_batch n] [--warmup 1] [--steps 3] [--sample_steps 2]
 *       [--cpu_warmup 0] [--cpu_steps 1] [--cpu_sample_steps 1] [--nfe 50] [--cfg_scale 0.2]
 *       [--threads n] [--no_plain] [--no_torch] [--python /usr/bin/python3] [--torch_threads n]
 *       [--wasm_threads n] [--timeout_s 3600]
 *   (or: npx nx run flow-train:bench -- --configs tiny --steps 2 --sample_steps 1)
 *
 * train   one optimizer step = forward + backward + AdamW + EMA (`trainStep`, the trainer's
 *         own step: skewed t, 20% of batches without labels) on random data at --batch;
 *         --warmup untimed steps, then --steps timed ones. images/s = batch·steps/seconds.
 * sample  heun2 over the EDM grid of --nfe steps (2 velocity evaluations per step), CFG
 *         w = --cfg_scale (one forward of the doubled batch per evaluation), via
 *         `integrateFlowRows`; one untimed step, then --sample_steps timed steps (0 = all),
 *         extrapolated to --nfe steps (each step costs the same). images/s = sample_batch /
 *         seconds per batch.
 *
 * --threads n   data-parallel model threads (`ModelThreads`, what `mmmi-train train --threads n`
 *                and generation's `--threads` use: n − 1 workers, each with its own engine, the
 *                batch split by rows) on the tfjs side, and torch.set_num_threads(n) on torch's
 *                unless --torch_threads says otherwise, so both use the same cores. Default 1.
 *
 * Every variant runs in a fresh process (this file, spawned with FLOW_TRAIN_BENCH_CHILD):
 *   wasm            with tfjs-runtime's replaced kernels (registerFastWasmKernels: BatchMatMul,
 *                   Conv2DBackpropInput, Slice, SplitV);
 *   wasm-plain      without them, only the training kernels wasm lacks (--no_plain skips it);
 *   cpu             plain JavaScript, very slow (a minute or more per training step even for
 *                   `tiny` on the 2 shared cores where this was written), hence --cpu_steps 1,
 *                   --cpu_sample_steps 1 and --cpu_warmup 0 by default (a first cpu step took
 *                   no longer than the next);
 *   webgpu          tfjs-backend-webgpu on Dawn: a hardware adapter where there is one, else
 *                   a software one (Mesa's llvmpipe: correct, slow; the row names the adapter);
 *                   skipped where no adapter opens;
 *   tensorflow, tensorflow-gpu   @tensorflow/tfjs-node[-gpu]; reported as skipped where they
 *                   do not load.
 *
 * Output: one JSON line per measurement on stdout, then a summary table with the ratios
 * (× torch = our images/s over torch's; × plain = wasm over wasm-plain). Child processes'
 * log lines go to stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { xorshift32 } from '@mmmi/test-utils';
import {
  activeWebGpuAdapter,
  adapterName,
  prepareBackend,
  registerFastWasmKernels,
  registerTfjsGradients,
  registerWasmTrainingKernels,
  selectBackend,
} from '@mmmi/tfjs-runtime';
import type { SamplingSettings } from '../src/checkpoint.js';
import type { Batch } from '../src/data/batches.js';
import { Ema } from '../src/ema.js';
import { FlowModel } from '../src/flow-model.js';
import { AdamW, PYTORCH_ADAMW_DEFAULTS } from '../src/optim.js';
import { ModelThreads } from '../src/parallel/model-threads.js';
import { integrateFlowRows, samplingGrid } from '../src/sample.js';
import { trainStep, type StepSettings } from '../src/train-step.js';
import { UNET_CONFIGS, unetConfig } from '../src/unet/config.js';

const CHILD_ENV = 'FLOW_TRAIN_BENCH_CHILD';
const HERE = dirname(fileURLToPath(import.meta.url));
const TORCH_BASELINE = join(HERE, 'torch_baseline.py');

type Variant = 'wasm' | 'wasm-plain' | 'cpu' | 'webgpu' | 'tensorflow' | 'tensorflow-gpu';

interface ChildSpec {
  config: string;
  variant: Variant;
  batch: number;
  sampleBatch: number;
  warmup: number;
  steps: number;
  sampleSteps: number;
  nfe: number;
  cfgScale: number;
  wasmThreads?: number;
  /** Data-parallel model threads (1 = none). */
  threads: number;
}

type Row = Record<string, unknown> & { kind: string; config: string; backend: string };

// ---------------------------------------------------------------------------------------
// Child: one configuration on one backend variant

/** Deterministic uniform numbers in [lo, hi) (the data only has to be the right shape). */
function uniformArray(n: number, seed: number, lo: number, hi: number): Float32Array {
  const next = xorshift32(seed);
  return Float32Array.from({ length: n }, () => lo + (next() / 2 ** 32) * (hi - lo));
}

function randomBatch(n: number, size: number, channels: number, classes: number, seed: number): Batch {
  const images = uniformArray(n * size * size * channels, seed, -1, 1);
  const labels = Int32Array.from(uniformArray(n, seed + 1, 0, classes), (v) => Math.floor(v));
  return { images, labels, n };
}

async function runChild(spec: ChildSpec): Promise<void> {
  const emit = (row: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(row)}\n`);
  const base = { bench: 'flow-train', config: spec.config, backend: spec.variant };
  const logged: string[] = [];
  const log = (m: string) => {
    logged.push(m);
    process.stderr.write(`[${spec.config}/${spec.variant}] ${m}\n`);
  };
  if (spec.threads > 1 && !['wasm', 'wasm-plain', 'cpu'].includes(spec.variant)) {
    emit({ ...base, kind: 'skipped', reason: `--threads ${spec.threads}: ${spec.variant} already uses every core (the CLI refuses it too)` });
    return;
  }
  let selected: string;
  let replaced: string[] = [];
  try {
    if (spec.variant === 'wasm-plain') {
      // prepareBackend minus the replacements: the wasm backend, tfjs's gradients and
      // the training kernels wasm lacks, and wasm's own BatchMatMul, Conv2DBackpropInput, Slice, SplitV
      selected = await selectBackend('wasm', { log, wasmThreads: spec.wasmThreads, label: 'flow-train' });
      await registerTfjsGradients();
      log(`flow-train: wasm training kernels registered: ${registerWasmTrainingKernels().join(', ')}; replaced kernels NOT registered`);
    } else {
      selected = await prepareBackend(spec.variant, { log, wasmThreads: spec.wasmThreads, label: 'flow-train' });
      if (selected === 'wasm') {
        // prepareBackend may have registered them already (then this returns [])
        replaced = registerFastWasmKernels();
        const line = logged.find((m) => m.includes('faster wasm kernels: '));
        if (!replaced.length && line) replaced = line.slice(line.indexOf('faster wasm kernels: ') + 21).split(/,\s*/);
      }
    }
  } catch (e) {
    emit({ ...base, kind: 'skipped', reason: (e instanceof Error ? e.message : String(e)).split('\n')[0] });
    return;
  }
  const env: Record<string, unknown> = { tfjs_backend: selected, replaced_kernels: replaced };
  const adapter = selected === 'webgpu' ? activeWebGpuAdapter() : undefined;
  if (adapter) {
    env.webgpu_adapter = adapterName(adapter);
    env.webgpu_software = adapter.software;
  }
  if (selected === 'wasm') {
    env.wasm_simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    env.wasm_threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  }

  const config = unetConfig(spec.config);
  const { imageSize: size, inChannels: channels, numClasses: classes } = config;
  const tInit = performance.now();
  const model = new FlowModel(config, { seed: 0 });
  const initSeconds = (performance.now() - tInit) / 1000;
  const common = { ...base, ...env, parameters: model.arch.parameterCount, image_size: size, threads: spec.threads };
  const pool = spec.threads > 1 ? await ModelThreads.start(config, selected, spec.threads - 1) : undefined;

  // ---- training: forward + backward + AdamW + EMA
  {
    const optimizer = new AdamW(model.params, { ...PYTORCH_ADAMW_DEFAULTS, betas: [0.9, 0.95] });
    const ema = new Ema(model.params);
    const settings: StepSettings = { seed: 0, classDropProb: 0.2, skewedTimesteps: true };
    const batches = Array.from({ length: spec.warmup + spec.steps }, (_, i) => randomBatch(spec.batch, size, channels, classes, 1000 + 7 * i));
    let iteration = 0;
    let loss = NaN;
    const warmStart = performance.now();
    for (let i = 0; i < spec.warmup; i++) loss = (await trainStep(model, optimizer, ema, [batches[iteration]], iteration++, 1e-4, settings, pool)).loss;
    const warmupSeconds = (performance.now() - warmStart) / 1000;
    const tensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    for (let i = 0; i < spec.steps; i++) loss = (await trainStep(model, optimizer, ema, [batches[iteration]], iteration++, 1e-4, settings, pool)).loss;
    const seconds = (performance.now() - t0) / 1000;
    emit({
      ...common,
      kind: 'train',
      batch: spec.batch,
      warmup_steps: spec.warmup,
      steps: spec.steps,
      seconds: round(seconds, 4),
      ms_per_step: spec.steps ? round((1000 * seconds) / spec.steps, 1) : null,
      images_per_s: spec.steps ? round((spec.batch * spec.steps) / seconds, 3) : null,
      warmup_seconds: round(warmupSeconds, 3),
      init_seconds: round(initSeconds, 3),
      last_loss: Number.isFinite(loss) ? round(loss, 5) : loss,
      tensors_leaked_per_step: spec.steps ? (tf.memory().numTensors - tensorsBefore) / spec.steps : null,
      includes: 'forward+backward+AdamW+EMA (trainStep), skewed t, class_drop_prob 0.2',
    });
    optimizer.dispose();
    ema.dispose();
  }

  // ---- sampling: heun2 on the EDM grid, CFG
  {
    const settings: SamplingSettings = { odeMethod: 'heun2', odeOptions: { nfe: spec.nfe }, cfgScale: spec.cfgScale, edmSchedule: true };
    const grid = samplingGrid(settings);
    const total = grid.length - 1;
    const timed = spec.sampleSteps <= 0 ? total : Math.min(spec.sampleSteps, total);
    const n = spec.sampleBatch;
    const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
    const x0 = uniformArray(n * size * size * channels, 4242, -1, 1);
    // integrateFlowRows is the product's path: the rows split over the model threads, if any
    const run = async (steps: number) => {
      await integrateFlowRows(model, model.params, x0, labels, settings, { timeGrid: grid.slice(0, steps + 1), threads: pool });
      return 2 * steps;
    };
    await run(1); // warm-up: one Heun step
    const t0 = performance.now();
    const evals = await run(timed);
    const seconds = (performance.now() - t0) / 1000;
    const perBatch = (seconds * total) / timed;
    emit({
      ...common,
      kind: 'sample',
      solver: 'heun2',
      time_grid: 'edm',
      nfe_steps: total,
      velocity_evals_per_batch: 2 * total,
      unet_forward_batch: spec.cfgScale === 0 ? n : 2 * n,
      cfg_scale: spec.cfgScale,
      sample_batch: n,
      timed_heun_steps: timed,
      velocity_evals_timed: evals,
      extrapolated: timed !== total,
      seconds_timed: round(seconds, 4),
      seconds_per_batch: round(perBatch, 3),
      images_per_s: round(n / perBatch, 4),
    });
  }
  await pool?.close();
  model.dispose();
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

// ---------------------------------------------------------------------------------------
// Parent: options, child processes, the torch baseline, the summary

function parseOptions(argv: string[]) {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const BOOL = new Set(['no_plain', 'no_torch', 'help']);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '-h') {
      flags.add('help');
      continue;
    }
    if (!token.startsWith('--')) throw new Error(`unexpected argument '${token}'`);
    const eq = token.indexOf('=');
    const name = (eq >= 0 ? token.slice(2, eq) : token.slice(2)).replace(/-/g, '_');
    if (BOOL.has(name)) {
      flags.add(name);
      continue;
    }
    const value = eq >= 0 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    values.set(name, value);
  }
  const known = [
    'configs',
    'backends',
    'batch',
    'sample_batch',
    'warmup',
    'steps',
    'sample_steps',
    'cpu_warmup',
    'cpu_steps',
    'cpu_sample_steps',
    'nfe',
    'cfg_scale',
    'python',
    'threads',
    'torch_threads',
    'wasm_threads',
    'timeout_s',
  ];
  for (const k of values.keys())
    if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${[...known, ...BOOL].map((x) => `--${x}`).join(', ')})`);
  const int = (name: string, fallback: number, min = 0) => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} ${raw}: expected an integer ≥ ${min}`);
    return v;
  };
  const list = (name: string, fallback: string) =>
    (values.get(name) ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const configs = list('configs', 'small');
  for (const c of configs)
    if (!(c in UNET_CONFIGS)) throw new Error(`--configs: unknown configuration '${c}' (known: ${Object.keys(UNET_CONFIGS).join(', ')})`);
  const backends = list('backends', 'wasm,cpu,tensorflow');
  const allowed = ['wasm', 'cpu', 'webgpu', 'tensorflow', 'tensorflow-gpu'];
  for (const b of backends)
    if (!allowed.includes(b))
      throw new Error(`--backends: unknown backend '${b}' (known: ${allowed.join(', ')}; wasm-plain is added with wasm unless --no_plain)`);
  const steps = int('steps', 3);
  const sampleSteps = int('sample_steps', 2);
  const batch = int('batch', 32, 1);
  const cfgScale = Number(values.get('cfg_scale') ?? 0.2);
  if (!(cfgScale >= 0)) throw new Error(`--cfg_scale ${values.get('cfg_scale')}: expected a number ≥ 0`);
  return {
    help: flags.has('help'),
    configs,
    backends,
    batch,
    sampleBatch: int('sample_batch', batch, 1),
    warmup: int('warmup', 1),
    steps,
    sampleSteps,
    cpuWarmup: int('cpu_warmup', 0),
    cpuSteps: int('cpu_steps', Math.min(steps, 1)),
    cpuSampleSteps: int('cpu_sample_steps', Math.min(sampleSteps || 1, 1)),
    nfe: int('nfe', 50, 2),
    cfgScale,
    plain: !flags.has('no_plain'),
    torch: !flags.has('no_torch'),
    python: values.get('python') ?? '/usr/bin/python3',
    threads: int('threads', 1, 1),
    torchThreads: values.has('torch_threads') ? int('torch_threads', 1, 1) : values.has('threads') ? int('threads', 1, 1) : undefined,
    wasmThreads: values.has('wasm_threads') ? int('wasm_threads', 1, 1) : undefined,
    timeoutS: int('timeout_s', 3600, 1),
  };
}

type Options = ReturnType<typeof parseOptions>;

interface ProcessResult {
  rows: Row[];
  code: number | null;
  timedOut: boolean;
  stderrTail: string;
}

/** Runs a command, passing JSON lines from stdout to `onRow` and log lines to stderr. */
function runProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutS: number,
  label: string,
  onRow: (row: Record<string, unknown>) => void,
): Promise<ProcessResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const rows: Row[] = [];
    let stdoutBuf = '';
    let stderrTail = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdoutBuf += chunk;
      let nl: number;
      while ((nl = stdoutBuf.indexOf('\n')) >= 0) {
        const line = stdoutBuf.slice(0, nl).trim();
        stdoutBuf = stdoutBuf.slice(nl + 1);
        if (!line) continue;
        if (line.startsWith('{')) {
          try {
            const row = JSON.parse(line) as Row;
            rows.push(row);
            onRow(row);
            continue;
          } catch {
            // not JSON after all: pass it on as a log line
          }
        }
        process.stderr.write(`[${label}] ${line}\n`);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk).slice(-2000);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ rows, code, timedOut, stderrTail });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolvePromise({ rows, code: -1, timedOut, stderrTail: e.message });
    });
  });
}

/** The most telling line of a failed process's stderr: the last error message, else the last line. */
function errorLine(stderrTail: string): string {
  const lines = stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = [...lines].reverse().find((l) => /(Error|Aborted|error:|Killed)/.test(l) && !l.startsWith('at '));
  return (error ?? lines[lines.length - 1] ?? '').slice(0, 300);
}

function torchAvailable(python: string): string | undefined {
  if (!existsSync(python)) return `${python} not found`;
  const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? undefined : `torch not importable by ${python}`;
}

function emitRow(row: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

const fmt = (v: unknown, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : undefined);

const USAGE = `usage: npx tsx bench/train.bench.ts [--configs small,cifar10] [--backends wasm,cpu,tensorflow]
    [--batch 32] [--sample_batch n] [--warmup 1] [--steps 3] [--sample_steps 2]
    [--cpu_warmup 0] [--cpu_steps 1] [--cpu_sample_steps 1] [--nfe 50] [--cfg_scale 0.2]
    [--threads n] [--no_plain] [--no_torch] [--python /usr/bin/python3] [--torch_threads n]
    [--wasm_threads n] [--timeout_s 3600]
--threads n: data-parallel model threads on the tfjs side (as the CLI's --threads), and torch's
  thread count unless --torch_threads is given.
configurations: cifar10 (the paper's), small, tiny; default --configs small. cifar10 on wasm
  needs --batch 1 (wasm's 4 GiB heap; batch 2 aborted here).
backends: wasm (also run as wasm-plain, without our replaced kernels, unless --no_plain),
  cpu (very slow: --cpu_warmup 0, --cpu_steps 1, --cpu_sample_steps 1 by default),
  webgpu (a hardware adapter, else the software one; skipped where none opens), tensorflow, tensorflow-gpu
  (skipped where @tensorflow/tfjs-node[-gpu] does not load).
--sample_steps k: time k heun2 steps and extrapolate to --nfe steps (0 = all).`;

async function runParent(opts: Options): Promise<void> {
  const started = performance.now();
  const torchMissing = opts.torch ? torchAvailable(opts.python) : 'disabled (--no_torch)';
  emitRow({
    bench: 'flow-train',
    kind: 'setup',
    configs: opts.configs,
    backends: opts.backends,
    wasm_plain: opts.plain,
    batch: opts.batch,
    sample_batch: opts.sampleBatch,
    warmup: opts.warmup,
    steps: opts.steps,
    sample_steps: opts.sampleSteps,
    cpu_warmup: opts.cpuWarmup,
    cpu_steps: opts.cpuSteps,
    cpu_sample_steps: opts.cpuSampleSteps,
    nfe: opts.nfe,
    cfg_scale: opts.cfgScale,
    threads: opts.threads,
    torch_threads: opts.torchThreads ?? null,
    torch_baseline: torchMissing ? `skipped: ${torchMissing}` : opts.python,
    cpus: availableParallelism(),
    node: process.version,
    date: new Date().toISOString(),
    load_average_1m: Number(loadavg()[0].toFixed(2)),
  });
  const all: Row[] = [];
  const script = fileURLToPath(import.meta.url);
  for (const config of opts.configs) {
    const variants: Variant[] = [];
    for (const b of opts.backends) {
      variants.push(b as Variant);
      if (b === 'wasm' && opts.plain) variants.push('wasm-plain');
    }
    for (const variant of variants) {
      const cpu = variant === 'cpu';
      const spec: ChildSpec = {
        config,
        variant,
        batch: opts.batch,
        sampleBatch: opts.sampleBatch,
        warmup: cpu ? opts.cpuWarmup : opts.warmup,
        steps: cpu ? opts.cpuSteps : opts.steps,
        sampleSteps: cpu ? opts.cpuSampleSteps : opts.sampleSteps,
        nfe: opts.nfe,
        cfgScale: opts.cfgScale,
        wasmThreads: opts.wasmThreads,
        threads: opts.threads,
      };
      const label = `${config}/${variant}`;
      process.stderr.write(
        `== ${label}: ${spec.warmup} + ${spec.steps} training steps of ${spec.batch}, ${spec.sampleSteps || 'all'} of ${opts.nfe} heun2 steps for ${spec.sampleBatch} samples\n`,
      );
      const r = await runProcess(
        process.execPath,
        [...process.execArgv, script],
        { ...process.env, [CHILD_ENV]: JSON.stringify(spec) },
        opts.timeoutS,
        label,
        emitRow,
      );
      all.push(...r.rows);
      if (r.timedOut || r.code !== 0) {
        const row: Row = {
          bench: 'flow-train',
          kind: 'failed',
          config,
          backend: variant,
          exit_code: r.code,
          timed_out: r.timedOut,
          error: errorLine(r.stderrTail),
        };
        emitRow(row);
        all.push(row);
      }
    }
    if (!torchMissing) {
      const size = unetConfig(config).imageSize;
      const args = [
        TORCH_BASELINE,
        '--config',
        config,
        '--image_size',
        String(size),
        '--batch_size',
        String(opts.batch),
        '--sample_batch_size',
        String(opts.sampleBatch),
        '--warmup',
        String(opts.warmup),
        '--steps',
        String(opts.steps),
        '--nfe',
        String(opts.nfe),
        '--sample_steps',
        String(opts.sampleSteps),
        '--cfg_scale',
        String(opts.cfgScale),
        '--cfg_mode',
        'batched',
        ...(opts.torchThreads ? ['--threads', String(opts.torchThreads)] : []),
      ];
      process.stderr.write(`== ${config}/torch-cpu: ${opts.python} bench/torch_baseline.py ${args.slice(1).join(' ')}\n`);
      const r = await runProcess(opts.python, args, process.env, opts.timeoutS, `${config}/torch-cpu`, () => {});
      const raw = r.rows.find((row) => (row as Record<string, unknown>).bench === 'torch_baseline') as Record<string, unknown> | undefined;
      if (!raw || r.code !== 0) {
        const row: Row = {
          bench: 'flow-train',
          kind: 'failed',
          config,
          backend: 'torch-cpu',
          exit_code: r.code,
          timed_out: r.timedOut,
          error: errorLine(r.stderrTail),
        };
        emitRow(row);
        all.push(row);
        continue;
      }
      const common = {
        bench: 'flow-train',
        config,
        backend: 'torch-cpu',
        parameters: raw.parameters,
        image_size: raw.image_size,
        torch: raw.torch,
        threads: raw.threads,
        blas_info: raw.blas_info,
      };
      const train = raw.train as Record<string, unknown> | undefined;
      if (train) {
        const row: Row = {
          ...common,
          kind: 'train',
          batch: raw.batch_size,
          warmup_steps: train.warmup_steps,
          steps: train.steps,
          seconds: train.seconds,
          ms_per_step: train.ms_per_step,
          images_per_s: train.images_per_s,
          last_loss: train.last_loss,
          includes: 'forward+backward+AdamW (no EMA), uniform t (torch_baseline.py)',
        };
        emitRow(row);
        all.push(row);
      }
      const sample = raw.sample as Record<string, unknown> | undefined;
      if (sample) {
        const row: Row = {
          ...common,
          kind: 'sample',
          solver: 'heun2',
          time_grid: 'uniform',
          nfe_steps: sample.nfe_steps,
          unet_forward_batch: sample.unet_forward_batch,
          cfg_scale: sample.cfg_scale,
          sample_batch: sample.sample_batch_size,
          timed_heun_steps: sample.timed_heun_steps,
          extrapolated: sample.extrapolated,
          seconds_timed: sample.seconds_timed,
          seconds_per_batch: sample.seconds_per_batch,
          images_per_s: sample.images_per_s,
        };
        emitRow(row);
        all.push(row);
      }
    }
  }

  // ratios, as JSON lines too
  const find = (config: string, backend: string, kind: string) => all.find((r) => r.config === config && r.backend === backend && r.kind === kind);
  for (const config of opts.configs) {
    for (const kind of ['train', 'sample']) {
      const torch = find(config, 'torch-cpu', kind);
      const plain = find(config, 'wasm-plain', kind);
      for (const r of all.filter((x) => x.config === config && x.kind === kind && x.backend !== 'torch-cpu')) {
        const vsTorch = ratio(r.images_per_s, torch?.images_per_s);
        const vsPlain = r.backend === 'wasm' ? ratio(r.images_per_s, plain?.images_per_s) : undefined;
        if (vsTorch === undefined && vsPlain === undefined) continue;
        const row: Row = { bench: 'flow-train', kind: 'ratio', measure: kind, config, backend: r.backend };
        if (vsTorch !== undefined) row.vs_torch_cpu = round(vsTorch, 3);
        if (vsPlain !== undefined) row.vs_wasm_plain = round(vsPlain, 3);
        emitRow(row);
      }
    }
  }

  // summary table
  const out: string[] = [];
  out.push('');
  out.push(
    `summary: batch ${opts.batch} (sampling ${opts.sampleBatch}); images/s; sampling = heun2, ${opts.nfe} steps (${2 * opts.nfe} velocity evaluations), CFG ${opts.cfgScale} as one forward of 2×batch`,
  );
  out.push('× torch: our images/s ÷ PyTorch CPU (bench/torch_baseline.py); × plain: wasm with our replaced kernels ÷ wasm without them');
  const header = [
    'config',
    'backend',
    'params',
    'train img/s',
    'ms/step',
    'steps',
    'sample img/s',
    's/batch',
    'timed steps',
    '× torch train',
    '× torch sample',
    '× plain train',
    '× plain sample',
  ];
  const lines: string[][] = [header];
  for (const config of opts.configs) {
    const backends = [...new Set(all.filter((r) => r.config === config).map((r) => r.backend))];
    for (const backend of backends) {
      const rows = all.filter((r) => r.config === config && r.backend === backend);
      const skipped = rows.find((r) => r.kind === 'skipped' || r.kind === 'failed');
      if (skipped) {
        const why =
          skipped.kind === 'skipped'
            ? skipped.reason
            : skipped.timed_out
              ? `timed out after ${opts.timeoutS} s`
              : `exit ${String(skipped.exit_code)}: ${String(skipped.error)}`;
        lines.push([config, backend, `${skipped.kind}: ${String(why).slice(0, 110)}`]);
        continue;
      }
      const tr = rows.find((r) => r.kind === 'train');
      const sa = rows.find((r) => r.kind === 'sample');
      const torch = { train: find(config, 'torch-cpu', 'train'), sample: find(config, 'torch-cpu', 'sample') };
      const plain = { train: find(config, 'wasm-plain', 'train'), sample: find(config, 'wasm-plain', 'sample') };
      const x = (v: number | undefined) => (v === undefined ? '–' : `×${v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)}`);
      lines.push([
        config,
        backend,
        String(tr?.parameters ?? sa?.parameters ?? '–'),
        fmt(tr?.images_per_s),
        fmt(tr?.ms_per_step, 0),
        String(tr?.steps ?? '–'),
        fmt(sa?.images_per_s, 3),
        fmt(sa?.seconds_per_batch, 1),
        sa ? `${String(sa.timed_heun_steps)}/${String(sa.nfe_steps)}${sa.extrapolated ? '*' : ''}` : '–',
        backend === 'torch-cpu' ? '1' : x(ratio(tr?.images_per_s, torch.train?.images_per_s)),
        backend === 'torch-cpu' ? '1' : x(ratio(sa?.images_per_s, torch.sample?.images_per_s)),
        backend === 'wasm' ? x(ratio(tr?.images_per_s, plain.train?.images_per_s)) : '',
        backend === 'wasm' ? x(ratio(sa?.images_per_s, plain.sample?.images_per_s)) : '',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.filter((l) => l.length === header.length).map((l) => (l[i] ?? '').length)));
  for (const l of lines) {
    if (l.length !== header.length) out.push(`${l[0].padEnd(widths[0])}  ${l[1].padEnd(widths[1])}  ${l[2]}`);
    else out.push(l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  }
  out.push('* sampling time measured over the timed heun2 steps and extrapolated to all steps (each step costs the same).');
  out.push('torch: no EMA update and uniform t in its training step; a uniform time grid for sampling (same cost per step).');
  if (torchMissing) out.push(`torch baseline skipped: ${torchMissing}`);
  out.push(
    `total ${((performance.now() - started) / 1000).toFixed(0)} s; ${new Date().toISOString().slice(0, 10)}; load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} (1, 5, 15 min) at the end; tfjs threads ${opts.threads}, torch threads ${opts.torchThreads ?? 'its default'}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------

const childSpec = process.env[CHILD_ENV];
if (childSpec) {
  await runChild(JSON.parse(childSpec) as ChildSpec);
} else {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`train.bench: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
  } else {
    await runParent(opts);
  }
}
