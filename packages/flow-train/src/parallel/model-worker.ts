/**
 * A model thread (see model-threads.ts): its own tfjs engine on the main thread's backend
 * and its own copy of the UNet; reloads the weights from shared memory when they changed,
 * then computes one shard's gradients (written to its shared buffer), or integrates one
 * shard of a sampling batch or inverts one (sent back).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { prepareBackend } from '@mmmi/tfjs-runtime';
import { FlowModel } from '../flow-model.js';
import { integrateFlow } from '../sample.js';
import { invertFlow } from '../invert-flow.js';
import { lossGradients } from '../train-step.js';
import { flatLayout, slotView } from './flat-params.js';
import type { GradientsRequest, IntegrateRequest, InvertRequest, WorkerInit, WorkerReply, WorkerRequest } from './model-threads.js';

const port = parentPort!;
const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const init = workerData as WorkerInit;
  const backend = await prepareBackend(init.backend, { log: () => {} });
  if (backend !== init.backend) throw new Error(`backend ${init.backend} is not available in a worker thread (got ${backend})`);
  const model = new FlowModel(init.config, { seed: 0 });
  const layout = flatLayout(model.arch);
  const weights = new Float32Array(init.weights);
  const gradients = new Float32Array(init.gradients);
  let loadedVersion = -1;

  const gradientsOf = async (r: GradientsRequest) => {
    const batch = { images: r.images, labels: r.labels, n: r.n };
    const { loss, grads } = await lossGradients(model, batch, { dropLabels: r.dropLabels, t: r.t, noise: r.noise }, r.dropoutSeed, r.weight, r.accum);
    for (const s of layout.slots) {
      const g = grads.get(s.name)!;
      gradients.set((await g.data()) as Float32Array, s.offset);
      g.dispose();
    }
    reply({ type: 'gradients', id: r.id, loss });
  };

  const integrateShard = async (r: IntegrateRequest) => {
    const size = model.config.imageSize;
    const x0 = tf.tensor4d(r.x0, [r.labels.length, size, size, model.config.inChannels]);
    const { x } = integrateFlow(model, model.params, x0, r.labels, r.settings, r.timeGrid ? { timeGrid: r.timeGrid } : {});
    x0.dispose();
    const out = (await x.data()) as Float32Array;
    x.dispose();
    reply({ type: 'integrated', id: r.id, x: out }, [out.buffer as ArrayBuffer]);
  };

  const invertShard = async (r: InvertRequest) => {
    const size = model.config.imageSize;
    const x1 = tf.tensor4d(r.x1, [r.labels.length, size, size, model.config.inChannels]);
    const { x, report } = await invertFlow(model, model.params, x1, r.labels, r.settings, {
      timeGrid: r.timeGrid,
      tolerance: r.tolerance,
      maxIterations: r.maxIterations,
      forwardCheck: false,
    });
    x1.dispose();
    const out = (await x.data()) as Float32Array;
    x.dispose();
    reply({ type: 'inverted', id: r.id, x: out, report }, [out.buffer as ArrayBuffer]);
  };

  port.on('message', async (r: WorkerRequest) => {
    try {
      if (r.version !== loadedVersion) {
        model.setValues(new Map(layout.slots.map((s) => [s.name, slotView(weights, s)])));
        loadedVersion = r.version;
      }
      if (r.type === 'gradients') await gradientsOf(r);
      else if (r.type === 'invert') await invertShard(r);
      else await integrateShard(r);
    } catch (e) {
      reply({ type: 'error', id: r.id, message: e instanceof Error ? e.message : String(e) });
    }
  });
  reply({ type: 'ready', backend });
} catch (e) {
  reply({ type: 'error', message: e instanceof Error ? e.message : String(e) });
}
