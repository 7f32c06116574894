/**
 * One optimizer step of conditional flow matching (the paper's trainer):
 *
 *   for each of accum_iter micro-batches: drop all labels with probability class_drop_prob
 *   (the "no label" class), t ~ skewed or uniform, x_0 ~ N(0, I), x_t on the CondOT path,
 *   loss = mean((v(x_t, t, y) − (x_1 − x_0))²) / accum_iter, gradients summed;
 *   then AdamW, then the EMA.
 *
 * Every random draw of micro-batch i comes from the stream (seed, step-stream + i), so the
 * same step gives the same numbers after a resume. With gradient threads (data parallel on
 * one-threaded backends), the micro-batch's rows are split between threads; the draws stay
 * those of the whole micro-batch, so the gradients equal the one-thread ones up to float
 * rounding (dropout masks excepted: each shard draws its own).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@mmmi/latents';
import type { Batch } from './data/batches.js';
import { TRAIN_STREAMS } from './data/batches.js';
import type { Ema } from './ema.js';
import type { FlowModel } from './flow-model.js';
import type { AdamW } from './optim.js';
import type { GradientThreads } from './parallel/model-threads.js';
import { shardDropoutSeed, shardsOf } from './parallel/shard.js';
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
 * Gradients of the flow-matching loss of one micro-batch, or of a shard of it holding
 * `weight` of its rows, divided by accum_iter; keyed by parameter name. `loss` is the
 * micro-batch's loss share (loss × weight).
 */
export async function lossGradients(
  model: FlowModel,
  batch: Batch,
  draws: MicroBatchDraws,
  dropoutSeed: number,
  weight: number,
  accum: number,
): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
  const vars = [...model.params.values()];
  const { value, grads: byVariable } = tf.variableGrads(() => {
    const loss = flowMatchingLoss(model, batch, draws, dropoutSeed);
    return tf.div(weight === 1 ? loss : tf.mul(loss, weight), accum) as tf.Scalar;
  }, vars);
  // variableGrads keys by tf.Variable name (the model's variables are unnamed): key by parameter name
  const grads = new Map([...model.params].map(([name, v]) => [name, byVariable[v.name]]));
  const loss = (await value.data())[0] * accum;
  value.dispose();
  return { loss, grads };
}

/**
 * The summed gradients of one optimizer step over `batches` (accum_iter micro-batches;
 * `firstIteration` is the global index of the first), with the "no label" row masked, and
 * the mean micro-batch loss. With `threads`, each micro-batch is split into shards, one per
 * thread (this one included). Throws, disposing everything, when a loss is not finite.
 */
export async function batchGradients(
  model: FlowModel,
  batches: readonly Batch[],
  firstIteration: number,
  settings: StepSettings,
  threads?: GradientThreads,
): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
  const pixels = model.config.imageSize ** 2 * model.config.inChannels;
  const accum = batches.length;
  let sum: Map<string, tf.Tensor> | undefined;
  let lossTotal = 0;
  try {
    if (threads) threads.publish(await model.values());
    for (const [i, batch] of batches.entries()) {
      const iteration = firstIteration + i;
      const draws = microBatchDraws(settings, iteration, batch.n, pixels);
      let grads: Map<string, tf.Tensor>;
      let loss: number;
      if (threads) {
        ({ grads, loss } = await shardedGradients(model, threads, batch, draws, iteration, accum));
      } else {
        ({ grads, loss } = await lossGradients(model, batch, draws, iteration, 1, accum));
      }
      if (!Number.isFinite(loss)) {
        tf.dispose([...grads.values()]);
        throw new NonFiniteLossError(loss, iteration);
      }
      lossTotal += loss;
      sum = sum ? addInto(sum, grads) : grads;
    }
    // the "no label" row is PyTorch's padding_idx: its gradient is always zero
    const labelGrad = sum!.get('label_emb.weight');
    if (labelGrad) {
      const rows = labelGrad.shape[0];
      const masked = tf.tidy(() =>
        tf.mul(
          labelGrad,
          tf.tensor2d(
            Array.from({ length: rows }, (_, r) => (r === model.noLabel ? 0 : 1)),
            [rows, 1],
          ),
        ),
      );
      labelGrad.dispose();
      sum!.set('label_emb.weight', masked);
    }
    return { loss: lossTotal / accum, grads: sum! };
  } catch (e) {
    if (sum) tf.dispose([...sum.values()]);
    throw e;
  }
}

/** Adds `more` into `sum` (disposing both inputs' replaced tensors); returns `sum`. */
function addInto(sum: Map<string, tf.Tensor>, more: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  for (const [name, g] of more) {
    const prev = sum.get(name)!;
    sum.set(name, tf.add(prev, g));
    prev.dispose();
    g.dispose();
  }
  return sum;
}

/** One micro-batch's gradients computed in shards: shard 0 here, shard k on worker k − 1, in parallel. */
async function shardedGradients(
  model: FlowModel,
  threads: GradientThreads,
  batch: Batch,
  draws: MicroBatchDraws,
  iteration: number,
  accum: number,
): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
  const [own, ...others] = shardsOf(batch, draws, threads.workers + 1);
  const pending = others.map((shard, j) => threads.compute(j, shard, accum, shardDropoutSeed(iteration, j + 1)));
  // a failed worker must not leave the others' promises unobserved
  const settled = Promise.allSettled(pending);
  const mine = await lossGradients(model, own.batch, own.draws, iteration, own.weight, accum);
  const results = await settled;
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    tf.dispose([...mine.grads.values()]);
    throw failed.reason;
  }
  let loss = mine.loss;
  for (const [j, r] of results.entries()) {
    loss += (r as PromiseFulfilledResult<number>).value;
    addInto(mine.grads, threads.gradients(j, model));
  }
  return { loss, grads: mine.grads };
}

/**
 * One optimizer step over `batches` (accum_iter micro-batches). `firstIteration` is the global
 * index of the first micro-batch. Throws before touching the weights when the loss or a
 * gradient is not finite.
 */
export async function trainStep(
  model: FlowModel,
  optimizer: AdamW,
  ema: Ema | undefined,
  batches: readonly Batch[],
  firstIteration: number,
  lr: number,
  settings: StepSettings,
  threads?: GradientThreads,
): Promise<StepResult> {
  const { loss, grads } = await batchGradients(model, batches, firstIteration, settings, threads);
  try {
    optimizer.apply(grads, lr);
    ema?.update(model.params);
    return { loss };
  } finally {
    tf.dispose([...grads.values()]);
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
