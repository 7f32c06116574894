/**
 * The 'training-mean' protocol, the one of the benchmark fork behind arXiv 2510.21686 v2 (Lee et
 * al.'s suite, derived from Song & Ermon's smile-mi-estimator code): the critic trains on all n
 * rows, each step a minibatch of K rows drawn with replacement (./data.ts), for every one of
 * `steps` steps (no held-out rows, so no early stopping), and the reported estimate is
 *
 *   Î = (1/T) Σ_{t=1..T} v_t,   v_t the estimator's value on step t's minibatch (before its update),
 *
 * the mean of the training curve. This is what the fork reports, kept so that its numbers can be
 * reproduced; it is not our default because every v_t is measured on rows the critic is being
 * fitted to (an over-fitting critic pushes it up, past I for the estimators that are not bounded
 * by log K), and the early steps of an untrained critic pull it down. No standard error is given:
 * the v_t are neither independent nor identically distributed (the critic changes every step).
 *
 * `details.stepValues` holds every v_t, so the mean can be checked and the curve redrawn.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';
import type { Critic } from './critics.js';
import type { CurvePoint } from './curve.js';
import { drawWithReplacement } from './data.js';
import type { Rows } from './evaluate.js';
import type { Objective } from './objectives.js';
import { takeStep } from './train.js';

export interface TrainingMeanSettings {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  evalEvery: number;
}

export interface TrainingMeanResult {
  /** v_t for t = 1…steps. */
  stepValues: number[];
  /** The mean over steps of each per-step companion value (SMILE's unclipped DV, JS's unshifted NWJ, f-DIME's J_f). */
  extras: Record<string, number>;
  curve: CurvePoint[];
  /** How many of the n rows some minibatch drew (n(1 − (1 − 1/n)^{steps·K}) expected). */
  distinctRows: number;
  /** Rows drawn over all steps / n. */
  epochs: number;
  seconds: number;
}

export function trainForMean(
  critic: Critic,
  objective: Objective,
  rows: Rows,
  s: TrainingMeanSettings,
  onProgress?: (point: CurvePoint) => void,
): TrainingMeanResult {
  const optimizer = tf.train.adam(s.learningRate);
  const batches = mulberry32(s.seed ^ 0xba7c4);
  const derangements = mulberry32(s.seed ^ 0xde7a9);
  const seen = new Uint8Array(rows.n);
  const stepValues: number[] = [];
  const extraSums: Record<string, number> = {};
  const curve: CurvePoint[] = [];
  const t0 = performance.now();
  let sinceLast = 0;
  let count = 0;
  try {
    for (let step = 1; step <= s.steps; step++) {
      const batch = drawWithReplacement(rows.n, s.batchSize, batches);
      for (const r of batch) seen[r] = 1;
      const values = takeStep(critic, objective, optimizer, rows, batch, derangements, step, s.learningRate);
      stepValues.push(values.value);
      for (const [name, v] of Object.entries(values.extras)) extraSums[name] = (extraSums[name] ?? 0) + v;
      sinceLast += values.value;
      count++;
      if (step % s.evalEvery === 0 || step === s.steps) {
        const point: CurvePoint = { step, train: sinceLast / count, heldOut: NaN, seconds: (performance.now() - t0) / 1000 };
        curve.push(point);
        onProgress?.(point);
        sinceLast = 0;
        count = 0;
      }
    }
  } finally {
    optimizer.dispose();
  }
  const extras = Object.fromEntries(Object.entries(extraSums).map(([name, sum]) => [name, sum / s.steps]));
  return {
    stepValues,
    extras,
    curve,
    distinctRows: seen.reduce((a, b) => a + b, 0),
    epochs: (s.steps * s.batchSize) / rows.n,
    seconds: (performance.now() - t0) / 1000,
  };
}
