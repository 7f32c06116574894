/**
 * tfjs-core's gradient functions. Node loads tfjs-core's CommonJS bundle
 * (dist/tf-core.node.js), which registers no gradients (the @tensorflow/tfjs umbrella package
 * normally does that); its ES-module build dist/register_all_gradients.js does, but its
 * extension-less relative imports do not resolve in Node. {@link registerTfjsGradients}
 * installs a module-resolution hook that adds '.js' (or '/index.js') to those imports only,
 * and loads it. The gradients then share the one engine and kernel registry (tfjs keeps them,
 * and the Tensor class, in globals).
 */
import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

/** Kernels whose gradients training cannot do without: present means tfjs's gradients are loaded. */
const GRADIENT_PROBES = ['Conv2D', 'Mean', 'BatchMatMul', 'Sigmoid'];

const gradientsPresent = () => GRADIENT_PROBES.every((k) => tf.getGradient(k) !== undefined);

/**
 * Resolution hook (runs on Node's loader thread): an import from inside tfjs-core's
 * dist/ that fails is retried with '.js' and '/index.js'; those files are ES modules.
 */
const RESOLVE_HOOK = `
const inCore = (url) => typeof url === 'string' && url.includes('/@tensorflow/tfjs-core/dist/');
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (!inCore(context.parentURL) || !/^\\.\\.?\\//.test(specifier)) throw error;
    for (const suffix of ['.js', '/index.js']) {
      try {
        const resolved = await next(specifier + suffix, context);
        return { ...resolved, format: 'module' };
      } catch {}
    }
    throw error;
  }
}`;

let hookInstalled = false;
let loading: Promise<boolean> | undefined;

/**
 * Registers tfjs-core's gradient functions if they are not registered yet. Resolves true
 * when this call loaded them, false when they were already there. Idempotent.
 */
export function registerTfjsGradients(): Promise<boolean> {
  if (gradientsPresent()) return Promise.resolve(false);
  loading ??= (async () => {
    if (!hookInstalled && typeof register === 'function') {
      register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`);
      hookInstalled = true;
    }
    try {
      await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    } catch (e) {
      loading = undefined;
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new Error(`tfjs-runtime: could not load tfjs-core's gradients (dist/register_all_gradients.js): ${msg}`, { cause: e });
    }
    if (!gradientsPresent()) throw new Error("tfjs-runtime: tfjs-core's gradients did not register (another copy of @tensorflow/tfjs-core?)");
    return true;
  })();
  return loading;
}
