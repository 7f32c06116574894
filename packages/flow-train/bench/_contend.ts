import * as tf from '@tensorflow/tfjs-core';
import { prepareBackend } from '@mmmi/tfjs-runtime';
import { FlowModel } from '../src/flow-model.js';
import { unetConfig } from '../src/unet/config.js';
await prepareBackend('wasm', { log: () => {} });
const c = unetConfig('small');
const model = new FlowModel(c, { seed: 1 });
const B = Number(process.argv[2] ?? 16);
const x = tf.randomNormal([B, c.imageSize, c.imageSize, c.inChannels]) as tf.Tensor4D;
const t = tf.randomUniform([B]) as tf.Tensor1D;
const y = tf.zeros([B], 'int32') as tf.Tensor1D;
const vars = [...model.params.values()];
const step = () => {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.velocity(x, t, y, { training: true }), x))) as tf.Scalar, vars);
  tf.dispose(Object.values(grads));
  tf.dispose(value);
};
step();
const end = performance.now() + 90_000;
let n = 0;
const t0 = performance.now();
while (performance.now() < end) {
  step();
  n++;
}
console.log(`${((n * B) / ((performance.now() - t0) / 1000)).toFixed(2)} img/s at batch ${B}`);
