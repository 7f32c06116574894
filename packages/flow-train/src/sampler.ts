/**
 * The sampler opener: the one place that turns what a caller names into what it samples with,
 * for dataset generation's flow map, `mmmi-train sample`, training's evaluation grid and the
 * FID samples alike.
 *
 *   checkpoint (file or registry name) ─► sampling plan (weights, solver, grid, guidance,
 *   the caller's overrides; sampling-plan.ts) ─► engine (ONNX Runtime or tfjs) ─► tfjs
 *   backend (@mmmi/tfjs-runtime's prepareBackend) ─► threads ─► a Sampler
 *
 * A sampler integrates the guided velocity v = (1 + w)·v(x, t, y) − w·v(x, t, ∅) from noise
 * x(0) to images x(1) on the plan's grid (sample.ts), or undoes it step by step
 * (invert-flow.ts), with the same engine and threads either way.
 *
 *  - **Engine.** `engine` (default 'auto': ONNX Runtime when it loads, else tfjs) with `ep` and
 *    `engineThreads` (ONNX Runtime's intra-op threads; 0 = one per core). With ONNX Runtime
 *    the solver's arithmetic runs on tfjs cpu, on one thread.
 *  - **Backend and threads (tfjs).** `backend` (default 'auto') is prepared as training and
 *    inference prepare it; `tfjsThreads` threads integrate shards of each batch on the
 *    one-threaded wasm and cpu backends (0 = one per core, default 1).
 *  - **A training run's model** (`{ model, weights, settings }`): sampled as it is in memory,
 *    on the current backend and the run's own threads; the engine gets a temporary graph of
 *    the current weights. Closing such a sampler closes only the engine it opened.
 *
 * Each caller passes its own defaults explicitly (the flow map and `mmmi-train sample` differ
 * in nothing today but say so each); `beforeOpening` runs the caller's checks once the
 * checkpoint and its plan are known and before anything is opened.
 */
import * as tf from '@tensorflow/tfjs-core';
import { prepareBackend } from '@mmmi/tfjs-runtime';
import type { FlowCheckpoint, SamplingSettings } from './checkpoint.js';
import { openEngine, openEngineForValues, type EngineChoice, type ExecutionProvider } from './engine/index.js';
import type { EngineInfo, VelocityEngine } from './engine/ort-engine.js';
import { FlowModel } from './flow-model.js';
import { invertFlowRows, type InvertFlowOptions } from './invert-flow.js';
import { ModelThreads, threadCount, type InversionThreads, type SamplingThreads } from './parallel/model-threads.js';
import { loadModel, type ResolvedModel } from './registry.js';
import { integrateFlowRows, sampleImages } from './sample.js';
import { samplingPlan, type SamplingOverrides, type SamplingPlan } from './sampling-plan.js';
import type { InversionReport } from './solvers/invert.js';
import { buildArchitecture } from './unet/architecture.js';
import { forwardPeakBytesPerImage, forwardTotalBytesPerImage } from './unet/memory.js';
import type { ParamTensors } from './unet/model.js';

/** A checkpoint read through the registry (loadModel's result). */
export type LoadedCheckpoint = FlowCheckpoint & { resolved: ResolvedModel };

/** A checkpoint to sample: a file or registry name (or one already loaded), and how. */
export interface CheckpointSamplerSource {
  checkpoint: string | LoadedCheckpoint;
  /** Registry folder for a name (default $MMMI_REGISTRY or ~/.cache/mmmi/registry). */
  registry?: string;
  /** The caller's flags, over the checkpoint's settings and the registry's recipe. */
  overrides?: SamplingOverrides;
  /** Dataset generation's convention for PyTorch checkpoints (the reference grid; see samplingPlan). */
  generation?: boolean;
  /** An explicit time grid over the plan's (drops a `step_size`). */
  timeGrid?: readonly number[];
}

/** A training run's model as it is in memory. */
export interface ModelSamplerSource {
  model: FlowModel;
  /** The weights to sample with (the EMA shadow, or the live parameters). */
  weights: ParamTensors;
  settings: SamplingSettings;
  /** The run's threads (kept open when the sampler closes); threads that only sample leave inversion to this thread. */
  threads?: SamplingThreads | InversionThreads;
}

export type SamplerSource = CheckpointSamplerSource | ModelSamplerSource;

export interface SamplerOptions {
  /** 'auto' (default): ONNX Runtime when it loads, else tfjs. */
  engine?: EngineChoice;
  ep?: ExecutionProvider;
  /** ONNX Runtime's intra-op threads (0 = one per core; unset: ONNX Runtime's default). */
  engineThreads?: number;
  /** The tfjs backend when tfjs evaluates the velocity (default 'auto'); a checkpoint source only. */
  backend?: string;
  /** tfjs threads integrating shards of each batch (0 = one per core; default 1); a checkpoint source only. */
  tfjsThreads?: number;
  log?: (message: string) => void;
  /** The caller's checks (and claims) once the checkpoint and its plan are known, before anything opens. */
  beforeOpening?: (checkpoint: LoadedCheckpoint, plan: SamplingPlan) => void | Promise<void>;
}

/** What sampling holds in memory: weights (bytes) and, per image, activations and solver states (bytes). */
export interface SamplerMemory {
  /** The tfjs model's copy, one per extra thread, and ONNX Runtime's session. */
  weightsBytes: number;
  /**
   * Per image: the activations of each velocity evaluation (a doubled batch with guidance;
   * ONNX Runtime frees each tensor after its last use, the peak; tfjs holds every tensor of the
   * pass until its tidy ends, the total) and the solver's states (heun2/rk4 keep up to six).
   */
  perImageBytes: number;
}

export interface Sampler {
  /** The tfjs model (and its weights) that the sampler samples with. */
  readonly model: FlowModel;
  readonly weights: ParamTensors;
  readonly weightsKind: 'ema' | 'live';
  readonly settings: SamplingSettings;
  /** The time grid every integration uses; undefined: the settings' grid (or `step_size` subdivisions of [0, 1]). */
  readonly timeGrid: number[] | undefined;
  /** The checkpoint and its plan, when opened from one. */
  readonly checkpoint?: LoadedCheckpoint;
  readonly plan?: SamplingPlan;
  /** ONNX Runtime, or undefined when tfjs evaluates the velocity. */
  readonly engine: VelocityEngine | undefined;
  readonly threads: SamplingThreads | InversionThreads | undefined;
  /** The tfjs backend (with ONNX Runtime: the one the solver's arithmetic runs on). */
  readonly backend: string;
  /** What evaluates the velocity: engine, execution provider or backend, threads, graph sha256. */
  readonly engineInfo: EngineInfo;
  readonly memory: SamplerMemory;
  /** Rows of noise x0 (NHWC floats, one row per label) → x at t = 1. */
  integrate(x0: Float32Array, labels: Int32Array): Promise<Float32Array>;
  /** Rows of images x1 (NHWC floats at t = 1) → the noise they were integrated from, and the solver's report. */
  invert(
    x1: Float32Array,
    labels: Int32Array,
    options?: Pick<InvertFlowOptions, 'tolerance' | 'maxIterations' | 'forwardCheck' | 'onStep'>,
  ): Promise<{ x0: Float32Array; report: InversionReport }>;
  /** Samples for `labels` from the seeded noise of (seed, stream), as uint8 RGB HWC images. */
  sample(labels: Int32Array, noise: { seed: number; stream?: number }): Promise<Uint8Array>;
  /** Closes what the opener opened (engine, threads, model); a training run's model and threads stay. */
  close(): Promise<void>;
}

/** A sampler opened from a checkpoint: its checkpoint and plan are known. */
export interface CheckpointSampler extends Sampler {
  readonly checkpoint: LoadedCheckpoint;
  readonly plan: SamplingPlan;
}

function isModelSource(source: SamplerSource): source is ModelSamplerSource {
  return 'model' in source;
}

/** Opens a sampler for a checkpoint (file or registry name) or a training run's model; see the module comment. */
export async function openSampler(source: CheckpointSamplerSource, options?: SamplerOptions): Promise<CheckpointSampler>;
export async function openSampler(source: SamplerSource, options?: SamplerOptions): Promise<Sampler>;
export async function openSampler(source: SamplerSource, options: SamplerOptions = {}): Promise<Sampler> {
  return isModelSource(source) ? openModelSampler(source, options) : openCheckpointSampler(source, options);
}

async function openCheckpointSampler(source: CheckpointSamplerSource, options: SamplerOptions): Promise<CheckpointSampler> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const ckpt = typeof source.checkpoint === 'string' ? await loadModel(source.checkpoint, { registry: source.registry }) : source.checkpoint;
  const c = ckpt.meta.config;
  const plan = samplingPlan(ckpt, { overrides: source.overrides, generation: source.generation });
  const settings = plan.settings;
  const timeGrid = source.timeGrid ? [...source.timeGrid] : plan.timeGrid;
  if (source.timeGrid) delete settings.odeOptions.step_size;
  await options.beforeOpening?.(ckpt, plan);
  const engine = await openEngine(
    { arch: buildArchitecture(c), values: plan.weights, checkpointSha256: ckpt.sha256!, weights: plan.weightsKind },
    { engine: options.engine ?? 'auto', ep: options.ep, threads: options.engineThreads, log },
  );
  let model: FlowModel | undefined;
  try {
    // with ONNX Runtime the solver's arithmetic runs on tfjs cpu; on wasm this also registers the runtime's kernels
    const backend = await prepareBackend(engine ? 'cpu' : (options.backend ?? 'auto'), { log, label: 'flow-train' });
    const threadTotal = engine ? 1 : threadCount(options.tfjsThreads ?? 1, backend);
    model = new FlowModel(c, plan.weights, ckpt.resolved.path);
    const threads = threadTotal > 1 ? await ModelThreads.start(c, backend, threadTotal - 1) : undefined;
    const owned = model;
    const opened = sampler({
      model,
      weights: model.params,
      weightsKind: plan.weightsKind,
      settings,
      timeGrid,
      checkpoint: ckpt,
      plan,
      engine,
      threads,
      backend,
      threadTotal,
      parameters: ckpt.meta.parameters,
      close: async () => {
        await engine?.close();
        await threads?.close();
        owned.dispose();
      },
    });
    return { ...opened, checkpoint: ckpt, plan };
  } catch (e) {
    await engine?.close();
    model?.dispose();
    throw e;
  }
}

async function openModelSampler(source: ModelSamplerSource, options: SamplerOptions): Promise<Sampler> {
  const engine = await openEngineForValues(source.model.arch, await source.model.values(source.weights), {
    engine: options.engine ?? 'auto',
    ep: options.ep,
    threads: options.engineThreads,
    log: options.log,
  });
  const opened = modelSampler(source, engine);
  return { ...opened, close: async () => void (await engine?.close()) };
}

/**
 * A sampler over a training run's model in memory and an engine already open (or none: tfjs),
 * on the current backend; its `close` closes nothing (the caller owns the engine and threads).
 * The FID samples use it with the evaluation's engine.
 */
export function modelSampler(source: ModelSamplerSource, engine?: VelocityEngine): Sampler {
  const { model, weights, settings, threads } = source;
  return sampler({
    model,
    weights,
    weightsKind: weights === model.params ? 'live' : 'ema',
    settings,
    timeGrid: undefined,
    engine,
    threads,
    backend: tf.getBackend(),
    threadTotal: engine ? 1 : 1 + (threads?.workers ?? 0),
    parameters: model.arch.parameterCount,
    close: async () => {},
  });
}

interface SamplerParts {
  model: FlowModel;
  weights: ParamTensors;
  weightsKind: 'ema' | 'live';
  settings: SamplingSettings;
  timeGrid: number[] | undefined;
  checkpoint?: LoadedCheckpoint;
  plan?: SamplingPlan;
  engine: VelocityEngine | undefined;
  threads: SamplingThreads | InversionThreads | undefined;
  backend: string;
  /** Threads evaluating the velocity with tfjs (1 with an engine). */
  threadTotal: number;
  parameters: number;
  close: () => Promise<void>;
}

function sampler(p: SamplerParts): Sampler {
  const { model, weights, settings, timeGrid, engine, threads } = p;
  const arch = model.arch;
  const c = arch.config;
  const pixels = c.imageSize * c.imageSize * c.inChannels;
  const passes = settings.cfgScale !== 0 ? 2 : 1;
  const memory: SamplerMemory = {
    weightsBytes: 4 * p.parameters * (p.threadTotal + (engine ? 1 : 0)),
    perImageBytes: passes * (engine ? forwardPeakBytesPerImage(arch) : forwardTotalBytesPerImage(arch)) + 4 * pixels * 6,
  };
  const along = { timeGrid, threads, engine };
  const inversionThreads = threads && 'invert' in threads ? threads : undefined;
  return {
    model,
    weights,
    weightsKind: p.weightsKind,
    settings,
    timeGrid,
    checkpoint: p.checkpoint,
    plan: p.plan,
    engine,
    threads,
    backend: p.backend,
    engineInfo: engine?.info ?? { engine: 'tfjs', provider: p.backend, threads: p.threadTotal },
    memory,
    integrate: (x0, labels) => integrateFlowRows(model, weights, x0, labels, settings, along),
    invert: (x1, labels, more = {}) => invertFlowRows(model, weights, x1, labels, settings, { ...more, timeGrid, threads: inversionThreads, engine }),
    sample: (labels, noise) => sampleImages(model, weights, labels, settings, { seed: noise.seed, stream: noise.stream, ...along }),
    close: p.close,
  };
}
