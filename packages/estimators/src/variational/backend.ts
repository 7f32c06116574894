/**
 * Makes sure a tfjs backend that can train is active, without switching backends behind the
 * caller's back: training needs tfjs-core's gradient functions (Node's tfjs-core bundle
 * registers none) and, on wasm, the kernels gradients need that wasm lacks (conv's filter
 * gradient among them). flow-train's `selectTrainingBackend` provides both.
 *
 *  - `preferred` given ('auto', 'wasm', 'cpu', …): that backend is selected (flow-train's rules).
 *  - none given and a backend already active: it is kept; if its training support is missing,
 *    flow-train re-selects the same backend by name, which only adds the gradients (and wasm's kernels).
 *  - none given and none active: wasm is selected (as flow-train's own CPU choice), cpu if wasm fails.
 *
 * flow-train is loaded on first use only, so the classical estimators never load it.
 */
import { InputError } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';

/** Kernels whose gradients the critics need: present means tfjs's gradients are registered. */
const GRADIENT_PROBES = ['BatchMatMul', 'Relu', 'Conv2D', 'LogSoftmax', 'Max', 'Softplus', 'ClipByValue'];
/** Kernels wasm lacks for the CNN's backward pass (registered by flow-train). */
const WASM_TRAINING_PROBES = ['Conv2DBackpropFilter'];

function trainingReady(backend: string): boolean {
  if (!GRADIENT_PROBES.every((k) => tf.getGradient(k) !== undefined)) return false;
  return backend !== 'wasm' || WASM_TRAINING_PROBES.every((k) => tf.getKernel(k, 'wasm') !== undefined);
}

/** The active backend's name, or undefined when none has been set (tfjs sets one lazily). */
function activeBackend(): string | undefined {
  return (tf.engine() as { backendName?: string }).backendName ?? undefined;
}

/** Ensures a training-capable backend is active (see the module notes); returns its name. */
export async function ensureTrainingBackend(preferred?: string, log: (line: string) => void = () => {}): Promise<string> {
  const { BACKEND_CHOICES, selectTrainingBackend } = await import('@mmmi/flow-train');
  if (preferred !== undefined) {
    if (!BACKEND_CHOICES.includes(preferred)) throw new InputError(`backend = '${preferred}': expected one of ${BACKEND_CHOICES.join(', ')}`);
    return selectTrainingBackend(preferred, { log });
  }
  const current = activeBackend();
  if (current !== undefined) {
    if (trainingReady(current)) return current;
    return selectTrainingBackend(current, { log });
  }
  try {
    return await selectTrainingBackend('wasm', { log });
  } catch (e) {
    log(`estimators: wasm unavailable (${e instanceof Error ? e.message : String(e)}), using cpu`);
    return selectTrainingBackend('cpu', { log });
  }
}
