/**
 * The ONNX Runtime engine: the UNet's velocity evaluated by onnxruntime-node on an exported
 * graph, for every place the flow is integrated without gradients. The ODE solvers and
 * classifier-free guidance stay ours (one doubled batch per evaluation, combined as
 * (1 + w)·v_cond − w·v_uncond in float32, as the tfjs path does).
 *
 * The solvers call the velocity synchronously, and ONNX Runtime's `run` is asynchronous, so
 * the session lives on a worker thread: a call posts the batch, blocks on a shared status
 * word (Atomics.wait) until the worker has answered, and takes the answer off its port with
 * receiveMessageOnPort. ONNX Runtime's own intra-op threads do the parallel work.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityField } from '../solvers/index.js';
import type { UNetConfig } from '../unet/config.js';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export interface EngineInfo {
  engine: 'onnx' | 'tfjs';
  /** onnx: the execution provider; tfjs: the backend. */
  provider: string;
  threads: number;
  /** onnx: sha256 of the graph file. */
  graph_sha256?: string;
}

/** A source of the guided velocity field, shared by the tfjs and ONNX Runtime paths. */
export interface VelocityEngine {
  readonly info: EngineInfo;
  guidedVelocity(labels: Int32Array, cfgScale: number): VelocityField;
  close(): Promise<void>;
}

/** A user-facing failure of the engine (missing runtime, provider, bad graph). */
export class EngineError extends Error {}

export interface OrtWorkerInit {
  modelPath: string;
  executionProviders: string[];
  threads: number;
  imageSize: number;
  channels: number;
  status: SharedArrayBuffer;
  port: MessagePort;
}

export interface OrtRequest {
  x: Float32Array;
  t: Float32Array;
  y: Int32Array;
}

type OrtReply = { type: 'ready' } | { type: 'velocity'; v: Float32Array } | { type: 'error'; message: string };

const BOOTSTRAP = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((e) => { throw e; });`;

/** How a GPU user gets the CUDA and TensorRT providers (they are not on the npm registry). */
export const CUDA_INSTALL_HINT =
  'install its CUDA provider with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (needs CUDA 12 and cuDNN 9; TensorRT 10 for tensorrt), or use --ep cpu';

/** Why ONNX Runtime cannot be used here, or undefined when it loads. */
export async function ortUnavailableReason(): Promise<string | undefined> {
  try {
    await import('onnxruntime-node');
    return undefined;
  } catch (e) {
    return `onnxruntime-node does not load (${(e as Error).message.split('\n')[0]})`;
  }
}

/** Checks that the provider's library is installed beside ONNX Runtime's own. */
function checkProvider(ep: ExecutionProvider): void {
  if (!EXECUTION_PROVIDERS.includes(ep)) throw new EngineError(`--ep ${ep}: expected one of ${EXECUTION_PROVIDERS.join(', ')}`);
  if (ep === 'cpu') return;
  const require = createRequire(import.meta.url);
  const main = require.resolve('onnxruntime-node');
  const bin = join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const lib = join(bin, process.platform === 'win32' ? `onnxruntime_providers_${ep}.dll` : `libonnxruntime_providers_${ep}.so`);
  if (!existsSync(lib)) throw new EngineError(`execution provider ${ep} is not installed (${lib} is missing): ${CUDA_INSTALL_HINT}`);
}

/** ONNX Runtime threads: `requested`, or with 0 the cores this process may use. */
export function ortThreads(requested = 0): number {
  if (!(Number.isInteger(requested) && requested >= 0)) throw new EngineError(`--threads ${requested}: expected a whole number ≥ 0 (0 = one per core)`);
  return requested === 0 ? availableParallelism() : requested;
}

export interface OrtEngineOptions {
  ep?: ExecutionProvider;
  /** Intra-op threads; 0 (default) = the cores this process may use. */
  threads?: number;
  graphSha256?: string;
}

export class OrtEngine implements VelocityEngine {
  readonly info: EngineInfo;
  private readonly status: Int32Array;
  private closed = false;
  /** Set when the worker thread ended or failed (why). */
  exited: string | undefined;

  private constructor(
    private readonly config: UNetConfig,
    private readonly worker: Worker,
    private readonly port: MessagePort,
    status: SharedArrayBuffer,
    info: EngineInfo,
  ) {
    this.status = new Int32Array(status);
    this.info = info;
  }

  /** Starts ONNX Runtime on the graph at `modelPath` (exported for `config`). */
  static async open(modelPath: string, config: UNetConfig, options: OrtEngineOptions = {}): Promise<OrtEngine> {
    const ep = options.ep ?? 'cpu';
    checkProvider(ep);
    const threads = ortThreads(options.threads ?? 0);
    const typescript = import.meta.url.endsWith('.ts');
    const entry = new URL(`./ort-worker.${typescript ? 'ts' : 'js'}`, import.meta.url).href;
    const tsx = typescript ? import.meta.resolve('tsx/esm/api') : undefined;
    const status = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const init: OrtWorkerInit & { entry: string; tsx?: string } = {
      entry,
      tsx,
      modelPath,
      executionProviders: [ep],
      threads,
      imageSize: config.imageSize,
      channels: config.inChannels,
      status,
      port: port2,
    };
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: init, transferList: [port2] });
    const engine = new OrtEngine(config, worker, port1, status, { engine: 'onnx', provider: ep, threads, graph_sha256: options.graphSha256 });
    worker.on('error', (e) => (engine.exited ??= `the ONNX Runtime thread failed: ${e.message}`));
    worker.on('exit', (code) => (engine.exited ??= `the ONNX Runtime thread exited (code ${code})`));
    try {
      const reply = await engine.awaitReady();
      if (reply.type !== 'ready') throw new Error('unexpected reply');
      // the calls block this thread until answered; a forgotten close must not keep the process alive
      worker.unref();
    } catch (e) {
      await engine.close();
      const message = (e as Error).message;
      throw new EngineError(`ONNX Runtime could not open ${modelPath} on ${ep}: ${message}${ep !== 'cpu' ? `; ${CUDA_INSTALL_HINT}` : ''}`);
    }
    return engine;
  }

  /** The worker's first reply, waited for without blocking the event loop (it may fail to start). */
  private async awaitReady(): Promise<OrtReply> {
    const waitAsync = (
      Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: Promise<string> | string } }
    ).waitAsync;
    while (Atomics.load(this.status, 0) !== 1) {
      const r = waitAsync(this.status, 0, 0, 1000);
      if (r.async) await r.value;
      if (this.exited !== undefined && Atomics.load(this.status, 0) !== 1) throw new EngineError(this.exited);
    }
    return this.takeReply();
  }

  /** The reply the worker posted before setting the status word. */
  private takeReply(): OrtReply {
    const reply = receiveMessageOnPort(this.port)?.message as OrtReply | undefined;
    if (!reply) throw new EngineError('ONNX Runtime thread woke without an answer');
    if (reply.type === 'error') throw new EngineError(`ONNX Runtime: ${reply.message}`);
    return reply;
  }

  /** v(x, t, y) for n rows (NHWC floats); blocks until ONNX Runtime answers. */
  velocityRows(x: Float32Array, t: Float32Array, y: Int32Array): Float32Array {
    if (this.closed) throw new EngineError('the ONNX Runtime engine is closed');
    Atomics.store(this.status, 0, 0);
    this.port.postMessage({ x, t, y } satisfies OrtRequest);
    while (Atomics.load(this.status, 0) !== 1) Atomics.wait(this.status, 0, 0, 1000);
    const reply = this.takeReply();
    if (reply.type !== 'velocity') throw new EngineError(`ONNX Runtime: unexpected reply ${reply.type}`);
    return reply.v;
  }

  guidedVelocity(labels: Int32Array, cfgScale: number): VelocityField {
    const n = labels.length;
    const noLabel = this.config.numClasses;
    const doubled = Int32Array.from([...labels, ...new Array<number>(n).fill(noLabel)]);
    const a = Math.fround(1 + cfgScale);
    const b = Math.fround(cfgScale);
    return (x, t) => {
      const data = x.dataSync() as Float32Array;
      const time = Math.fround(t);
      if (cfgScale === 0) return tf.tensor(this.velocityRows(data, new Float32Array(n).fill(time), labels), x.shape, 'float32');
      const both = new Float32Array(2 * data.length);
      both.set(data);
      both.set(data, data.length);
      const v = this.velocityRows(both, new Float32Array(2 * n).fill(time), doubled);
      const out = new Float32Array(data.length);
      const len = data.length;
      for (let i = 0; i < len; i++) out[i] = Math.fround(v[i] * a) - Math.fround(v[i + len] * b);
      return tf.tensor(out, x.shape, 'float32');
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    await this.worker.terminate();
  }
}
