/**
 * Trains a critic on the training rows with Adam: each step draws K distinct training pairs
 * (epoch-wise seeded permutations), builds the K×K score matrix and takes one gradient step on
 * the bound's loss (./objectives.ts). Every `evalEvery` steps (and at the last) it records a
 * training-curve point: the mean training-batch bound since the previous point and the bound on
 * the monitor rows (held-out batches, ./evaluate.ts).
 *
 * Early stopping (patience > 0): after `patience` curve points without a new best monitor
 * value, training stops and the best weights are restored. Why: with finite data the critic
 * over-fits: the training bound keeps rising while the held-out one peaks and falls (5-D
 * Gaussians, 2000 training rows: the held-out InfoNCE peaks near 0.6 nats of 0.72 after about 150
 * steps, then falls to 0.27 by step 500 while the training bound passes 1.1). The monitor rows
 * are kept out of the final estimate (./options.ts), so the choice of step does not bias it.
 *
 * Every step runs in tf.tidy; the optimiser's slots and the early-stopping snapshot are freed
 * before returning, so only the critic's own variables remain (the caller frees them).
 * A non-finite training bound (NWJ's e^{f−1} overflowing, a learning rate too high) stops the
 * run with a RunFailure naming the step, rather than returning a meaningless estimate.
 *
 * f-DIME objectives see, instead of the K×K score matrix, the critic on the K joint pairs and on
 * the K pairs (x_i, y_σ(i)) of a fresh uniformly random derangement σ each step (seeded,
 * ./derangement.ts): 2K critic evaluations, which matters for the concat critic (K² otherwise).
 * Their early stopping watches the held-out objective J_f (`monitor` of ./evaluate.ts), not the
 * read-out, which is no bound (./dime.ts).
 */
import { RunFailure } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { BestWeights } from '@mmmi/tfjs-runtime';
import { mulberry32 } from '../random.js';
import { scoreMatrix, type Critic } from './critics.js';
import type { CurvePoint } from './curve.js';
import { BatchSampler, gatherRows } from './data.js';
import { permutationMatrix, randomDerangement } from './derangement.js';
import { evaluateBound, type Rows } from './evaluate.js';
import type { Objective, StepValues } from './objectives.js';

export interface TrainSettings {
  steps: number;
  batchSize: number;
  evalBatchSize: number;
  learningRate: number;
  seed: number;
  evalEvery: number;
  patience: number;
  tau: number;
}

export interface TrainResult {
  curve: CurvePoint[];
  /** Steps taken (fewer than asked when stopped early). */
  steps: number;
  /** Passes over the training rows (steps·K / n_train). */
  epochs: number;
  stoppedEarly: boolean;
  /** The step whose weights were kept (the last, or the best held-out point with early stopping). */
  keptStep: number;
  /** The monitored value on the monitor rows with the kept weights, evaluated again after training (equals that step's curve value). */
  keptMonitor: number;
  seconds: number;
}

/**
 * One optimiser step on the batch `rows` of `data` (derangements, for f-DIME, drawn from `random`);
 * returns the step's values, or throws a RunFailure when the training value is not finite.
 */
export function takeStep(
  critic: Critic,
  objective: Objective,
  optimizer: tf.Optimizer,
  data: Rows,
  rows: ArrayLike<number>,
  random: () => number,
  step: number,
  learningRate: number,
): StepValues {
  const k = rows.length;
  const xb = gatherRows(data.x, data.dx, rows);
  const yb = gatherRows(data.y, data.dy, rows);
  const sigma = objective.negatives === 'derangement' ? permutationMatrix(randomDerangement(k, random)) : null;
  tf.tidy(() => {
    const x = tf.tensor2d(xb, [k, data.dx]);
    const y = tf.tensor2d(yb, [k, data.dy]);
    if (objective.negatives === 'all-pairs') {
      const allPairs = objective;
      optimizer.minimize(() => allPairs.loss(scoreMatrix(critic, x, y)), false, critic.variables);
    } else {
      const deranged = objective;
      const p = tf.tensor2d(sigma as Float32Array, [k, k]);
      optimizer.minimize(
        () => {
          const ex = critic.encodeX(x);
          const ey = critic.encodeY(y);
          // row i of P·ey is ey[σ(i)]: the deranged pairs (x_i, y_σ(i))
          return deranged.loss(critic.pairs(ex, ey), critic.pairs(ex, tf.matMul(p, ey)));
        },
        false,
        critic.variables,
      );
    }
  });
  const values = objective.afterStep();
  if (!Number.isFinite(values.value))
    throw new RunFailure(
      `${objective.bound}: training diverged at step ${step} (the minibatch value is ${values.value}); lower learningRate (now ${learningRate}) or use another estimator`,
    );
  return values;
}

export function trainCritic(
  critic: Critic,
  objective: Objective,
  train: Rows,
  monitor: Rows,
  s: TrainSettings,
  onProgress?: (point: CurvePoint) => void,
): TrainResult {
  const k = s.batchSize;
  const optimizer = tf.train.adam(s.learningRate);
  const sampler = new BatchSampler(train.n, k, mulberry32(s.seed ^ 0xba7c4));
  const derangements = mulberry32(s.seed ^ 0xde7a9);
  const evaluate = () => evaluateBound(critic, monitor, objective.bound, { batchSize: s.evalBatchSize, tau: s.tau });
  const curve: CurvePoint[] = [];
  const t0 = performance.now();
  let sum = 0;
  let count = 0;
  const kept = new BestWeights(critic.variables, s.patience, 'max');
  let step = 0;
  try {
    while (step < s.steps) {
      step++;
      sum += takeStep(critic, objective, optimizer, train, sampler.next(), derangements, step, s.learningRate).value;
      count++;
      if (step % s.evalEvery === 0 || step === s.steps) {
        const held = evaluate();
        const point: CurvePoint = { step, train: sum / count, heldOut: held.estimate, seconds: (performance.now() - t0) / 1000 };
        if (held.monitor !== held.estimate) point.monitor = held.monitor;
        curve.push(point);
        onProgress?.(point);
        sum = 0;
        count = 0;
        if (kept.observe(held.monitor, step)) break;
      }
    }
    kept.restore(step);
  } finally {
    optimizer.dispose();
    kept.dispose();
  }
  const keptMonitor = evaluate().monitor;
  return {
    curve,
    steps: step,
    epochs: (step * k) / train.n,
    stoppedEarly: kept.stoppedEarly,
    keptStep: kept.keptAt,
    keptMonitor,
    seconds: (performance.now() - t0) / 1000,
  };
}
