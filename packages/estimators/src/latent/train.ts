/**
 * Trains LMI's paired autoencoders as the authors' `train` does: Adam (ε = 1e-7) on the loss of
 * ./networks.ts, epoch by epoch over a fresh seeded permutation of the training rows cut into
 * minibatches of `batchSize` (the last one takes the rows left over), then the loss on the
 * held-out rows; early stopping after `patience` epochs without a lower held-out loss.
 *
 * The held-out loss is the reconstruction and cross-prediction error, not the MI, so choosing
 * the epoch by it on the rows that later give the KSG estimate (as the authors do) does not
 * select for a high estimate. The best epoch's weights are restored at the end (their early
 * stopper means to, after Keras; with patience 0 the last epoch's are kept).
 *
 * Every step runs in tf.tidy; the optimiser's slots and the snapshot are freed before returning,
 * so only the networks' own variables remain. A non-finite training loss (a learning rate too
 * high) is a RunFailure naming the epoch.
 */
import { permutation } from '@mmmi/latents';
import { RunFailure } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { BestWeights } from '@mmmi/tfjs-runtime';
import { mulberry32 } from '../random.js';
import { gatherRows } from '../variational/data.js';
import type { NetworkRows } from './data.js';
import type { PairedAutoencoder } from './networks.js';
import { ADAM_EPSILON, type LmiCurvePoint } from './options.js';

export interface LmiTrainSettings {
  epochs: number;
  patience: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export interface LmiTrainResult {
  curve: LmiCurvePoint[];
  /** Epochs run (fewer than asked when stopped early). */
  epochs: number;
  stoppedEarly: boolean;
  /** The epoch whose weights were kept. */
  keptEpoch: number;
  /** The held-out loss of the kept weights, computed after they are restored. */
  keptValidation: number;
  /** Adam steps taken. */
  steps: number;
  seconds: number;
}

/** Rows per forward pass when the held-out loss is computed. */
const LOSS_CHUNK = 4096;

/** The loss on all the rows, as the row-weighted mean of chunk losses (each a mean over rows): the loss of one batch of them all. */
export function pairedAutoencoderLoss(net: PairedAutoencoder, rows: NetworkRows): number {
  let sum = 0;
  for (let i = 0; i < rows.n; i += LOSS_CHUNK) {
    const to = Math.min(rows.n, i + LOSS_CHUNK);
    const value = tf.tidy(() => {
      const x = tf.tensor2d(rows.x.subarray(i * rows.dx, to * rows.dx), [to - i, rows.dx]);
      const y = tf.tensor2d(rows.y.subarray(i * rows.dy, to * rows.dy), [to - i, rows.dy]);
      return net.loss(x, y);
    });
    sum += value.dataSync()[0] * (to - i);
    value.dispose();
  }
  return sum / rows.n;
}

export function trainPairedAutoencoder(
  net: PairedAutoencoder,
  train: NetworkRows,
  heldOut: NetworkRows,
  s: LmiTrainSettings,
  onProgress?: (point: LmiCurvePoint) => void,
): LmiTrainResult {
  const optimizer = tf.train.adam(s.learningRate, 0.9, 0.999, ADAM_EPSILON);
  const random = mulberry32(s.seed ^ 0x7a1e5);
  const batch = Math.min(s.batchSize, train.n);
  const curve: LmiCurvePoint[] = [];
  const t0 = performance.now();
  const kept = new BestWeights(net.variables, s.patience, 'min');
  let epoch = 0;
  let steps = 0;
  try {
    while (epoch < s.epochs) {
      epoch++;
      const order = permutation(train.n, random);
      let sum = 0;
      for (let from = 0; from < train.n; from += batch) {
        const rows = order.subarray(from, Math.min(train.n, from + batch));
        const xb = gatherRows(train.x, train.dx, rows);
        const yb = gatherRows(train.y, train.dy, rows);
        const cost = tf.tidy(() => {
          const x = tf.tensor2d(xb, [rows.length, train.dx]);
          const y = tf.tensor2d(yb, [rows.length, train.dy]);
          return optimizer.minimize(() => net.loss(x, y), true, net.variables) as tf.Scalar;
        });
        sum += cost.dataSync()[0] * rows.length;
        cost.dispose();
        steps++;
      }
      const trainLoss = sum / train.n;
      if (!Number.isFinite(trainLoss))
        throw new RunFailure(`lmi: training diverged in epoch ${epoch} (the training loss is ${trainLoss}); lower learningRate (now ${s.learningRate})`);
      const validation = pairedAutoencoderLoss(net, heldOut);
      const point: LmiCurvePoint = { epoch, train: trainLoss, validation, seconds: (performance.now() - t0) / 1000 };
      curve.push(point);
      onProgress?.(point);
      if (kept.observe(validation, epoch)) break;
    }
    kept.restore(epoch);
  } finally {
    optimizer.dispose();
    kept.dispose();
  }
  // measured again, not read off the curve: equal to the kept epoch's point only if its weights are the ones in place
  const keptValidation = pairedAutoencoderLoss(net, heldOut);
  return { curve, epochs: epoch, stoppedEarly: kept.stoppedEarly, keptEpoch: kept.keptAt, keptValidation, steps, seconds: (performance.now() - t0) / 1000 };
}
