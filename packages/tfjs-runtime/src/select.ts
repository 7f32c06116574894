/**
 * TensorFlow.js backend selection at run time: the fastest one that works here. Choosing
 * and activating only; ./prepare.ts adds what running a model needs on top.
 *
 *   tensorflow-gpu  @tensorflow/tfjs-node-gpu (CUDA), if installed and its native addon loads
 *   webgpu          @tensorflow/tfjs-backend-webgpu on Dawn (`webgpu`): any GPU with a Vulkan
 *                   driver; `auto` takes a hardware adapter only (./webgpu.ts)
 *   tensorflow      @tensorflow/tfjs-node (libtensorflow on the CPU), if installed and its addon loads
 *   wasm            @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), a dependency of this package
 *   cpu             @tensorflow/tfjs-backend-cpu (plain JavaScript, slow), always works
 *
 * tfjs-node(-gpu) are optional: a missing module, a module whose native addon is missing
 * or fails to load, or one bound to another copy of @tensorflow/tfjs-core is skipped with
 * a note to the logger.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { silenceCpuBanner } from './cpu-banner.js';
import { adapterName, registerWebGpuBackend } from './webgpu.js';

// registers tfjs's cpu backend, without its "install our node backend" banner
silenceCpuBanner();

export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];
/** What a --backend flag accepts. */
export const BACKEND_CHOICES: readonly string[] = ['auto', ...BACKEND_ORDER];

/** The backend asked for does not work here (or no backend does); the message says why for each. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

export interface SelectBackendOptions {
  /** Receives one line per decision (default: stderr). */
  log?: (message: string) => void;
  /** Threads for the wasm backend when its multi-threaded build is used (default: tfjs's choice). */
  wasmThreads?: number;
  /** Prefix of the logged lines, e.g. 'fid' (default 'tfjs'). */
  label?: string;
}

const defaultLog = (message: string) => {
  process.stderr.write(`${message}\n`);
};

const errText = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0] : String(e));

/** Imports a module by a name TypeScript does not resolve (optional dependencies). */
async function importOptional(name: string): Promise<unknown> {
  return import(name);
}

async function activate(tfName: string): Promise<void> {
  if (!tf.findBackendFactory(tfName)) {
    throw new Error(`backend '${tfName}' is not registered with this copy of @tensorflow/tfjs-core`);
  }
  // setBackend resolves false (after a console warning) when initialisation fails
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`backend '${tfName}' failed to initialise`);
  await tf.ready();
}

async function tryNode(pkg: string): Promise<void> {
  await importOptional(pkg); // registers 'tensorflow' with its tfjs-core; throws without the addon
  await activate('tensorflow');
}

/** Registers and activates tfjs's webgpu backend; returns a note on the adapter for the log line. */
async function tryWebGpu(explicit: boolean, log: (message: string) => void, label: string): Promise<string> {
  const adapter = await registerWebGpuBackend({ allowSoftware: explicit, log: (m) => log(`${label}: ${m}`) });
  await activate('webgpu');
  const note = adapter.software ? '; a software adapter: correct, slower than wasm, for tests' : '';
  return ` (${adapterName(adapter)}${note})`;
}

let wasmPathsSet = false;

async function tryWasm(threads: number | undefined): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // In Node the loader reads the .wasm files from disk: point it at the package's dist/.
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    const prefix = dist.endsWith('dist') ? dist : join(dist, 'dist');
    wasm.setWasmPaths(`${prefix}/`);
    wasmPathsSet = true;
  }
  if (threads !== undefined) wasm.setThreadsCount(threads);
  await activate('wasm');
}

/**
 * Chooses and activates a tfjs backend; returns its name (one of {@link BACKEND_ORDER}).
 *
 * `preferred`: undefined or 'auto' tries tensorflow-gpu → webgpu (hardware adapters only) →
 * tensorflow → wasm → cpu and takes the first that works; a backend name uses that one only
 * and throws if it does not work here (webgpu named so also takes a software adapter).
 */
export async function selectBackend(preferred?: string, options: SelectBackendOptions = {}): Promise<BackendName> {
  const log = options.log ?? defaultLog;
  const label = options.label ?? 'tfjs';
  let candidates: readonly BackendName[];
  if (preferred === undefined || preferred === 'auto') {
    candidates = BACKEND_ORDER;
  } else if ((BACKEND_ORDER as readonly string[]).includes(preferred)) {
    candidates = [preferred as BackendName];
  } else {
    throw new BackendUnavailableError(`unknown backend '${preferred}': expected ${BACKEND_CHOICES.join(', ')}`);
  }
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      let extra = '';
      if (name === 'tensorflow-gpu') await tryNode('@tensorflow/tfjs-node-gpu');
      else if (name === 'webgpu') extra = await tryWebGpu(candidates.length === 1, log, label);
      else if (name === 'tensorflow') await tryNode('@tensorflow/tfjs-node');
      else if (name === 'wasm') {
        await tryWasm(options.wasmThreads);
        extra = wasmDetails();
      } else await activate('cpu');
      log(`${label}: tfjs backend ${name}${extra}`);
      return name;
    } catch (e) {
      failures.push(`${name}: ${errText(e)}`);
      if (candidates.length > 1) log(`${label}: tfjs backend ${name} unavailable (${errText(e)})`);
    }
  }
  throw new BackendUnavailableError(`no usable tfjs backend: ${failures.join('; ')}`);
}

function wasmDetails(): string {
  try {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    return ` (simd ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`;
  } catch {
    return '';
  }
}
