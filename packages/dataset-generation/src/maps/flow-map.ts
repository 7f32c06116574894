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
 * on the one-threaded wasm and cpu backends. `invert` undoes the integration step by step
 * with the same solver, grid, guidance and engine, for `verify --invert` and each job's
 * inversion check. All of that is flow-train's sampler (`openSampler`: checkpoint → plan →
 * engine → backend → threads); this map converts the layouts (CHW latents ↔ NHWC images).
 */
import { existsSync } from 'node:fs';
import { InputError } from '@mmmi/cli-kit';
import { sha256File } from '@mmmi/formats';
import type { Manifest } from '../manifest.js';
import type { FlowMemory } from '../memory-need.js';
import type { MapInversion, MapKind, MapRequest, ModalityMap, ReopenedMap, ResolvedMap } from './modality-map.js';
import { TRANSFORMS } from './transforms.js';
import {
  EngineError,
  openSampler,
  resolveModel,
  samplingGrid,
  type EngineChoice,
  type EngineInfo,
  type ExecutionProvider,
  type GridKind,
  type SamplingOverrides,
} from '@mmmi/flow-train';

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

/** Opens the checkpoint (a file or registry name; 'default' = the registry's default) with flow-train's sampler opener. */
export async function openFlowMap(ref: string, options: OpenFlowMapOptions = {}): Promise<FlowMap> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // the one rule of what a checkpoint samples with (flow-train's samplingPlan), with the reference grid for PyTorch checkpoints
  const sampler = await openSampler(
    { checkpoint: ref, registry: options.registry, overrides: options.overrides, generation: true, timeGrid: options.timeGrid },
    {
      engine: options.engine ?? 'auto',
      ep: options.ep,
      engineThreads: options.threads ?? 0,
      backend: options.backend ?? 'auto',
      tfjsThreads: options.threads ?? 1,
      log,
      beforeOpening: (ckpt) => {
        const c = ckpt.meta.config;
        if (c.imageSize !== 32 || c.inChannels !== 3 || c.outChannels !== 3) {
          throw new InputError(
            `checkpoint ${ckpt.resolved.path}: model configuration '${c.name}' makes ${c.imageSize}×${c.imageSize}×${c.inChannels} images; the latents are 3×32×32`,
          );
        }
      },
    },
  ).catch((e: Error) => {
    throw e instanceof EngineError ? new FlowMapError(e.message) : e;
  });
  const ckpt = sampler.checkpoint;
  const c = ckpt.meta.config;
  const { settings, timeGrid: grid, engine, backend, engineInfo } = sampler;
  const info: FlowMapInfo = {
    name: ckpt.resolved.name ?? ckpt.resolved.path,
    file: ckpt.resolved.path,
    sha256: ckpt.sha256!,
    kind: ckpt.kind,
    configuration: c.name,
    parameters: ckpt.meta.parameters,
    weights: sampler.weightsKind,
    ode_method: settings.odeMethod,
    time_grid:
      settings.odeOptions.step_size !== undefined && !grid ? `step_size ${settings.odeOptions.step_size} over [0, 1]` : (grid ?? samplingGrid(settings)),
    step_size: !grid ? (settings.odeOptions.step_size ?? null) : null,
    cfg_scale: settings.cfgScale,
    backend,
    threads: engineInfo.threads,
    engine: engineInfo,
  };
  const pixels = PIXELS;
  log(
    `flow map: ${info.name} (${c.name}, ${info.parameters} parameters, ${info.weights} weights, sha256 ${info.sha256.slice(0, 12)}…); ${settings.odeMethod} on ${Array.isArray(info.time_grid) ? `${info.time_grid.length - 1} steps` : info.time_grid}, cfg ${settings.cfgScale}; ${engine ? `ONNX Runtime ${engineInfo.provider} on ${engineInfo.threads} thread${engineInfo.threads > 1 ? 's' : ''} (graph sha256 ${engineInfo.graph_sha256!.slice(0, 12)}…)` : `tfjs ${backend}${engineInfo.threads > 1 ? ` on ${engineInfo.threads} threads` : ''}`}`,
  );

  // the sampler's weights and per-image activations and solver states (flow-train's SamplerMemory), and the HWC staging copies
  const memory: FlowMemory = {
    weightsBytes: sampler.memory.weightsBytes,
    perImageBytes: sampler.memory.perImageBytes + 4 * pixels * 2,
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
        const img = await sampler.integrate(toHwc(x, count, nMod, m), new Int32Array(count).fill(labels[m]));
        fromHwc(img, out, count, nMod, m);
      }
      return out;
    },
    // the inverse of apply, modality by modality: the same layouts, solver, grid, guidance and engine (flow-train's invertFlowRows)
    async invert(y, count, nMod, labels) {
      const x = new Float64Array(count * nMod * pixels);
      const solver = [];
      for (let m = 0; m < nMod; m++) {
        const { x0, report } = await sampler.invert(toHwc(y, count, nMod, m), new Int32Array(count).fill(labels[m]));
        fromHwc(x0, x, count, nMod, m);
        solver.push(report);
      }
      return { x, converged: solver.every((r) => r.converged), solver };
    },
    async dispose() {
      await sampler.close();
    },
  };
}

/**
 * `--checkpoint_path <file | registry name>`: resolved and checksummed before any work (a
 * missing or corrupt checkpoint fails then); identified by the checkpoint's sha256 and the
 * registry's sampling recipe; opened with the job's flow settings.
 */
export const flowMapKind: MapKind = {
  resolve: (request, latent) => (request.checkpointPath === null ? null : resolveFlowMap(request.checkpointPath, request, latent.modDim)),
  reopen: (manifest, { log }) => (manifest.map.kind === 'transform' ? null : reopenFlowMap(manifest, log)),
};

/** The recorded checkpoint (by sha256), with the recorded solver, time grid and guidance; a reopened flow integrating otherwise is refused. */
async function reopenFlowMap(m: Manifest, log: (message: string) => void): Promise<ReopenedMap> {
  const flow = (m.map.flow ?? {}) as Partial<FlowMapInfo>;
  const want = m.map.checkpoint_sha256 ?? flow.sha256;
  if (!want || !flow.ode_method || flow.cfg_scale === undefined || flow.time_grid === undefined)
    return { problem: "the manifest's map.flow does not record the checkpoint's sha256, ode_method, time_grid and cfg_scale" };
  const path = await recordedCheckpoint(flow, want, m.arguments.registry as string | undefined);
  if ('problem' in path) return path;
  let map: FlowMap;
  try {
    map = await openFlowMap(path.file, {
      // the recorded settings; the engine as recorded (auto falls back to tfjs, with the reason logged, where ONNX Runtime does not load)
      overrides: { odeMethod: flow.ode_method, cfgScale: flow.cfg_scale },
      timeGrid: Array.isArray(flow.time_grid) ? flow.time_grid : undefined,
      engine: flow.engine?.engine === 'tfjs' ? 'tfjs' : 'auto',
      threads: 0,
      log,
    });
  } catch (e) {
    return { problem: `cannot reopen the flow checkpoint ${path.file}: ${(e as Error).message}` };
  }
  const got = map.info;
  if (got.ode_method !== flow.ode_method || got.cfg_scale !== flow.cfg_scale || JSON.stringify(got.time_grid) !== JSON.stringify(flow.time_grid)) {
    await map.dispose();
    return {
      problem: `the reopened flow integrates with ${got.ode_method}, cfg ${got.cfg_scale}, grid ${JSON.stringify(got.time_grid)}; the manifest records ${flow.ode_method}, cfg ${flow.cfg_scale}, grid ${JSON.stringify(flow.time_grid)}`,
    };
  }
  return { map };
}

/** The recorded checkpoint file, else the recorded registry name, whichever has the manifest's sha256. */
async function recordedCheckpoint(flow: Partial<FlowMapInfo>, want: string, registry: string | undefined): Promise<{ file: string } | { problem: string }> {
  const tried: string[] = [];
  if (flow.file && existsSync(flow.file)) {
    const { sha256 } = await sha256File(flow.file);
    if (sha256 === want) return { file: flow.file };
    tried.push(`${flow.file} has sha256 ${sha256}`);
  } else if (flow.file) tried.push(`${flow.file} does not exist`);
  if (flow.name && flow.name !== flow.file) {
    try {
      const resolved = await resolveModel(flow.name, { registry });
      const { sha256 } = await sha256File(resolved.path);
      if (sha256 === want) return { file: resolved.path };
      tried.push(`the registry's ${flow.name} (${resolved.path}) has sha256 ${sha256}`);
    } catch (e) {
      tried.push(`${flow.name}: ${(e as Error).message}`);
    }
  }
  return { problem: `refusing to invert with another checkpoint than the one that made the shard (sha256 ${want}): ${tried.join('; ')}` };
}

async function resolveFlowMap(ref: string, request: MapRequest, modDim: number): Promise<ResolvedMap> {
  if (modDim !== 3072) {
    throw new InputError(
      `a flow checkpoint maps 3×32×32 latents (mod_dim 3072), this model has mod_dim ${modDim}: use --transform ${Object.keys(TRANSFORMS).join('|')}`,
    );
  }
  const { flow } = request;
  const resolved = await resolveModel(ref, { registry: flow.registry }).catch((e: Error) => {
    throw new InputError(`--checkpoint_path ${ref}: ${e.message}`);
  });
  const { sha256 } = await sha256File(resolved.path);
  if (resolved.entry && resolved.entry.sha256 !== sha256) {
    throw new InputError(
      `--checkpoint_path ${ref}: ${resolved.path} is corrupt or was replaced (sha256 ${sha256}, the registry expects ${resolved.entry.sha256})`,
    );
  }
  // the registry's recipe without its note of how it was measured: the settings are what make the data
  const recipe = resolved.entry?.sampling;
  return {
    identity: { checkpoint: sha256, recipe: recipe ? { ...recipe, measured: undefined } : null },
    summary: `flow checkpoint ${ref} (${resolved.path})`,
    holdsMemory: true,
    open: ({ log }) =>
      openFlowMap(ref, { registry: flow.registry, backend: flow.backend, engine: flow.engine, ep: flow.ep, threads: flow.threads, log, overrides: flow }),
  };
}
