/**
 * The flow map: a flow-matching checkpoint from the model registry (flow-train) that turns
 * each modality's latent, read as a 3×32×32 noise image, into an image by integrating the
 * learned ODE from t = 0 to t = 1 with classifier-free guidance, conditioned on the
 * modality's label (SPEC §6). The map is deterministic and invertible (an ODE flow), so the
 * images carry the latents' MI.
 *
 * Settings: a PyTorch checkpoint of the paper's trainer is integrated exactly as the
 * reference does (10 evenly spaced times, the checkpoint's ode_method and cfg_scale, a
 * step_size in ode_options overriding the grid; args.json beside the checkpoint wins over
 * the checkpoint's own args). Our checkpoints use the settings recorded at training.
 * `--ode_method`, `--ode_nfe`, `--ode_grid` and `--cfg_scale` override either; the manifest
 * records what was used. `--threads` integrates shards of each batch on worker threads
 * (flow-train's ModelThreads) on the one-threaded wasm and cpu backends. `invert` undoes
 * the integration step by step with the same solver, grid, guidance and engine (flow-train's
 * `invertFlowRows`), for `verify --invert` and each job's inversion check.
 */
import { InputError } from '@mmmi/cli-kit';
import type { FlowMemory } from '../memory-need.js';
import type { MapInversion, ModalityMap } from './modality-map.js';
import {
  buildArchitecture,
  EngineError,
  forwardPeakBytesPerImage,
  forwardTotalBytesPerImage,
  FlowModel,
  openEngine,
  integrateFlowRows,
  invertFlowRows,
  loadModel,
  ModelThreads,
  samplingGrid,
  samplingPlan,
  threadCount,
  type EngineChoice,
  type EngineInfo,
  type ExecutionProvider,
  type GridKind,
  type ParamTensors,
  type SamplingOverrides,
} from '@mmmi/flow-train';
import { prepareBackend } from '@mmmi/tfjs-runtime';

export type { GridKind };
/** The solver flags of generation: flow-train's sampling overrides. */
export type FlowOverrides = SamplingOverrides;

export interface FlowMapInfo {
  name: string;
  file: string;
  sha256: string;
  kind: 'mmmi' | 'pytorch';
  configuration: string;
  parameters: number;
  weights: 'live' | 'ema';
  ode_method: string;
  time_grid: number[] | string;
  step_size: number | null;
  cfg_scale: number;
  /** The tfjs backend (with ONNX Runtime: the one the solvers' arithmetic runs on). */
  backend: string;
  /** Threads: ONNX Runtime's intra-op threads, or tfjs threads integrating shards of each batch (1 = this one only). */
  threads: number;
  /** What evaluated the velocity: engine, execution provider or backend, threads, graph sha256. */
  engine: EngineInfo;
}

/** The flow map: latents read as CHW 3×32×32 noise images per modality → images, float32. */
export interface FlowMap extends ModalityMap {
  info: FlowMapInfo;
  /** Classes the model was trained on (labels 0 … numClasses − 1; numClasses = no label). */
  numClasses: number;
  memory: FlowMemory;
  apply(x: Float64Array, count: number, nMod: number, labels: readonly number[]): Promise<Float32Array>;
  /** Images → the latents they were integrated from: flow-train's `invertFlowRows` per modality, same solver, grid, guidance and engine. */
  invert(y: Float32Array | Float64Array, count: number, nMod: number, labels: readonly number[]): Promise<MapInversion>;
}

export interface OpenFlowMapOptions {
  registry?: string;
  backend?: string;
  engine?: EngineChoice;
  ep?: ExecutionProvider;
  log?: (message: string) => void;
  overrides?: FlowOverrides;
  /** Threads for the integration (wasm and cpu; 0 = one per core; default 1). */
  threads?: number;
  /** An explicit time grid, over the plan's (reopening a recorded map: its manifest's `time_grid`). */
  timeGrid?: readonly number[];
}

const SIZE = 32;
const PIXELS = 3 * SIZE * SIZE;

/** Modality m of a batch [count, nMod, 3·32·32] of CHW images (the reference's reshape of a latent) as NHWC rows for the model. */
function toHwc(x: ArrayLike<number>, count: number, nMod: number, m: number): Float32Array {
  const nhwc = new Float32Array(count * PIXELS);
  for (let d = 0; d < count; d++) {
    const src = (d * nMod + m) * PIXELS;
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < SIZE * SIZE; p++) nhwc[d * PIXELS + p * 3 + ch] = x[src + ch * SIZE * SIZE + p];
  }
  return nhwc;
}

/** NHWC rows back into modality m of a CHW batch `out`. */
function fromHwc(nhwc: Float32Array, out: Float32Array | Float64Array, count: number, nMod: number, m: number): void {
  for (let d = 0; d < count; d++) {
    const dst = (d * nMod + m) * PIXELS;
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < SIZE * SIZE; p++) out[dst + ch * SIZE * SIZE + p] = nhwc[d * PIXELS + p * 3 + ch];
  }
}

/** A flow map that cannot be opened as asked (engine, provider): a user error. */
export class FlowMapError extends Error {}

/** Loads the checkpoint (a file or registry name; 'default' = the registry's default). */
export async function openFlowMap(ref: string, options: OpenFlowMapOptions = {}): Promise<FlowMap> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const ckpt = await loadModel(ref, { registry: options.registry });
  const c = ckpt.meta.config;
  if (c.imageSize !== 32 || c.inChannels !== 3 || c.outChannels !== 3) {
    throw new InputError(
      `checkpoint ${ckpt.resolved.path}: model configuration '${c.name}' makes ${c.imageSize}×${c.imageSize}×${c.inChannels} images; the latents are 3×32×32`,
    );
  }
  // the one rule of what a checkpoint samples with (flow-train's samplingPlan), with the reference grid for PyTorch checkpoints
  const plan = samplingPlan(ckpt, { overrides: options.overrides, generation: true });
  const { settings } = plan;
  const grid = options.timeGrid ? [...options.timeGrid] : plan.timeGrid;
  if (options.timeGrid) delete settings.odeOptions.step_size;
  const weightValues = plan.weights;
  const useEma = plan.weightsKind === 'ema';
  const engine = await openEngine(
    { arch: buildArchitecture(c), values: weightValues, checkpointSha256: ckpt.sha256!, weights: useEma ? 'ema' : 'live' },
    { engine: options.engine ?? 'auto', ep: options.ep, threads: options.threads ?? 0, log },
  ).catch((e: Error) => {
    throw e instanceof EngineError ? new FlowMapError(e.message) : e;
  });
  // with ONNX Runtime the solvers' arithmetic runs on tfjs cpu; on wasm this also registers the runtime's kernels
  const backend = await prepareBackend(engine ? 'cpu' : (options.backend ?? 'auto'), { log, label: 'flow-train' });
  const threadTotal = engine ? 1 : threadCount(options.threads ?? 1, backend);
  const model = new FlowModel(c, weightValues, ckpt.resolved.path);
  const weights: ParamTensors = model.params;
  const threads = threadTotal > 1 ? await ModelThreads.start(c, backend, threadTotal - 1) : undefined;
  const engineInfo: EngineInfo = engine?.info ?? { engine: 'tfjs', provider: backend, threads: threadTotal };
  const effectiveGrid = grid ?? samplingGrid(settings);
  const info: FlowMapInfo = {
    name: ckpt.resolved.name ?? ckpt.resolved.path,
    file: ckpt.resolved.path,
    sha256: ckpt.sha256!,
    kind: ckpt.kind,
    configuration: c.name,
    parameters: ckpt.meta.parameters,
    weights: useEma ? 'ema' : 'live',
    ode_method: settings.odeMethod,
    time_grid: settings.odeOptions.step_size !== undefined && !grid ? `step_size ${settings.odeOptions.step_size} over [0, 1]` : effectiveGrid,
    step_size: !grid ? (settings.odeOptions.step_size ?? null) : null,
    cfg_scale: settings.cfgScale,
    backend,
    threads: engineInfo.threads,
    engine: engineInfo,
  };
  const pixels = PIXELS;
  log(
    `flow map: ${info.name} (${c.name}, ${info.parameters} parameters, ${info.weights} weights, sha256 ${info.sha256.slice(0, 12)}…); ${settings.odeMethod} on ${Array.isArray(info.time_grid) ? `${info.time_grid.length - 1} steps` : info.time_grid}, cfg ${settings.cfgScale}; ${engine ? `ONNX Runtime ${engineInfo.provider} on ${engineInfo.threads} thread${engineInfo.threads > 1 ? 's' : ''} (graph sha256 ${engineInfo.graph_sha256!.slice(0, 12)}…)` : `tfjs ${backend}${threadTotal > 1 ? ` on ${threadTotal} threads` : ''}`}`,
  );

  // weights: the tfjs model's copy, one per extra thread, and ONNX Runtime's session; per image:
  // the activations of each velocity evaluation (a doubled batch with guidance): ONNX Runtime
  // frees each tensor after its last use (the peak), tfjs holds every tensor of the pass until
  // its tidy ends (the total); the solver's states (heun2/rk4 keep up to six image-sized
  // tensors) and the HWC staging copies
  const passes = settings.cfgScale !== 0 ? 2 : 1;
  const arch = buildArchitecture(c);
  const memory: FlowMemory = {
    weightsBytes: 4 * ckpt.meta.parameters * (threadTotal + (engine ? 1 : 0)),
    perImageBytes: passes * (engine ? forwardPeakBytesPerImage(arch) : forwardTotalBytesPerImage(arch)) + 4 * pixels * (6 + 2),
  };
  return {
    info,
    description: {
      kind: 'flow',
      name: info.name,
      formula: `x_img = ODE flow of the learned velocity from t=0 (latent) to t=1 (image), ${info.ode_method}, cfg ${info.cfg_scale}: (1+w)·v(x,t,label) − w·v(x,t,∅)`,
      checkpoint_sha256: info.sha256,
      flow: { ...info },
    },
    // an ODE flow is invertible: the images keep the latents' MI (up to the solver's and float32's rounding)
    keepsMiExact: true,
    memory,
    numClasses: c.numClasses,
    async apply(x, count, nMod, labels) {
      const out = new Float32Array(count * nMod * pixels);
      for (let m = 0; m < nMod; m++) {
        const img = await integrateFlowRows(model, weights, toHwc(x, count, nMod, m), new Int32Array(count).fill(labels[m]), settings, {
          timeGrid: grid,
          threads,
          engine,
        });
        fromHwc(img, out, count, nMod, m);
      }
      return out;
    },
    // the inverse of apply, modality by modality: the same layouts, solver, grid, guidance and engine (flow-train's invertFlowRows)
    async invert(y, count, nMod, labels) {
      const x = new Float64Array(count * nMod * pixels);
      const solver = [];
      for (let m = 0; m < nMod; m++) {
        const labelRows = new Int32Array(count).fill(labels[m]);
        const { x0, report } = await invertFlowRows(model, weights, toHwc(y, count, nMod, m), labelRows, settings, { timeGrid: grid, threads, engine });
        fromHwc(x0, x, count, nMod, m);
        solver.push(report);
      }
      return { x, converged: solver.every((r) => r.converged), solver };
    },
    async dispose() {
      await engine?.close();
      await threads?.close();
      model.dispose();
    },
  };
}
