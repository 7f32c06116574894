/**
 * Which engine evaluates the flow model where no gradients are needed: ONNX Runtime
 * (`onnx`, the default wherever onnxruntime-node loads) or the tfjs forward pass (`tfjs`).
 * `auto` falls back to tfjs with a printed reason; an explicit `onnx` fails instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFsError, isErrnoError } from '@mmmi/cli-kit';
import { exportUNetOnnx } from '../onnx/export-unet.js';
import type { UNetArchitecture } from '../unet/architecture.js';
import type { ParamValues } from '../unet/params.js';
import { cachedOnnxGraph, discardTemporary, type CachedGraph } from './onnx-cache.js';
import { EngineError, OrtEngine, ortUnavailableReason, type ExecutionProvider } from './ort-engine.js';

export { cacheRoot, cachedGraphPath, cachedOnnxGraph, discardTemporary, type CacheOptions, type CachedGraph, type GraphSource } from './onnx-cache.js';
export {
  CUDA_INSTALL_HINT,
  EngineError,
  EXECUTION_PROVIDERS,
  OrtEngine,
  ortThreads,
  ortUnavailableReason,
  type EngineInfo,
  type ExecutionProvider,
  type VelocityEngine,
} from './ort-engine.js';

export const ENGINES = ['auto', 'onnx', 'tfjs'] as const;
export type EngineChoice = (typeof ENGINES)[number];

export interface EngineRequest {
  engine?: EngineChoice;
  ep?: ExecutionProvider;
  /** ONNX Runtime intra-op threads (0 = the cores this process may use). */
  threads?: number;
  log?: (message: string) => void;
  /** Folder of cached graphs (default: cacheRoot()/onnx). */
  cacheDir?: string;
}

export interface ModelSource {
  arch: UNetArchitecture;
  values: ParamValues;
  /** sha256 of the checkpoint file; graphs of weights not from a file are not cached. */
  checkpointSha256: string;
  weights: 'ema' | 'live';
}

/**
 * The engine `open` makes, or undefined when the tfjs path is to be used: asked for, or
 * `auto` where ONNX Runtime does not load or the engine cannot open (the reason is logged).
 */
async function withFallback(request: EngineRequest, open: () => Promise<OrtEngine>): Promise<OrtEngine | undefined> {
  const choice = request.engine ?? 'auto';
  const log = request.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (choice === 'tfjs') return undefined;
  try {
    const reason = await ortUnavailableReason();
    if (reason)
      throw new EngineError(`${reason}; install it with \`npm ci\` (with onnxruntime-node-install=skip in .npmrc it needs no network beyond the npm registry)`);
    return await open();
  } catch (e) {
    if (choice === 'onnx' || !(e instanceof EngineError)) throw e;
    log(`engine: tfjs, because ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * The ONNX Runtime engine for a checkpoint's weights (its graph cached by the checkpoint's
 * sha256), or undefined for tfjs. A cached graph that ONNX Runtime refuses although its
 * checksum holds (a graph of another exporter or runtime, cut and re-summed) is rebuilt once;
 * when the export gives the same bytes, the graph was not the cause and the refusal stands.
 */
export async function openEngine(source: ModelSource, request: EngineRequest = {}): Promise<OrtEngine | undefined> {
  return withFallback(request, async () => {
    const graph = graphFor(source, request);
    try {
      return await openGraph(graph, source, request);
    } catch (e) {
      if (graph.built || !(e instanceof EngineError)) throw e;
      const rebuilt = graphFor(source, request, (e as Error).message);
      if (!rebuilt.built) throw e;
      return openGraph(rebuilt, source, request);
    }
  });
}

/** The cached (or rebuilt) graph, said in the log when built; a graph that can be written nowhere is an EngineError (auto: tfjs). */
function graphFor(source: ModelSource, request: EngineRequest, refused?: string): CachedGraph {
  let graph: CachedGraph;
  try {
    graph = cachedOnnxGraph(source, request.cacheDir, { log: request.log, refused });
  } catch (e) {
    throw graphWriteError(e);
  }
  if (graph.built) request.log?.(`ONNX graph ${graph.reason ? `rebuilt (the cached one was refused: ${graph.reason})` : 'exported'}: ${graph.path}`);
  return graph;
}

/** A file-system error of writing a graph as an EngineError, so that `auto` takes tfjs with its one line. */
function graphWriteError(e: unknown): unknown {
  return isErrnoError(e) ? new EngineError(`the ONNX graph cannot be written: ${describeFsError(e)}`) : e;
}

async function openGraph(graph: CachedGraph, source: ModelSource, request: EngineRequest): Promise<OrtEngine> {
  try {
    return await OrtEngine.open(graph.path, source.arch.config, { ep: request.ep, threads: request.threads, graphSha256: graph.graphSha256 });
  } finally {
    discardTemporary(graph);
  }
}

/**
 * Like openEngine for weights that come from no checkpoint file (a training run's current
 * EMA or live weights): the graph goes to a temporary file that is removed once loaded.
 */
export async function openEngineForValues(arch: UNetArchitecture, values: ParamValues, request: EngineRequest = {}): Promise<OrtEngine | undefined> {
  return withFallback(request, async () => {
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), 'mmmi-onnx-'));
    } catch (e) {
      throw graphWriteError(e);
    }
    try {
      const path = join(dir, 'unet.onnx');
      try {
        writeFileSync(path, exportUNetOnnx(arch, values));
      } catch (e) {
        throw graphWriteError(e);
      }
      return await OrtEngine.open(path, arch.config, { ep: request.ep, threads: request.threads });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
