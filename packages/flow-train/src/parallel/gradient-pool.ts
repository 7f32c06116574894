/**
 * Data-parallel gradient threads for the one-threaded backends (wasm in Node, cpu): worker
 * threads, each with its own tfjs engine and a copy of the UNet, compute the gradients of
 * their shard of every micro-batch while the main thread computes its own. Weights go out
 * and gradients come back through SharedArrayBuffers (one flat Float32Array each, see
 * flat-params.ts); images and random draws travel with the request.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { FlowModel } from '../flow-model.js';
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

export interface ComputeRequest {
  type: 'compute';
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

export type WorkerReply = { type: 'ready'; backend: string } | { type: 'done'; id: number; loss: number } | { type: 'error'; id?: number; message: string };

// a worker entry must be JavaScript: under the test runner (TypeScript sources) tsx's loader is registered first
const BOOTSTRAP = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((e) => { throw e; });`;

interface Pending {
  resolve: (loss: number) => void;
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
}

export class GradientPool implements GradientThreads {
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
  static async start(config: UNetConfig, backend: string, workers: number): Promise<GradientPool> {
    if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`gradient threads: need at least one worker, got ${workers}`);
    const layout = flatLayout(buildArchitecture(config));
    const weightsBuffer = new SharedArrayBuffer(layout.total * 4);
    const typescript = import.meta.url.endsWith('.ts');
    const entry = new URL(`./gradient-worker.${typescript ? 'ts' : 'js'}`, import.meta.url).href;
    const tsx = typescript ? import.meta.resolve('tsx/esm/api') : undefined;
    const handles: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    for (let k = 0; k < workers; k++) {
      const gradients = new SharedArrayBuffer(layout.total * 4);
      const init: WorkerInit = { entry, tsx, config, backend, weights: weightsBuffer, gradients };
      const worker = new Worker(BOOTSTRAP, { eval: true, workerData: init });
      const handle = new WorkerHandle(worker, new Float32Array(gradients));
      handles.push(handle);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: WorkerReply) => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'done') {
              handle.pending.get(m.id)?.resolve(m.loss);
              handle.pending.delete(m.id);
            } else {
              const e = new Error(`gradient worker ${k + 1}: ${m.message}`);
              if (m.id === undefined) {
                handle.fail(e);
                reject(e);
              } else {
                handle.pending.get(m.id)?.reject(e);
                handle.pending.delete(m.id);
              }
            }
          });
          worker.on('error', (e) => {
            const err = new Error(`gradient worker ${k + 1} failed: ${e.message}`);
            handle.fail(err);
            reject(err);
          });
          worker.on('exit', (code) => {
            const err = new Error(`gradient worker ${k + 1} exited (code ${code})`);
            handle.fail(err);
            reject(err);
          });
        }),
      );
    }
    const pool = new GradientPool(layout, new Float32Array(weightsBuffer), handles);
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  publish(values: ParamValues): void {
    writeFlat(this.layout, values, this.weights);
    this.version++;
  }

  compute(k: number, shard: Shard, accum: number, dropoutSeed: number): Promise<number> {
    const handle = this.handles[k];
    if (this.closed) return Promise.reject(new Error('gradient threads: the pool is closed'));
    if (handle.failure) return Promise.reject(handle.failure);
    const id = this.nextId++;
    const request: ComputeRequest = {
      type: 'compute',
      id,
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
    return new Promise<number>((resolve, reject) => {
      handle.pending.set(id, { resolve, reject });
      handle.worker.postMessage(request, [request.images.buffer, request.labels.buffer, request.t.buffer, request.noise.buffer] as ArrayBuffer[]);
    });
  }

  gradients(k: number, model: FlowModel): Map<string, tf.Tensor> {
    const flat = this.handles[k].gradients;
    return new Map(this.layout.slots.map((slot) => [slot.name, tf.tensor(slotView(flat, slot), model.params.get(slot.name)!.shape, 'float32')]));
  }

  /** Stops the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.handles) {
      h.worker.removeAllListeners('exit');
      h.fail(new Error('gradient threads: the pool is closed'));
    }
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
