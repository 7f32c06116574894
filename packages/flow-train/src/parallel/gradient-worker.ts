/**
 * A gradient thread (see gradient-pool.ts): its own tfjs engine on the main thread's
 * backend and its own copy of the UNet; reloads the weights from shared memory when they
 * changed, computes one shard's gradients per request and writes them to its shared buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectTrainingBackend } from '../backend/index.js';
import { FlowModel } from '../flow-model.js';
import { lossGradients } from '../train-step.js';
import { flatLayout, slotView } from './flat-params.js';
import type { ComputeRequest, WorkerInit, WorkerReply } from './gradient-pool.js';

const port = parentPort!;
const reply = (m: WorkerReply) => port.postMessage(m);

try {
  const init = workerData as WorkerInit;
  const backend = await selectTrainingBackend(init.backend, { log: () => {} });
  if (backend !== init.backend) throw new Error(`backend ${init.backend} is not available in a worker thread (got ${backend})`);
  const model = new FlowModel(init.config, { seed: 0 });
  const layout = flatLayout(model.arch);
  const weights = new Float32Array(init.weights);
  const gradients = new Float32Array(init.gradients);
  let loadedVersion = -1;
  port.on('message', async (r: ComputeRequest) => {
    try {
      if (r.version !== loadedVersion) {
        model.setValues(new Map(layout.slots.map((s) => [s.name, slotView(weights, s)])));
        loadedVersion = r.version;
      }
      const batch = { images: r.images, labels: r.labels, n: r.n };
      const { loss, grads } = await lossGradients(model, batch, { dropLabels: r.dropLabels, t: r.t, noise: r.noise }, r.dropoutSeed, r.weight, r.accum);
      for (const s of layout.slots) {
        const g = grads.get(s.name)!;
        gradients.set((await g.data()) as Float32Array, s.offset);
        g.dispose();
      }
      reply({ type: 'done', id: r.id, loss });
    } catch (e) {
      reply({ type: 'error', id: r.id, message: e instanceof Error ? e.message : String(e) });
    }
  });
  reply({ type: 'ready', backend });
} catch (e) {
  reply({ type: 'error', message: e instanceof Error ? e.message : String(e) });
}
