/**
 * tfjs-backend-cpu greets every Node process on its first tensor: "Hi, looks like you are
 * running TensorFlow.js in Node.js. To speed things up dramatically, install our node
 * backend …" — also where ONNX Runtime does the work and tfjs only holds a few tensors on cpu.
 * It comes through tfjs-core's `backend_util.warn`, which only the global `PROD` flag (or a
 * test environment) silences, and `PROD` would silence every other tfjs warning as well.
 *
 * The greeting is printed once per backend instance, from `write`, while the instance's
 * `firstUse` field is still true (tfjs-backend-cpu 4.x, dist/backend_cpu.js). So this clears
 * that field, and nothing else: on every instance the 'cpu' factory makes from now on (the
 * registered factory is wrapped in place, keeping its priority and avoiding a removeBackend that
 * would dispose an instance already in use), and on an instance made before. Other warnings
 * of tfjs, the cpu backend's included, are still printed.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

type Factory = () => tf.KernelBackend | Promise<tf.KernelBackend>;
const QUIETED = Symbol.for('@mmmi/tfjs-runtime: cpu banner silenced');

function clearFirstUse(backend: unknown): void {
  if (backend && typeof backend === 'object' && 'firstUse' in backend) (backend as { firstUse: boolean }).firstUse = false;
}

/** Makes the cpu backend skip its first-use banner (idempotent; see the module notes). */
export function silenceCpuBanner(): void {
  const engine = tf.engine();
  clearFirstUse(engine.registry['cpu']);
  const entry = engine.registryFactory['cpu'] as { factory: Factory & { [QUIETED]?: true }; priority: number } | undefined;
  if (!entry || entry.factory[QUIETED]) return;
  const original = entry.factory;
  const quiet: Factory & { [QUIETED]?: true } = () => {
    const made = original();
    if (made instanceof Promise) return made.then((b) => (clearFirstUse(b), b));
    clearFirstUse(made);
    return made;
  };
  quiet[QUIETED] = true;
  entry.factory = quiet;
}
