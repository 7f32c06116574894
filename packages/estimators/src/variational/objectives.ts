/**
 * What each estimator minimises on a training minibatch, and the bound value it reports for
 * the training curve (see ./bounds.ts for the formulas):
 *
 *   infonce  loss −I_NCE(S)                         curve I_NCE(S)
 *   nwj      loss −I_NWJ(S)                         curve I_NWJ(S)
 *   mine     MINE's surrogate −(mean S_ii − m/ḿ)     curve I_DV(S)
 *            m = mean_{i≠j} e^{S_ij} of the batch, ḿ ← (1 − α)·ḿ + α·m its moving average
 *            (updated with the batch first, as in Belghazi et al.'s Algorithm 1; ḿ = m on the first
 *            step), held constant in the gradient: the bias-corrected DV gradient
 *   smile    loss −I_JS(S) (the authors' training)  curve I_SMILE(S, τ)
 *
 * A loss is built inside the optimiser's gradient closure; extra values it must hand out (the
 * curve's value, MINE's new average) are kept with tf.keep and read after the step.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  diagonal,
  dvBound,
  infonceBound,
  jsBound,
  logSumExp,
  mineSurrogateFromParts,
  nwjBound,
  offDiagonalLogMeanExp,
  smileBound,
  stopGradient,
} from './bounds.js';
import type { BoundName } from './options.js';

export interface Objective {
  readonly bound: BoundName;
  /** Inside the gradient closure: the loss to minimise; keeps the batch's bound value for {@link afterStep}. */
  loss(s: tf.Tensor2D): tf.Scalar;
  /** After the step: reads and frees what {@link loss} kept; returns the batch's bound value. */
  afterStep(): number;
  /** The bound's value on a score matrix (no gradient needed), for the curve's training side. */
  value(s: tf.Tensor2D): tf.Scalar;
}

/** Reads a kept scalar and frees it. */
function take(t: tf.Scalar | null): number {
  if (t === null) throw new Error('afterStep() before loss()');
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

export function makeObjective(bound: BoundName, settings: { tau: number; emaRate: number }): Objective {
  let kept: tf.Scalar | null = null;
  const keepValue = (v: tf.Scalar) => {
    kept = tf.keep(stopGradient(v));
  };
  switch (bound) {
    case 'infonce':
    case 'nwj': {
      const f = bound === 'infonce' ? infonceBound : nwjBound;
      return {
        bound,
        value: f,
        loss: (s) => {
          const v = f(s);
          keepValue(v);
          return tf.neg(v);
        },
        afterStep: () => take(kept),
      };
    }
    case 'mine': {
      const alpha = settings.emaRate;
      let logAverage: number | null = null;
      let keptAverage: tf.Scalar | null = null;
      return {
        bound,
        value: dvBound,
        loss: (s) => {
          const positive = tf.mean<tf.Scalar>(diagonal(s));
          const lme = offDiagonalLogMeanExp(s);
          const lmeConstant = stopGradient(lme);
          // log((1 − α)·ḿ + α·m) from the logs
          const next =
            logAverage === null || alpha === 1
              ? lmeConstant
              : logSumExp(tf.stack([tf.scalar(Math.log(1 - alpha) + logAverage), tf.add(lmeConstant, Math.log(alpha))]));
          keptAverage = tf.keep(next as tf.Scalar);
          keepValue(tf.sub<tf.Scalar>(positive, lme));
          return mineSurrogateFromParts(positive, lme, next as tf.Scalar);
        },
        afterStep: () => {
          logAverage = take(keptAverage);
          keptAverage = null;
          return take(kept);
        },
      };
    }
    case 'smile':
      return {
        bound,
        value: (s) => smileBound(s, settings.tau),
        loss: (s) => {
          keepValue(smileBound(s, settings.tau));
          return tf.neg(jsBound(s));
        },
        afterStep: () => take(kept),
      };
  }
}
