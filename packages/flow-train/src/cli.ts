/**
 * `mmmi-train`: train | info | sample | export. Parsing and printing only; the work lives in
 * train.ts, sample.ts, checkpoint.ts and registry.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic, writePng } from '@mmmi/formats';
import { ArgsError, parseTrainArgs, trainHelp, type TrainArgs } from './args.js';
import { selectTrainingBackend, type BackendName } from './backend/index.js';
import { CheckpointError, sha256Hex, writeCheckpoint, type SamplingSettings } from './checkpoint.js';
import { EngineError, openEngine, parseEngine, parseExecutionProvider, type EngineChoice } from './engine/index.js';
import { loadCifar10Train, loadImageFolder } from './data/dataset.js';
import { makeFidEvaluator } from './fid-eval.js';
import { FlowModel } from './flow-model.js';
import { exportUNetOnnx, ONNX_INPUTS, ONNX_OPSET, ONNX_OUTPUT } from './onnx/export-unet.js';
import { ModelThreads, threadCount } from './parallel/model-threads.js';
import { listModels, loadModel, registerModel, registryEntry, userRegistryDir } from './registry.js';
import { sameArchitecture, samplingPlan, weightsToSampleWith, type SamplingOverrides } from './sampling-plan.js';
import { ODE_METHODS } from './solvers/index.js';
import { imageGrid, sampleImages } from './sample.js';
import { train } from './train.js';
import { buildArchitecture } from './unet/architecture.js';
import { UNET_CONFIGS, unetConfig } from './unet/config.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

const USAGE = `usage:
  mmmi-train train [flags]                 train (see mmmi-train train --help)
  mmmi-train info <configuration | checkpoint | registry name | registry> [--json]
  mmmi-train sample --checkpoint <file | registry name> [--labels 0,1,2] [--n 16] [--out grid.png]
                    [--cfg_scale w] [--ode_method m] [--nfe n] [--seed s] [--engine auto|onnx|tfjs] [--ep cpu|cuda|tensorrt]
                    [--backend b] [--threads n]   (threads: ONNX Runtime's, or tfjs data-parallel; 0 = one per core)
  mmmi-train export --checkpoint <file | name> --out <file.safetensors> [--float16] [--name n [--to_registry dir] [--default]]
                    [--ode_method m] [--nfe n] [--cfg_scale w] [--edm_schedule true|false]   weights-only (EMA) export
  mmmi-train export --format onnx --checkpoint <file | name> --out <file.onnx>   the UNet as an ONNX graph (inputs x NHWC, t, y; output v)`;

async function useBackend(name: string, io: CliIo): Promise<BackendName> {
  return selectTrainingBackend(name, { log: (m) => io.err(`${m}\n`) });
}

function samplingFromArgs(a: TrainArgs): SamplingSettings {
  return { odeMethod: a.ode_method, odeOptions: a.ode_options as Record<string, number>, cfgScale: a.cfg_scale, edmSchedule: a.edm_schedule };
}

async function runTrain(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(`${trainHelp()}\n`);
    return 0;
  }
  const a = parseTrainArgs(argv);
  if (a.print_args) {
    io.out(`${JSON.stringify(a)}\n`);
    return 0;
  }
  const config = unetConfig(a.config || (a.dataset === 'cifar10' ? 'cifar10' : 'small'));
  const outputDir = resolve(a.output_dir);
  // 'latest' on a fresh output folder starts a fresh run, so one command serves every (re)start of a preemptible job
  const latest = join(outputDir, 'checkpoint.safetensors');
  const resume = a.resume === 'latest' ? (existsSync(latest) ? latest : '') : a.resume;
  if (a.resume === 'latest' && !resume) io.err(`flow-train: --resume latest: no ${latest} yet, starting fresh\n`);
  const log = (m: string) => io.err(`${m}\n`);
  const limit = a.limit_images || undefined;
  // checkpoints before data: a wrong --resume or --init_from is reported before a 162 MB download
  if (resume && !existsSync(resume)) throw new ArgsError(`--resume ${a.resume}: ${resume} does not exist`);
  let initWeights;
  if (a.init_from && !resume) {
    const init = await loadModel(a.init_from, { registry: a.registry || undefined });
    if (!sameArchitecture(init.meta.config, config)) {
      throw new ArgsError(`--init_from ${a.init_from}: its model configuration '${init.meta.config.name}' differs from '${config.name}'`);
    }
    const chosen = weightsToSampleWith(init);
    initWeights = chosen.values;
    log(`flow-train: starting from the ${chosen.kind} weights of ${init.resolved.path} (${init.meta.progress?.imagesSeen ?? '?'} images seen there), fresh optimizer`);
  }
  const data = a.dataset === 'cifar10' ? await loadCifar10Train(a.data_path || undefined, { log, limit }) : await loadImageFolder(a.data_path, { log, limit });
  const backend = await useBackend(a.backend, io);
  const threads = asArgsError(() => threadCount(a.threads, backend));
  // the FID network's weights are checked now, not at the first evaluation hours later
  const computeFid = a.compute_fid
    ? await makeFidEvaluator({ fidSamples: a.fid_samples, dataPath: a.dataset === 'cifar10' ? a.data_path || undefined : undefined, sampling: samplingFromArgs(a), seed: a.seed, log })
    : undefined;
  const result = await train(data, {
    initWeights,
    computeFid,
    evalEngine: a.eval_engine as EngineChoice,
    config,
    batchSize: a.batch_size,
    accumIter: a.accum_iter,
    epochs: a.epochs,
    lr: a.lr,
    betas: [a.optimizer_betas[0], a.optimizer_betas[1]],
    decayLr: a.decay_lr,
    classDropProb: a.class_drop_prob,
    skewedTimesteps: a.skewed_timesteps,
    useEma: a.use_ema,
    sampling: samplingFromArgs(a),
    evalFrequency: a.eval_frequency,
    seed: a.seed,
    resume,
    startEpoch: a.start_epoch,
    evalOnly: a.eval_only,
    testRun: a.test_run,
    outputDir,
    registry: a.registry || undefined,
    name: a.name || undefined,
    maxImages: a.max_images || undefined,
    checkpointMinutes: a.checkpoint_minutes || undefined,
    gridPerClass: a.grid_per_class,
    threads,
    args: { ...a, config: config.name },
    log,
  });
  io.out(`${JSON.stringify({ checkpoint: result.checkpoint ?? null, ...result.progress })}\n`);
  return 0;
}

/** Runs `f`, reporting its error as a usage error (exit code 2, no stack). */
function asArgsError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ArgsError(e instanceof Error ? e.message : String(e));
  }
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((t) => t === `--${name}` || t.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const t = argv[i];
  if (t.includes('=')) return t.slice(t.indexOf('=') + 1);
  if (i + 1 >= argv.length) throw new ArgsError(`--${name} needs a value`);
  return argv[i + 1];
}

/** A numeric flag, or undefined when absent; anything but a number in range is a usage error. */
function numberOption(argv: string[], name: string, rule: { integer?: boolean; min?: number } = {}): number | undefined {
  const text = option(argv, name);
  if (text === undefined) return undefined;
  const v = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(v) && (!rule.integer || Number.isInteger(v)) && (rule.min === undefined || v >= rule.min);
  if (!ok) throw new ArgsError(`--${name} ${text}: expected ${rule.integer ? 'an integer' : 'a number'}${rule.min !== undefined ? ` ≥ ${rule.min}` : ''}`);
  return v;
}

/** The solver flags that `sample` and `export` share, checked. */
function samplingOverrides(argv: string[]): SamplingOverrides {
  const odeMethod = option(argv, 'ode_method');
  if (odeMethod !== undefined && !(ODE_METHODS as readonly string[]).includes(odeMethod)) throw new ArgsError(`--ode_method ${odeMethod}: expected one of ${ODE_METHODS.join(', ')}`);
  return { odeMethod, nfe: numberOption(argv, 'nfe', { integer: true, min: 1 }), cfgScale: numberOption(argv, 'cfg_scale', { min: 0 }) };
}

async function runInfo(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  const registry = option(argv, 'registry');
  const target = argv.find((t, i) => !t.startsWith('--') && !(i > 0 && argv[i - 1] === '--registry'));
  if (!target || target === 'registry') {
    const regs = await listModels({ registry });
    if (json) io.out(`${JSON.stringify(regs)}\n`);
    else {
      io.out(`configurations: ${Object.keys(UNET_CONFIGS).join(', ')}\n`);
      for (const { dir, registry: r } of regs) {
        io.out(`registry ${dir}${r.default ? ` (default: ${r.default})` : ''}\n`);
        for (const [name, e] of Object.entries(r.models)) io.out(`  ${name}: ${e.config}, ${e.parameters} parameters, ${e.file}\n`);
      }
    }
    return 0;
  }
  if (target in UNET_CONFIGS) {
    const arch = buildArchitecture(unetConfig(target));
    const info = { configuration: arch.config, parameters: arch.parameterCount, tensors: arch.params.length };
    io.out(json ? `${JSON.stringify(info)}\n` : `${target}: ${arch.parameterCount} parameters in ${arch.params.length} tensors\n${JSON.stringify(arch.config, null, 2)}\n`);
    return 0;
  }
  const ckpt = await loadModel(target, { registry });
  const info = { file: ckpt.resolved.path, sha256: ckpt.sha256, kind: ckpt.kind, configuration: ckpt.meta.config, parameters: ckpt.meta.parameters, weights: ckpt.meta.weights, sampling: ckpt.meta.sampling, progress: ckpt.meta.progress ?? null, provenance: ckpt.meta.provenance };
  io.out(json ? `${JSON.stringify(info)}\n` : `${JSON.stringify(info, null, 2)}\n`);
  return 0;
}

/** Weights-only export (EMA weights when the run kept them) into a registry. */
async function runExport(argv: string[], io: CliIo): Promise<number> {
  const ref = option(argv, 'checkpoint');
  const out = option(argv, 'out');
  const format = option(argv, 'format') ?? 'safetensors';
  if (format !== 'safetensors' && format !== 'onnx') throw new ArgsError(`--format ${format}: expected safetensors or onnx`);
  if (!ref || !out) throw new ArgsError(`export needs --checkpoint <file | registry name> and --out <file.${format}>`);
  const ckpt = await loadModel(ref, { registry: option(argv, 'registry') });
  const chosen = weightsToSampleWith(ckpt);
  if (format === 'onnx') {
    const weights = chosen.kind;
    const bytes = exportUNetOnnx(buildArchitecture(ckpt.meta.config), chosen.values, { checkpoint_sha256: ckpt.sha256 ?? '', weights });
    const path = resolve(out);
    await writeFileAtomic(path, [bytes]);
    io.out(`${JSON.stringify({ file: path, format: 'onnx', bytes: bytes.length, sha256: sha256Hex(bytes), weights, checkpoint_sha256: ckpt.sha256, opset: ONNX_OPSET, inputs: ONNX_INPUTS, output: ONNX_OUTPUT })}\n`);
    return 0;
  }
  // the settings the checkpoint samples with (args.json beside a .pth included), then the flags
  const { settings: sampling } = samplingPlan(ckpt, { overrides: samplingOverrides(argv) });
  const edm = option(argv, 'edm_schedule');
  if (edm !== undefined) {
    if (edm !== 'true' && edm !== 'false') throw new ArgsError(`--edm_schedule ${edm}: expected true or false`);
    sampling.edmSchedule = edm === 'true';
  }
  const path = resolve(out);
  await writeCheckpoint(
    path,
    { meta: { ...ckpt.meta, weights: chosen.kind, sampling, provenance: { ...ckpt.meta.provenance, exportedFrom: ckpt.resolved.path, exportedFromSha256: ckpt.sha256 } }, weights: chosen.values },
    { float16: argv.includes('--float16') },
  );
  const bytes = await readFile(path);
  const name = option(argv, 'name');
  if (name) {
    const dir = option(argv, 'to_registry') ?? userRegistryDir(option(argv, 'registry'));
    const file = relative(dir, path).startsWith('..') ? path : relative(dir, path);
    await registerModel(dir, name, registryEntry(file, bytes, ckpt.meta, option(argv, 'description') ?? `exported from ${ckpt.resolved.path}`), argv.includes('--default'));
  }
  io.out(`${JSON.stringify({ file: path, bytes: bytes.length, sha256: sha256Hex(bytes), weights: chosen.kind, sampling, registered: name ?? null })}\n`);
  return 0;
}

async function runSample(argv: string[], io: CliIo): Promise<number> {
  const ref = option(argv, 'checkpoint');
  if (!ref) throw new ArgsError('sample needs --checkpoint <file | registry name>');
  const ckpt = await loadModel(ref, { registry: option(argv, 'registry') });
  const n = numberOption(argv, 'n', { integer: true, min: 1 }) ?? 16;
  const seed = numberOption(argv, 'seed', { integer: true, min: 0 }) ?? 0;
  const classes = ckpt.meta.config.numClasses;
  const labelText = option(argv, 'labels');
  const given = labelText ? labelText.split(/[ ,]+/).filter(Boolean).map(Number) : Array.from({ length: classes }, (_, i) => i);
  for (const l of given) if (!Number.isInteger(l) || l < 0 || l > classes) throw new ArgsError(`--labels: ${l} is not a class 0–${classes - 1} (or ${classes} = no label)`);
  const labels = Int32Array.from({ length: n }, (_, i) => given[i % given.length]);
  const plan = samplingPlan(ckpt, { overrides: samplingOverrides(argv) });
  const sampling = plan.settings;
  const out = resolve(option(argv, 'out') ?? 'grid.png');
  const engineChoice = asArgsError(() => parseEngine(option(argv, 'engine') ?? 'auto'));
  const ep = asArgsError(() => parseExecutionProvider(option(argv, 'ep') ?? 'cpu'));
  const threadsText = option(argv, 'threads');
  const threadsWanted = Number(threadsText ?? (engineChoice === 'tfjs' ? 1 : 0));
  if (!(Number.isInteger(threadsWanted) && threadsWanted >= 0)) throw new ArgsError(`--threads ${threadsText}: expected a whole number ≥ 0 (0 = one per core)`);
  const engine = await openEngine(
    { arch: buildArchitecture(ckpt.meta.config), values: plan.weights, checkpointSha256: ckpt.sha256!, weights: plan.weightsKind },
    { engine: engineChoice, ep, threads: threadsWanted, log: (m) => io.err(`${m}\n`) },
  ).catch((e: Error) => {
    throw e instanceof EngineError ? new ArgsError(e.message) : e;
  });
  // with ONNX Runtime the solver's arithmetic runs on tfjs cpu: no kernels to register, no threads
  const backend = engine ? await useBackend('cpu', io) : await useBackend(option(argv, 'backend') ?? 'auto', io);
  const threadTotal = engine ? 1 : asArgsError(() => threadCount(threadsWanted === 0 && threadsText === undefined ? 1 : threadsWanted, backend));
  const model = new FlowModel(ckpt.meta.config, plan.weights, ckpt.resolved.path);
  const threads = threadTotal > 1 ? await ModelThreads.start(ckpt.meta.config, backend, threadTotal - 1) : undefined;
  try {
    const t0 = performance.now();
    const images = await sampleImages(model, model.params, labels, sampling, { seed, threads, engine, timeGrid: plan.timeGrid });
    const cols = Math.min(n, given.length <= 1 ? Math.ceil(Math.sqrt(n)) : given.length);
    await writePng(out, imageGrid(images, n, ckpt.meta.config.imageSize, cols));
    const how = engine ? `onnx ${engine.info.provider}, ${engine.info.threads} threads` : `tfjs ${backend}${threadTotal > 1 ? `, ${threadTotal} threads` : ''}`;
    io.err(`flow-train: ${n} samples (${plan.weightsKind} weights, ${sampling.odeMethod}, ${JSON.stringify(sampling.odeOptions)}, cfg ${sampling.cfgScale}; ${how}) in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${out}\n`);
  } finally {
    await engine?.close();
    await threads?.close();
    model.dispose();
  }
  return 0;
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        return await runTrain(rest, io);
      case 'info':
        return await runInfo(rest, io);
      case 'sample':
        return await runSample(rest, io);
      case 'export':
        return await runExport(rest, io);
      case undefined:
      case '--help':
      case '-h':
        io.out(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        io.err(`mmmi-train: unknown command '${command}'\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ArgsError || e instanceof CheckpointError || (e instanceof Error && (e.name === 'WeightsNotFoundError' || e.name === 'BackendUnavailableError'))) {
      io.err(`mmmi-train: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Error && /unknown model configuration|does not fit model configuration|not divisible|no such folder|no such file|needs --data_path|no class sub-folders|images, model configuration|classes, model configuration|fewer than accum_iter|--resume /.test(e.message)) {
      io.err(`mmmi-train: ${e.message}\n`);
      return 2;
    }
    // a download that cannot happen (no network, a moved URL) is a failure of the run, not a bug: no stack
    if (e instanceof Error && e.name === 'DownloadError') {
      io.err(`mmmi-train: error: ${e.message}; without network, put the file where the line above says, or give --data_path\n`);
      return 1;
    }
    throw e;
  }
}
