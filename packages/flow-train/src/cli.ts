/**
 * `mmmi-train`: train | info | sample | export. Parsing and printing only; the work lives in
 * train.ts, sample.ts, checkpoint.ts and registry.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { claimOutputFile, formatOptionHelp, OutputRefused, parseOptions, runCli, UsageError, type OptionTable } from '@mmmi/cli-kit';
import { DownloadError, WeightsNotFoundError } from '@mmmi/fid';
import { FormatError, writeFileAtomic, writePng } from '@mmmi/formats';
import { BACKEND_CHOICES, BackendUnavailableError, prepareBackend, type BackendName } from '@mmmi/tfjs-runtime';
import { parseTrainArgs, trainHelp, type TrainArgs } from './args.js';
import { CheckpointError, sha256Hex, writeCheckpoint, type SamplingSettings } from './checkpoint.js';
import { unknownLabels } from './class-labels.js';
import { EngineError, ENGINES, EXECUTION_PROVIDERS, type EngineChoice } from './engine/index.js';
import { loadCifar10Train, loadImageFolder } from './data/dataset.js';
import { makeFidEvaluator } from './fid-eval.js';
import { exportUNetOnnx, ONNX_INPUTS, ONNX_OPSET, ONNX_OUTPUT } from './onnx/export-unet.js';
import { threadCount } from './parallel/model-threads.js';
import { claimRegistryName, listModels, loadModel, registerModel, registryEntry, resolveModel, userRegistryDir } from './registry.js';
import { sameArchitecture, samplingPlan, weightsToSampleWith } from './sampling-plan.js';
import { ODE_METHODS } from './solvers/index.js';
import { imageGrid } from './sample.js';
import { openSampler } from './sampler.js';
import { train } from './train.js';
import { claimRunFolder, startAfresh } from './training/run-folder.js';
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

/** The solver flags that `sample` and `export` share: they override what the checkpoint samples with. */
const SAMPLING_OVERRIDE_FLAGS = {
  ode_method: { kind: 'choice', choices: ODE_METHODS, help: "ODE solver (default: the checkpoint's)" },
  nfe: { kind: 'int', min: 1, help: "grid steps (default: the checkpoint's)" },
  cfg_scale: { kind: 'float', min: 0, help: "classifier-free guidance scale w (default: the checkpoint's)" },
} as const satisfies OptionTable;

const MODEL_FLAGS = {
  checkpoint: { kind: 'string', valueName: '<file | name>', help: 'a checkpoint file (.safetensors, .pth) or a registry name' },
  registry: { kind: 'string', valueName: '<dir>', help: 'model registry folder (default $MMMI_REGISTRY or ~/.cache/mmmi/registry)' },
} as const satisfies OptionTable;

const HELP_FLAG = { help: { kind: 'boolean', short: 'h', help: 'show this help' } } as const satisfies OptionTable;

export const INFO_FLAGS = {
  json: { kind: 'boolean', help: 'print JSON' },
  registry: MODEL_FLAGS.registry,
  ...HELP_FLAG,
} as const satisfies OptionTable;

export const SAMPLE_FLAGS = {
  ...MODEL_FLAGS,
  labels: { kind: 'ints', min: 0, valueName: '0,1,2', help: 'class of each sample, cycled (default: every class; numClasses = no label)' },
  n: { kind: 'int', min: 1, default: 16, help: 'number of samples' },
  out: { kind: 'string', default: 'grid.png', valueName: '<file.png>', help: 'the image grid' },
  overwrite: { kind: 'boolean', help: 'replace an existing --out file (never the checkpoint or another input)' },
  ...SAMPLING_OVERRIDE_FLAGS,
  seed: { kind: 'int', min: 0, default: 0, help: 'seed of the initial noise' },
  engine: { kind: 'choice', choices: ENGINES, default: 'auto', help: 'what evaluates the model: onnx (ONNX Runtime), tfjs, or auto (onnx where it loads)' },
  ep: { kind: 'choice', choices: EXECUTION_PROVIDERS, default: 'cpu', help: 'ONNX Runtime execution provider' },
  backend: { kind: 'choice', choices: BACKEND_CHOICES, default: 'auto', help: 'tfjs backend (the tfjs engine)' },
  threads: { kind: 'int', min: 0, help: "ONNX Runtime's threads, or tfjs data-parallel threads; 0 = one per core (default: 0 for onnx, 1 for tfjs)" },
  ...HELP_FLAG,
} as const satisfies OptionTable;

export const EXPORT_FLAGS = {
  ...MODEL_FLAGS,
  out: { kind: 'string', valueName: '<file>', help: 'the exported file (.safetensors or .onnx)' },
  format: {
    kind: 'choice',
    choices: ['safetensors', 'onnx'],
    default: 'safetensors',
    help: 'weights-only checkpoint (the sampling weights) or the UNet as an ONNX graph',
  },
  float16: { kind: 'boolean', help: 'store the weights as float16' },
  overwrite: { kind: 'boolean', help: 'replace an existing --out file and registry entry --name (never the checkpoint read)' },
  name: { kind: 'name', help: 'register the export under this name' },
  to_registry: { kind: 'string', valueName: '<dir>', help: 'the registry to register in (default: the user registry)' },
  default: { kind: 'boolean', help: "make it the registry's default model" },
  description: { kind: 'string', help: "the registry entry's description" },
  ...SAMPLING_OVERRIDE_FLAGS,
  edm_schedule: { kind: 'boolean', help: "sample with the EDM time grid (default: the checkpoint's)" },
  ...HELP_FLAG,
} as const satisfies OptionTable;

async function useBackend(name: string, io: CliIo): Promise<BackendName> {
  return prepareBackend(name, { log: (m) => io.err(`${m}\n`), label: 'flow-train' });
}

function samplingFromArgs(a: TrainArgs): SamplingSettings {
  return { odeMethod: a.ode_method, odeOptions: a.ode_options, cfgScale: a.cfg_scale, edmSchedule: a.edm_schedule };
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
  if (resume && !existsSync(resume)) throw new UsageError(`--resume ${a.resume}: ${resume} does not exist`);
  const initFrom = a.init_from && !resume ? (await resolveModel(a.init_from, { registry: a.registry || undefined })).path : undefined;
  const runFolder = await claimRunFolder(outputDir, {
    resume,
    resumeFlag: a.resume,
    overwrite: a.overwrite,
    registry: a.registry,
    name: a.name,
    inputs: { '--init_from': initFrom, '--data_path': a.data_path || undefined },
    log,
  });
  let initWeights;
  if (a.init_from && !resume) {
    const init = await loadModel(a.init_from, { registry: a.registry || undefined });
    if (!sameArchitecture(init.meta.config, config)) {
      throw new UsageError(`--init_from ${a.init_from}: its model configuration '${init.meta.config.name}' differs from '${config.name}'`);
    }
    const chosen = weightsToSampleWith(init);
    initWeights = chosen.values;
    log(
      `flow-train: starting from the ${chosen.kind} weights of ${init.resolved.path} (${init.meta.progress?.imagesSeen ?? '?'} images seen there), fresh optimizer`,
    );
  }
  const data = a.dataset === 'cifar10' ? await loadCifar10Train(a.data_path || undefined, { log, limit }) : await loadImageFolder(a.data_path, { log, limit });
  const backend = await useBackend(a.backend, io);
  const threads = threadCount(a.threads, backend);
  // the FID network's weights are checked now, not at the first evaluation hours later
  const computeFid = a.compute_fid
    ? await makeFidEvaluator({
        fidSamples: a.fid_samples,
        dataPath: a.dataset === 'cifar10' ? a.data_path || undefined : undefined,
        sampling: samplingFromArgs(a),
        seed: a.seed,
        log,
      })
    : undefined;
  startAfresh(runFolder, resume, log);
  const result = await train(data, {
    initWeights,
    computeFid,
    evalEngine: a.eval_engine,
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

/** Parses a sub-command's flags; undefined when --help was asked (the help is printed). */
function subcommand<T extends OptionTable & typeof HELP_FLAG>(argv: string[], table: T, usage: string, io: CliIo, positionals = false) {
  const parsed = parseOptions(argv, table, { positionals });
  if (parsed.values.help) {
    io.out(`${usage}\n\n${formatOptionHelp(table)}\n`);
    return undefined;
  }
  return parsed;
}

async function runInfo(argv: string[], io: CliIo): Promise<number> {
  const parsed = subcommand(argv, INFO_FLAGS, 'usage: mmmi-train info <configuration | checkpoint | registry name | registry> [--json]', io, true);
  if (!parsed) return 0;
  const { values: o, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`info takes one configuration, checkpoint or registry name, got ${positionals.join(' ')}`);
  const json = o.json === true;
  const registry = o.registry;
  const target = positionals[0];
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
    io.out(
      json
        ? `${JSON.stringify(info)}\n`
        : `${target}: ${arch.parameterCount} parameters in ${arch.params.length} tensors\n${JSON.stringify(arch.config, null, 2)}\n`,
    );
    return 0;
  }
  const ckpt = await loadModel(target, { registry });
  const info = {
    file: ckpt.resolved.path,
    sha256: ckpt.sha256,
    kind: ckpt.kind,
    configuration: ckpt.meta.config,
    parameters: ckpt.meta.parameters,
    weights: ckpt.meta.weights,
    sampling: ckpt.meta.sampling,
    progress: ckpt.meta.progress ?? null,
    provenance: ckpt.meta.provenance,
  };
  io.out(json ? `${JSON.stringify(info)}\n` : `${JSON.stringify(info, null, 2)}\n`);
  return 0;
}

/**
 * The file `sample` or `export` writes, claimed before the work: of its kind by its extension
 * (so that even --overwrite cannot turn a dataset shard into a PNG), new unless --overwrite,
 * and never the checkpoint read.
 */
function claimWrittenFile(out: string, extension: string, overwrite: boolean, checkpoint: string, io: CliIo): string {
  if (extname(out).toLowerCase() !== extension) throw new OutputRefused(`--out ${out}: this command writes a ${extension} file; name it *${extension}`);
  const claimed = claimOutputFile(out, { flag: '--out', overwrite, inputs: { '--checkpoint': checkpoint } });
  if (claimed.replaces) io.err(`flow-train: --overwrite: replacing ${claimed.path} (${claimed.replaces})\n`);
  return claimed.path;
}

/** Weights-only export (EMA weights when the run kept them) into a registry, or the UNet as ONNX. */
async function runExport(argv: string[], io: CliIo): Promise<number> {
  const parsed = subcommand(argv, EXPORT_FLAGS, 'usage: mmmi-train export --checkpoint <file | name> --out <file> [flags]', io);
  if (!parsed) return 0;
  const o = parsed.values;
  const format = o.format;
  if (!o.checkpoint || !o.out) throw new UsageError(`export needs --checkpoint <file | registry name> and --out <file.${format}>`);
  const ckpt = await loadModel(o.checkpoint, { registry: o.registry });
  const chosen = weightsToSampleWith(ckpt);
  const path = claimWrittenFile(o.out, `.${format}`, o.overwrite === true, ckpt.resolved.path, io);
  const registryDir = o.to_registry ?? userRegistryDir(o.registry);
  if (o.name) await claimRegistryName(registryDir, o.name, path, { overwrite: o.overwrite === true, nameFlag: '--name' });
  if (format === 'onnx') {
    const weights = chosen.kind;
    const bytes = exportUNetOnnx(buildArchitecture(ckpt.meta.config), chosen.values, { checkpoint_sha256: ckpt.sha256 ?? '', weights });
    await writeFileAtomic(path, [bytes]);
    io.out(
      `${JSON.stringify({ file: path, format: 'onnx', bytes: bytes.length, sha256: sha256Hex(bytes), weights, checkpoint_sha256: ckpt.sha256, opset: ONNX_OPSET, inputs: ONNX_INPUTS, output: ONNX_OUTPUT })}\n`,
    );
    return 0;
  }
  // the settings the checkpoint samples with (args.json beside a .pth included), then the flags
  const { settings: sampling } = samplingPlan(ckpt, { overrides: { odeMethod: o.ode_method, nfe: o.nfe, cfgScale: o.cfg_scale } });
  if (o.edm_schedule !== undefined) sampling.edmSchedule = o.edm_schedule;
  await writeCheckpoint(
    path,
    {
      meta: {
        ...ckpt.meta,
        weights: chosen.kind,
        sampling,
        provenance: { ...ckpt.meta.provenance, exportedFrom: ckpt.resolved.path, exportedFromSha256: ckpt.sha256 },
      },
      weights: chosen.values,
    },
    { float16: o.float16 === true },
  );
  const bytes = await readFile(path);
  if (o.name) {
    const dir = registryDir;
    const file = relative(dir, path).startsWith('..') ? path : relative(dir, path);
    await registerModel(dir, o.name, registryEntry(file, bytes, ckpt.meta, o.description ?? `exported from ${ckpt.resolved.path}`), o.default === true);
  }
  io.out(`${JSON.stringify({ file: path, bytes: bytes.length, sha256: sha256Hex(bytes), weights: chosen.kind, sampling, registered: o.name ?? null })}\n`);
  return 0;
}

async function runSample(argv: string[], io: CliIo): Promise<number> {
  const parsed = subcommand(argv, SAMPLE_FLAGS, 'usage: mmmi-train sample --checkpoint <file | name> [flags]', io);
  if (!parsed) return 0;
  const o = parsed.values;
  if (!o.checkpoint) throw new UsageError('sample needs --checkpoint <file | registry name>');
  const ckpt = await loadModel(o.checkpoint, { registry: o.registry });
  const n = o.n;
  const classes = ckpt.meta.config.numClasses;
  const given = o.labels ?? Array.from({ length: classes }, (_, i) => i);
  const [unknown] = unknownLabels(given, classes);
  if (unknown !== undefined) throw new UsageError(`--labels: ${unknown} is not a class 0–${classes - 1} (or ${classes} = no label)`);
  const labels = Int32Array.from({ length: n }, (_, i) => given[i % given.length]);
  const engineChoice: EngineChoice = o.engine;
  const threadsWanted = o.threads ?? (engineChoice === 'tfjs' ? 1 : 0);
  let out = '';
  // the checkpoint's plan and the flags, then the engine (with ONNX Runtime the solver's arithmetic runs on tfjs cpu, on one thread), backend and threads
  const sampler = await openSampler(
    { checkpoint: ckpt, overrides: { odeMethod: o.ode_method, nfe: o.nfe, cfgScale: o.cfg_scale } },
    {
      engine: engineChoice,
      ep: o.ep,
      engineThreads: threadsWanted,
      backend: o.backend,
      tfjsThreads: threadsWanted === 0 && o.threads === undefined ? 1 : threadsWanted,
      log: (m) => io.err(`${m}\n`),
      beforeOpening: () => void (out = claimWrittenFile(o.out, '.png', o.overwrite === true, ckpt.resolved.path, io)),
    },
  );
  const { plan, settings: sampling, engineInfo } = sampler;
  try {
    const t0 = performance.now();
    const images = await sampler.sample(labels, { seed: o.seed });
    const cols = Math.min(n, given.length <= 1 ? Math.ceil(Math.sqrt(n)) : given.length);
    await writePng(out, imageGrid(images, n, ckpt.meta.config.imageSize, cols));
    const how = sampler.engine
      ? `onnx ${engineInfo.provider}, ${engineInfo.threads} threads`
      : `tfjs ${sampler.backend}${engineInfo.threads > 1 ? `, ${engineInfo.threads} threads` : ''}`;
    io.err(
      `flow-train: ${n} samples (${plan.weightsKind} weights, ${sampling.odeMethod}, ${JSON.stringify(sampling.odeOptions)}, cfg ${sampling.cfgScale}; ${how}) in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${out}\n`,
    );
  } finally {
    await sampler.close();
  }
  return 0;
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  return runCli(
    argv,
    {
      name: 'mmmi-train',
      usage: USAGE,
      commands: {
        train: (rest) => runTrain(rest, io),
        info: (rest) => runInfo(rest, io),
        sample: (rest) => runSample(rest, io),
        export: (rest) => runExport(rest, io),
      },
      kinds: { input: [CheckpointError, EngineError, WeightsNotFoundError, BackendUnavailableError, FormatError], failure: [DownloadError] },
      hints: [{ when: DownloadError, hint: 'without network, put the file where the line above says, or give --data_path' }],
    },
    { out: (line) => io.out(`${line}\n`), err: (line) => io.err(`${line}\n`) },
  );
}
