/**
 * Data-parallel threads for the one-threaded backends (wasm in Node, cpu): worker threads,
 * each with its own tfjs engine and a copy of the UNet, work on their shard of the rows —
 * the gradients of a training micro-batch, or the ODE integration of a sampling batch —
 * while the main thread does its own shard. Weights go out and gradients come back through
 * SharedArrayBuffers (one flat Float32Array each, see flat-params.ts); rows, random draws
 * and integrated images travel with the messages.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '@mmmi/cli-kit';
import type { SamplingSettings } from '../checkpoint.js';
import type { FlowModel } from '../flow-model.js';
import type { InversionReport } from '../solvers/invert.js';
import type { UNetConfig } from '../unet/config.js';
import { buildArchitecture } from '../unet/architecture.js';
import type { ParamValues } from '../unet/params.js';
import { flatLayout, slotView, writeFlat, type FlatLayout } from './flat-params.js';
import type { Shard } from './shard.js';

/** What batchGradients needs from the threads. */
export interface GradientThreads {
  /** Worker threads (the main thread computes one more shard). */
  readonly workers: number;
  /** Makes `values` the weights of the next computations. */
  publish(values: ParamValues): void;
  /** Worker `k` computes `shard`'s gradients (divided by `accum`); resolves to its loss share. */
  compute(k: number, shard: Shard, accum: number, dropoutSeed: number): Promise<number>;
  /** Worker `k`'s last gradients as tensors keyed by parameter name (the caller disposes them). */
  gradients(k: number, model: FlowModel): Map<string, tf.Tensor>;
}

/** What integrateFlowRows needs from the threads. */
export interface SamplingThreads {
  readonly workers: number;
  publish(values: ParamValues): void;
  /** Worker `k` integrates the flow from `x0` (NHWC rows) with `labels`; resolves to x at t = 1. */
  integrate(k: number, x0: Float32Array, labels: Int32Array, settings: SamplingSettings, timeGrid?: readonly number[]): Promise<Float32Array>;
}

/** What invertFlowRows needs from the threads. */
export interface InversionThreads extends SamplingThreads {
  /** Worker `k` inverts the flow from images `x1` (NHWC rows) with `labels`; resolves to x at t = 0 and the solver's report (no forward check). */
  invert(
    k: number,
    x1: Float32Array,
    labels: Int32Array,
    settings: SamplingSettings,
    timeGrid: readonly number[] | undefined,
    options: { tolerance?: number; maxIterations?: number },
  ): Promise<InvertedRows>;
}

export interface InvertedRows {
  x: Float32Array;
  report: InversionReport;
}

/**
 * The thread count to use: `requested`, or with 0 one per core on the one-threaded backends
 * (wasm, cpu) and 1 on the others, which use every core already and refuse more than 1.
 */
export function threadCount(requested: number, backend: string, flag = '--threads'): number {
  if (!(Number.isInteger(requested) && requested >= 0)) throw new InputError(`${flag} ${requested}: expected a whole number ≥ 0 (0 = one per core)`);
  const oneThreaded = backend === 'wasm' || backend === 'cpu';
  if (requested === 0) return oneThreaded ? availableParallelism() : 1;
  if (requested > 1 && !oneThreaded)
    throw new InputError(
      `${flag} ${requested}: data-parallel threads are for the one-threaded wasm and cpu backends; ${backend} already uses ${backend === 'webgpu' || backend === 'tensorflow-gpu' ? 'the GPU' : 'every core'}`,
    );
  return requested;
}

/** Sent to a worker at start (workerData). */
export interface WorkerInit {
  entry: string;
  /** tsx's loader API, when the worker's entry is TypeScript (tests run the sources). */
  tsx?: string;
  config: UNetConfig;
  backend: string;
  weights: SharedArrayBuffer;
  gradients: SharedArrayBuffer;
}

export interface GradientsRequest {
  type: 'gradients';
  id: number;
  version: number;
  images: Float32Array;
  labels: Int32Array;
  n: number;
  dropLabels: boolean;
  t: Float32Array;
  noise: Float32Array;
  weight: number;
  accum: number;
  dropoutSeed: number;
}

export interface IntegrateRequest {
  type: 'integrate';
  id: number;
  version: number;
  x0: Float32Array;
  labels: Int32Array;
  settings: SamplingSettings;
  timeGrid?: number[];
}

export interface InvertRequest {
  type: 'invert';
  id: number;
  version: number;
  x1: Float32Array;
  labels: Int32Array;
  settings: SamplingSettings;
  timeGrid?: number[];
  tolerance?: number;
  maxIterations?: number;
}

export type WorkerRequest = GradientsRequest | IntegrateRequest | InvertRequest;

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'gradients'; id: number; loss: number }
  | { type: 'integrated'; id: number; x: Float32Array }
  | { type: 'inverted'; id: number; x: Float32Array; report: InversionReport }
  | { type: 'error'; id?: number; message: string };

// a worker entry must be JavaScript: under the test runner (TypeScript sources) tsx's loader is registered first
const BOOTSTRAP = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((e) => { throw e; });`;

type Result = number | Float32Array | InvertedRows;

interface Pending {
  resolve: (result: Result) => void;
  reject: (e: Error) => void;
}

class WorkerHandle {
  readonly pending = new Map<number, Pending>();
  failure?: Error;
  constructor(
    readonly worker: Worker,
    readonly gradients: Float32Array,
  ) {}

  fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  settle(id: number, outcome: { result: Result } | { error: Error }): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (!p) return;
    if ('error' in outcome) p.reject(outcome.error);
    else p.resolve(outcome.result);
  }
}

export class ModelThreads implements GradientThreads, InversionThreads {
  private nextId = 0;
  private version = 0;
  private closed = false;

  private constructor(
    private readonly layout: FlatLayout,
    private readonly weights: Float32Array,
    private readonly handles: WorkerHandle[],
  ) {}

  get workers(): number {
    return this.handles.length;
  }

  /**
   * Starts `workers` threads on `backend` (the backend this thread uses), each with a copy of
   * configuration `config`; resolves once all are ready.
   */
  static async start(config: UNetConfig, backend: string, workers: number): Promise<ModelThreads> {
    if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`model threads: need at least one worker, got ${workers}`);
    const layout = flatLayout(buildArchitecture(config));
    const weightsBuffer = new SharedArrayBuffer(layout.total * 4);
    const typescript = import.meta.url.endsWith('.ts');
    const entry = new URL(`./model-worker.${typescript ? 'ts' : 'js'}`, import.meta.url).href;
    const tsx = typescript ? import.meta.resolve('tsx/esm/api') : undefined;
    const handles: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    for (let k = 0; k < workers; k++) {
      const gradients = new SharedArrayBuffer(layout.total * 4);
      const init: WorkerInit = { entry, tsx, config, backend, weights: weightsBuffer, gradients };
      const worker = new Worker(BOOTSTRAP, { eval: true, workerData: init });
      const handle = new WorkerHandle(worker, new Float32Array(gradients));
      handles.push(handle);
      const name = `model thread ${k + 1}`;
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: WorkerReply) => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'gradients') handle.settle(m.id, { result: m.loss });
            else if (m.type === 'integrated') handle.settle(m.id, { result: m.x });
            else if (m.type === 'inverted') handle.settle(m.id, { result: { x: m.x, report: m.report } });
            else if (m.id !== undefined) handle.settle(m.id, { error: new Error(`${name}: ${m.message}`) });
            else {
              const e = new Error(`${name}: ${m.message}`);
              handle.fail(e);
              reject(e);
            }
          });
          worker.on('error', (e) => {
            const err = new Error(`${name} failed: ${e.message}`);
            handle.fail(err);
            reject(err);
          });
          worker.on('exit', (code) => {
            const err = new Error(`${name} exited (code ${code})`);
            handle.fail(err);
            reject(err);
          });
        }),
      );
    }
    const threads = new ModelThreads(layout, new Float32Array(weightsBuffer), handles);
    try {
      await Promise.all(ready);
    } catch (e) {
      await threads.close();
      throw e;
    }
    return threads;
  }

  publish(values: ParamValues): void {
    writeFlat(this.layout, values, this.weights);
    this.version++;
  }

  private send<T extends Result>(k: number, request: WorkerRequest, transfer: ArrayBuffer[]): Promise<T> {
    const handle = this.handles[k];
    if (this.closed) return Promise.reject(new Error('model threads: closed'));
    if (handle.failure) return Promise.reject(handle.failure);
    return new Promise<T>((resolve, reject) => {
      handle.pending.set(request.id, { resolve: resolve as (r: Result) => void, reject });
      handle.worker.postMessage(request, transfer);
    });
  }

  compute(k: number, shard: Shard, accum: number, dropoutSeed: number): Promise<number> {
    const request: GradientsRequest = {
      type: 'gradients',
      id: this.nextId++,
      version: this.version,
      images: shard.batch.images.slice(),
      labels: shard.batch.labels.slice(),
      n: shard.batch.n,
      dropLabels: shard.draws.dropLabels,
      t: shard.draws.t.slice(),
      noise: shard.draws.noise.slice(),
      weight: shard.weight,
      accum,
      dropoutSeed,
    };
    return this.send<number>(k, request, [request.images.buffer, request.labels.buffer, request.t.buffer, request.noise.buffer] as ArrayBuffer[]);
  }

  gradients(k: number, model: FlowModel): Map<string, tf.Tensor> {
    const flat = this.handles[k].gradients;
    return new Map(this.layout.slots.map((slot) => [slot.name, tf.tensor(slotView(flat, slot), model.params.get(slot.name)!.shape, 'float32')]));
  }

  integrate(k: number, x0: Float32Array, labels: Int32Array, settings: SamplingSettings, timeGrid?: readonly number[]): Promise<Float32Array> {
    const request: IntegrateRequest = {
      type: 'integrate',
      id: this.nextId++,
      version: this.version,
      x0: x0.slice(),
      labels: labels.slice(),
      settings,
      timeGrid: timeGrid ? [...timeGrid] : undefined,
    };
    return this.send<Float32Array>(k, request, [request.x0.buffer, request.labels.buffer] as ArrayBuffer[]);
  }

  invert(
    k: number,
    x1: Float32Array,
    labels: Int32Array,
    settings: SamplingSettings,
    timeGrid: readonly number[] | undefined,
    options: { tolerance?: number; maxIterations?: number },
  ): Promise<InvertedRows> {
    const request: InvertRequest = {
      type: 'invert',
      id: this.nextId++,
      version: this.version,
      x1: x1.slice(),
      labels: labels.slice(),
      settings,
      timeGrid: timeGrid ? [...timeGrid] : undefined,
      tolerance: options.tolerance,
      maxIterations: options.maxIterations,
    };
    return this.send<InvertedRows>(k, request, [request.x1.buffer, request.labels.buffer] as ArrayBuffer[]);
  }

  /** Stops the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.handles) {
      h.worker.removeAllListeners('exit');
      h.fail(new Error('model threads: closed'));
    }
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
