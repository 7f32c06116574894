/**
 * The ONNX Runtime thread (see ort-engine.ts): owns the InferenceSession, answers each
 * request on its reply port, then wakes the waiting caller through the shared status word.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import type { OrtRequest, OrtWorkerInit } from './ort-engine.js';

const init = workerData as OrtWorkerInit;
const status = new Int32Array(init.status);
const port = init.port as MessagePort;

const wake = () => {
  Atomics.store(status, 0, 1);
  Atomics.notify(status, 0);
};

try {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(init.modelPath, {
    executionProviders: init.executionProviders,
    intraOpNumThreads: init.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  port.postMessage({ type: 'ready' });
  wake();
  port.on('message', async (r: OrtRequest) => {
    try {
      const n = r.t.length;
      const s = init.imageSize;
      const out = await session.run({
        x: new ort.Tensor('float32', r.x, [n, s, s, init.channels]),
        t: new ort.Tensor('float32', r.t, [n]),
        y: new ort.Tensor(
          'int64',
          BigInt64Array.from(r.y, (v) => BigInt(v)),
          [n],
        ),
      });
      const v = (out.v.data as Float32Array).slice();
      port.postMessage({ type: 'velocity', v }, [v.buffer as ArrayBuffer]);
    } catch (e) {
      port.postMessage({ type: 'error', message: (e as Error).message });
    }
    wake();
  });
} catch (e) {
  port.postMessage({ type: 'error', message: (e as Error).message });
  wake();
}
