/**
 * Where a training step's time goes: per-kernel totals (tf.profile) of one forward +
 * backward pass on the chosen backend, slowest first, with the largest call's input shapes.
 *
 *   npx tsx bench/profile-step.ts [config=small] [batch=32] [backend=wasm]
 */
import * as tf from '@tensorflow/tfjs-core';
import { prepareBackend } from '@mmmi/tfjs-runtime';
import { FlowModel } from '../src/flow-model.js';
import { unetConfig } from '../src/unet/config.js';

const [name = 'small', batchText = '32', backend = 'wasm'] = process.argv.slice(2);
await prepareBackend(backend, { log: () => {} });
const c = unetConfig(name);
const model = new FlowModel(c, { seed: 1 });
const B = Number(batchText);
const x = tf.randomNormal([B, c.imageSize, c.imageSize, c.inChannels]) as tf.Tensor4D;
const t = tf.randomUniform([B]) as tf.Tensor1D;
const y = tf.zeros([B], 'int32') as tf.Tensor1D;
const vars = [...model.params.values()];
const step = () => {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.velocity(x, t, y, { training: true }), x))) as tf.Scalar, vars);
  tf.dispose(Object.values(grads));
  return value;
};
tf.dispose(step());
const t0 = performance.now();
tf.dispose(step());
const wallMs = performance.now() - t0;
const info = await tf.profile(() => step());
const byKernel = new Map<string, { ms: number; calls: number; maxMs: number; shapes: string }>();
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0, maxMs: 0, shapes: '' };
  e.ms += ms;
  e.calls++;
  if (ms > e.maxMs) {
    e.maxMs = ms;
    e.shapes = JSON.stringify(k.inputShapes);
  }
  byKernel.set(k.name, e);
}
const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
console.log(
  `${name}, batch ${B}, ${tf.getBackend()}: step ${wallMs.toFixed(0)} ms wall (${((B / wallMs) * 1000).toFixed(1)} img/s), kernels ${total.toFixed(0)} ms`,
);
for (const [k, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
  console.log(
    `${k.padEnd(24)} ${e.ms.toFixed(0).padStart(6)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.calls).padStart(5)} calls  max ${e.maxMs.toFixed(1)} ms ${e.shapes}`,
  );
}
