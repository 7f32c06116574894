/**
 * Makes sure a tfjs backend that can train is active, without switching backends behind the
 * caller's back: training needs tfjs-core's gradient functions (Node's tfjs-core bundle
 * registers none) and, on wasm, the kernels gradients need that wasm lacks (conv's filter
 * gradient among them). `@mmmi/tfjs-runtime`'s `prepareBackend` provides both.
 *
 *  - `preferred` given ('auto', 'wasm', 'cpu', …): that backend is selected (the runtime's rules).
 *  - none given and a backend already active: it is kept; if its training support is missing,
 *    the same backend is prepared again by name, which only adds the gradients (and wasm's kernels).
 *  - none given and none active: wasm is selected, cpu if wasm fails.
 */
import { InputError } from '@mmmi/cli-kit';
import { BACKEND_CHOICES, prepareBackend, WASM_TRAINING_KERNELS } from '@mmmi/tfjs-runtime';
import * as tf from '@tensorflow/tfjs-core';

/** Kernels whose gradients the critics need: present means tfjs's gradients are registered. */
const GRADIENT_PROBES = ['BatchMatMul', 'Relu', 'Conv2D', 'LogSoftmax', 'Max', 'Softplus', 'ClipByValue'];

function trainingReady(backend: string): boolean {
  if (!GRADIENT_PROBES.every((k) => tf.getGradient(k) !== undefined)) return false;
  return backend !== 'wasm' || WASM_TRAINING_KERNELS.every((k) => tf.getKernel(k, 'wasm') !== undefined);
}

/** The active backend's name, or undefined when none has been set (tfjs sets one lazily). */
function activeBackend(): string | undefined {
  return (tf.engine() as { backendName?: string }).backendName ?? undefined;
}

/** Ensures a training-capable backend is active (see the module notes); returns its name. */
export async function ensureTrainingBackend(preferred?: string, log: (line: string) => void = () => {}): Promise<string> {
  const options = { log, label: 'estimators' };
  if (preferred !== undefined) {
    if (!BACKEND_CHOICES.includes(preferred)) throw new InputError(`backend = '${preferred}': expected one of ${BACKEND_CHOICES.join(', ')}`);
    return prepareBackend(preferred, options);
  }
  const current = activeBackend();
  if (current !== undefined) {
    if (trainingReady(current)) return current;
    return prepareBackend(current, options);
  }
  try {
    return await prepareBackend('wasm', options);
  } catch (e) {
    log(`estimators: wasm unavailable (${e instanceof Error ? e.message : String(e)}), using cpu`);
    return prepareBackend('cpu', options);
  }
}
