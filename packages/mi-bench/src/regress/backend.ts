/**
 * The tfjs backend the CNN trains on. Training needs more than inference: tfjs-core's gradient
 * functions, and on wasm the kernels its gradients use that wasm lacks; flow-train's
 * selectTrainingBackend provides both, so every activation goes through it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend } from '@mmmi/flow-train';

export type BackendLog = (message: string) => void;

const quiet: BackendLog = () => {};

/** The default activation, made once per process. */
let defaultBackend: Promise<string> | undefined;
/** The last backend a caller asked for by name, and what it resolved to. */
let lastAsked: { asked: string; name: string } | undefined;

/**
 * Makes sure a training-capable backend is active and returns its name.
 *
 * - `preferred` given ('wasm', 'cpu', 'tensorflow', 'auto', …): that one is selected (again
 *   only when it is not still the active one from the previous such call).
 * - none given: once per process, the backend already active is kept and made
 *   training-capable — unless it is none or tfjs's plain-JavaScript 'cpu' fallback (which
 *   tfjs activates by itself when anything computes before a backend was chosen), in which
 *   case wasm is selected, and cpu only when wasm does not load. A command that chose its
 *   backend itself therefore keeps it.
 */
export async function ensureTrainingBackend(preferred?: string, log: BackendLog = quiet): Promise<string> {
  if (preferred !== undefined) {
    if (lastAsked?.asked === preferred && tf.getBackend() === lastAsked.name) return lastAsked.name;
    const name = await selectTrainingBackend(preferred, { log });
    lastAsked = { asked: preferred, name };
    return name;
  }
  defaultBackend ??= (async () => {
    // backendName stays null until some backend has been initialised
    const active = tf.engine().backendName as string | null;
    if (active && active !== 'cpu') return selectTrainingBackend(active, { log });
    try {
      return await selectTrainingBackend('wasm', { log });
    } catch (e) {
      log(`mi-bench: wasm backend unavailable (${e instanceof Error ? e.message : String(e)}); training on cpu`);
      return selectTrainingBackend('cpu', { log });
    }
  })();
  try {
    await defaultBackend;
    // a later call that named a backend may have replaced the default one: report what is active
    return tf.getBackend();
  } catch (e) {
    defaultBackend = undefined;
    throw e;
  }
}
