/**
 * A tfjs backend ready to run a model, for training and for inference alike: the selector
 * of ./select.ts (tensorflow-gpu → webgpu → tensorflow → wasm → cpu), plus
 *
 *  - tfjs-core's gradient functions (./gradients.ts), which Node's tfjs-core bundle lacks;
 *  - on wasm, the kernels of the one register list (./wasm/kernels.ts): those gradients need
 *    and wasm lacks, the fix of one it gets wrong, and the faster replacements.
 */
import { selectBackend, type BackendName } from './select.js';
import { registerTfjsGradients } from './gradients.js';
import { registerFastWasmKernels, registerWasmTrainingKernels } from './wasm/kernels.js';

export interface PrepareBackendOptions {
  /** Receives one line per decision (default: stderr). */
  log?: (message: string) => void;
  /** Threads for the wasm backend when its multi-threaded build is used (default: tfjs's choice). */
  wasmThreads?: number;
  /** Prefix of the logged lines, e.g. 'flow-train' (default 'tfjs'). */
  label?: string;
}

const defaultLog = (message: string) => {
  process.stderr.write(`${message}\n`);
};

/**
 * Chooses and activates the tfjs backend (see {@link selectBackend} for `preferred`:
 * undefined/'auto' or a backend name), makes sure tfjs's gradients are registered, and on
 * wasm registers the kernels of the list. Logs `<label>: …`.
 */
export async function prepareBackend(preferred?: string, options: PrepareBackendOptions = {}): Promise<BackendName> {
  const log = options.log ?? defaultLog;
  const label = options.label ?? 'tfjs';
  const name = await selectBackend(preferred, { log, wasmThreads: options.wasmThreads, label });
  // after the backend: tfjs-node brings the @tensorflow/tfjs umbrella, which registers them itself
  await registerTfjsGradients();
  if (name === 'wasm') {
    const registered = registerWasmTrainingKernels();
    log(`${label}: wasm training kernels ${registered.length ? `registered: ${registered.join(', ')}` : 'already registered'}`);
    const replaced = registerFastWasmKernels();
    if (replaced.length) log(`${label}: faster wasm kernels: ${replaced.join(', ')}`);
  }
  return name;
}
