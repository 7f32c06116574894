/**
 * Trains a contrastive network with Adam on the multi-view loss (./loss.ts): each epoch a
 * fresh seeded permutation of the training draws, cut into minibatches of K (a short tail is
 * left out, so every batch has K − 1 negatives per positive).
 *
 * Early stopping (patience > 0): after each epoch the loss on validation draws (disjoint
 * batches of K, never trained on) is measured; after `patience` epochs without a lower one,
 * training stops and the weights of the best epoch are restored. Why: at a few thousand draws
 * an encoder memorises its training pairs (the training loss keeps falling while the
 * validation loss turns up), and a memorising encoder's similarities say less about the PMI
 * of draws it has not seen. Without validation draws the last weights are kept.
 *
 * Every step runs in tf.tidy; the optimiser's moments and the kept weights are freed before
 * returning, so only the network's own variables remain. A non-finite loss stops the run with
 * a RunFailure naming the epoch.
 */
import { RunFailure } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { BestWeights } from '@mmmi/tfjs-runtime';
import { mulberry32 } from '@mmmi/estimators';
import { permutation } from '@mmmi/latents';
import { multiViewLoss } from './loss.js';
import type { ContrastiveNetwork } from './model.js';

export interface TrainSettings {
  epochs: number;
  /** K: draws per minibatch. */
  batchSize: number;
  learningRate: number;
  /** τ of the similarities. */
  temperature: number;
  /** Epochs without a lower validation loss before stopping (0: train every epoch). */
  patience: number;
  seed: number;
}

export interface EpochPoint {
  /** 1-based. */
  epoch: number;
  /** Mean minibatch loss of the epoch (nats; the weights change during it). */
  trainLoss: number;
  /** Loss on the validation draws after the epoch, or null without them. */
  validationLoss: number | null;
  seconds: number;
}

export interface TrainResult {
  curve: EpochPoint[];
  /** Epochs run. */
  epochs: number;
  /** The epoch whose weights were kept. */
  keptEpoch: number;
  stoppedEarly: boolean;
  seconds: number;
}

/** The views' inputs: for each view, count × dims[v] float32 values, draw-major. */
export interface ViewInputs {
  values: readonly Float32Array[];
  dims: readonly number[];
}

/** One minibatch's input tensors (the caller's tidy frees them). */
function batchTensors(inputs: ViewInputs, rows: ArrayLike<number>): tf.Tensor2D[] {
  return inputs.values.map((a, v) => {
    const d = inputs.dims[v];
    const out = new Float32Array(rows.length * d);
    for (let i = 0; i < rows.length; i++) out.set(a.subarray(rows[i] * d, (rows[i] + 1) * d), i * d);
    return tf.tensor2d(out, [rows.length, d]);
  });
}

function batchLoss(net: ContrastiveNetwork, inputs: ViewInputs, rows: ArrayLike<number>, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const x = batchTensors(inputs, rows);
    return multiViewLoss(
      x.map((t, v) => net.project(v, t)),
      temperature,
    );
  });
}

/** The mean loss over disjoint batches of K validation draws. */
export function validationLoss(net: ContrastiveNetwork, inputs: ViewInputs, rows: Int32Array, s: Pick<TrainSettings, 'batchSize' | 'temperature'>): number {
  const k = s.batchSize;
  const batches = Math.floor(rows.length / k);
  let sum = 0;
  for (let b = 0; b < batches; b++) {
    const loss = batchLoss(net, inputs, rows.subarray(b * k, (b + 1) * k), s.temperature);
    sum += loss.dataSync()[0];
    loss.dispose();
  }
  return sum / batches;
}

export function trainNetwork(
  net: ContrastiveNetwork,
  inputs: ViewInputs,
  train: Int32Array,
  validation: Int32Array,
  s: TrainSettings,
  onEpoch?: (p: EpochPoint) => void,
): TrainResult {
  const k = s.batchSize;
  if (train.length < k) throw new RangeError(`${train.length} training draws: fewer than one batch of ${k}`);
  const validate = s.patience > 0 && validation.length >= k;
  const random = mulberry32((s.seed ^ 0x7a1c0de5) >>> 0);
  const optimizer = tf.train.adam(s.learningRate);
  const t0 = performance.now();
  const curve: EpochPoint[] = [];
  const kept = new BestWeights(net.variables, s.patience, 'min');
  let epoch = 0;
  try {
    while (epoch < s.epochs) {
      epoch++;
      const order = permutation(train.length, random);
      const batches = Math.floor(train.length / k);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        const rows = order.subarray(b * k, (b + 1) * k).map((i) => train[i]);
        const cost = tf.tidy(() => optimizer.minimize(() => batchLoss(net, inputs, rows, s.temperature), true, net.variables) as tf.Scalar);
        const value = cost.dataSync()[0];
        cost.dispose();
        if (!Number.isFinite(value))
          throw new RunFailure(
            `contrastive training diverged in epoch ${epoch} (loss ${value}); lower the learning rate (now ${s.learningRate}) or raise the temperature`,
          );
        sum += value;
      }
      const held = validate ? validationLoss(net, inputs, validation, s) : null;
      const point: EpochPoint = { epoch, trainLoss: sum / batches, validationLoss: held, seconds: (performance.now() - t0) / 1000 };
      curve.push(point);
      onEpoch?.(point);
      if (held !== null && kept.observe(held, epoch)) break;
    }
    kept.restore(epoch);
  } finally {
    optimizer.dispose();
    kept.dispose();
  }
  return { curve, epochs: epoch, keptEpoch: kept.keptAt, stoppedEarly: kept.stoppedEarly, seconds: (performance.now() - t0) / 1000 };
}
