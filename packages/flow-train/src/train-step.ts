/**
 * One optimizer step of conditional flow matching (the paper's trainer):
 *
 *   for each of accum_iter micro-batches: drop all labels with probability class_drop_prob
 *   (the "no label" class), t ~ skewed or uniform, x_0 ~ N(0, I), x_t on the CondOT path,
 *   loss = mean((v(x_t, t, y) − (x_1 − x_0))²) / accum_iter, gradients summed;
 *   then AdamW, then the EMA.
 *
 * Every random draw of micro-batch i comes from the stream (seed, step-stream + i), so the
 * same step gives the same numbers after a resume.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@mmmi/latents';
import type { Batch } from './data/batches.js';
import { TRAIN_STREAMS } from './data/batches.js';
import type { Ema } from './ema.js';
import type { FlowModel } from './flow-model.js';
import type { AdamW } from './optim.js';
import { condOtSample } from './path.js';
import { skewedTimesteps, uniformTimesteps } from './timesteps.js';

export interface StepSettings {
  seed: number;
  classDropProb: number;
  skewedTimesteps: boolean;
}

export interface MicroBatchDraws {
  dropLabels: boolean;
  t: Float32Array;
  noise: Float32Array;
}

/** The random draws of micro-batch `iteration` (global count over the run). */
export function microBatchDraws(settings: StepSettings, iteration: number, n: number, pixels: number): MicroBatchDraws {
  const rng = new Rng(settings.seed, TRAIN_STREAMS.step + iteration);
  const dropLabels = rng.uniform() < settings.classDropProb;
  const t = settings.skewedTimesteps ? skewedTimesteps(n, rng) : uniformTimesteps(n, rng);
  const noise = new Float32Array(n * pixels);
  rng.fillNormal(noise);
  return { dropLabels, t, noise };
}

/** The flow-matching loss of one micro-batch (a scalar tensor; call inside a tape). */
export function flowMatchingLoss(model: FlowModel, batch: Batch, draws: MicroBatchDraws, dropoutSeed: number): tf.Scalar {
  const size = model.config.imageSize;
  const shape: [number, number, number, number] = [batch.n, size, size, model.config.inChannels];
  const x1 = tf.tensor4d(batch.images, shape);
  const x0 = tf.tensor4d(draws.noise, shape);
  const t = tf.tensor1d(draws.t);
  const labels = draws.dropLabels ? new Int32Array(batch.n).fill(model.noLabel) : batch.labels;
  const y = tf.tensor1d(labels, 'int32');
  const { xt, target } = condOtSample(x0, x1, t);
  const v = model.velocity(xt, t, y, { training: true, dropoutSeed });
  return tf.mean(tf.square(tf.sub(v, target)));
}

export interface StepResult {
  /** Mean of the micro-batch losses (before division by accum_iter). */
  loss: number;
}

/**
 * One optimizer step over `batches` (accum_iter micro-batches). `firstIteration` is the global
 * index of the first micro-batch. Throws before touching the weights when the loss or a
 * gradient is not finite.
 */
export async function trainStep(model: FlowModel, optimizer: AdamW, ema: Ema | undefined, batches: readonly Batch[], firstIteration: number, lr: number, settings: StepSettings): Promise<StepResult> {
  const pixels = model.config.imageSize ** 2 * model.config.inChannels;
  const accum = batches.length;
  const vars = [...model.params.values()];
  let sum: Map<string, tf.Tensor> | undefined;
  let lossTotal = 0;
  try {
    for (const [i, batch] of batches.entries()) {
      const iteration = firstIteration + i;
      const draws = microBatchDraws(settings, iteration, batch.n, pixels);
      const { value, grads: byVariable } = tf.variableGrads(() => tf.div(flowMatchingLoss(model, batch, draws, iteration), accum) as tf.Scalar, vars);
      // variableGrads keys by tf.Variable name (the model's variables are unnamed): key by parameter name
      const grads = Object.fromEntries([...model.params].map(([name, v]) => [name, byVariable[v.name]]));
      const loss = (await value.data())[0] * accum;
      value.dispose();
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        throw new NonFiniteLossError(loss, iteration);
      }
      lossTotal += loss;
      if (!sum) {
        sum = new Map(Object.entries(grads));
      } else {
        for (const [name, g] of Object.entries(grads)) {
          const prev = sum.get(name)!;
          sum.set(name, tf.add(prev, g));
          prev.dispose();
          g.dispose();
        }
      }
    }
    // the "no label" row is PyTorch's padding_idx: its gradient is always zero
    const labelGrad = sum!.get('label_emb.weight');
    if (labelGrad) {
      const rows = labelGrad.shape[0];
      const masked = tf.tidy(() => tf.mul(labelGrad, tf.tensor2d(Array.from({ length: rows }, (_, r) => (r === model.noLabel ? 0 : 1)), [rows, 1])));
      labelGrad.dispose();
      sum!.set('label_emb.weight', masked);
    }
    optimizer.apply(sum!, lr);
    ema?.update(model.params);
    return { loss: lossTotal / accum };
  } finally {
    if (sum) tf.dispose([...sum.values()]);
  }
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly loss: number,
    readonly iteration: number,
  ) {
    super(`training stopped: the loss is ${loss} at iteration ${iteration} (weights and checkpoints left as they were; lower --lr or check the data)`);
    this.name = 'NonFiniteLossError';
  }
}
