/**
 * What each estimator minimises on a training minibatch, and the value it reports for the
 * training curve (see ./bounds.ts and ./dime.ts for the formulas):
 *
 *   infonce  loss −I_NCE(S)                         curve I_NCE(S)
 *   nwj      loss −I_NWJ(S)                         curve I_NWJ(S)
 *   dv       loss −I_DV(S) (the minibatch DV value, no correction)   curve I_DV(S)
 *   mine     MINE's surrogate −(mean S_ii − m/ḿ)     curve I_DV(S)
 *            m = mean_{i≠j} e^{S_ij} of the batch, ḿ ← (1 − α)·ḿ + α·m its moving average
 *            (updated with the batch first, as in Belghazi et al.'s Algorithm 1; ḿ = m on the first
 *            step), held constant in the gradient: the bias-corrected DV gradient
 *   smile    loss −J_JS(S) (the authors' training)  curve I_SMILE(S, τ); also I_DV(S)
 *   js       loss −J_JS(S)                          curve I_JS(S) = I_NWJ(S + 1); also I_NWJ(S)
 *   f-DIME   loss −J_f(T₊, T₋) on the K joint pairs and the K pairs of one derangement σ of the
 *            batch, (x_i, y_σ(i))                  curve mean_i log R̂(x_i, y_i)
 *
 * The all-pairs objectives read the K×K score matrix; the f-DIME ones only the 2K scores of the
 * joint and deranged pairs (`negatives: 'derangement'`), which the trainer builds (./train.ts).
 * A loss is built inside the optimiser's gradient closure; the values it must hand out (the curve's
 * value, the extras, MINE's new average) are kept with tf.keep and read after the step.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  diagonal,
  dvBound,
  infonceBound,
  jsBound,
  jsMiBound,
  logSumExp,
  mineSurrogateFromParts,
  nwjBound,
  offDiagonalLogMeanExp,
  smileBound,
  stopGradient,
} from './bounds.js';
import { dimeEstimate, dimeObjective } from './dime.js';
import { isDime, type BoundName, type DimeName } from './options.js';

/** What one training step reports: the curve's value and, for some estimators, companions (SMILE's unclipped DV, JS's unshifted NWJ, f-DIME's J_f). */
export interface StepValues {
  value: number;
  extras: Record<string, number>;
}

interface ObjectiveBase {
  readonly bound: BoundName;
  /** After the step: reads and frees what `loss` kept. */
  afterStep(): StepValues;
}

/** Trained on the K×K score matrix: positives on its diagonal, the K(K−1) other pairs as negatives. */
export interface AllPairsObjective extends ObjectiveBase {
  readonly negatives: 'all-pairs';
  /** Inside the gradient closure: the loss to minimise; keeps the batch's values for `afterStep`. */
  loss(s: tf.Tensor2D): tf.Scalar;
}

/** Trained on K joint pairs and the K pairs (x_i, y_σ(i)) of one derangement σ of the batch (f-DIME). */
export interface DerangedObjective extends ObjectiveBase {
  readonly negatives: 'derangement';
  /** Inside the gradient closure: the loss from the critic on the joint (`positive`) and deranged (`negative`) pairs. */
  loss(positive: tf.Tensor1D, negative: tf.Tensor1D): tf.Scalar;
}

export type Objective = AllPairsObjective | DerangedObjective;

/** Scalars kept from inside a gradient closure (as constants), read and freed after the step. */
class Kept {
  private values = new Map<string, tf.Scalar>();
  keep(name: string, v: tf.Scalar): void {
    this.values.get(name)?.dispose();
    this.values.set(name, tf.keep(stopGradient(v)));
  }
  /** The kept `value` and the other kept scalars as extras; all freed. */
  take(): StepValues {
    if (!this.values.has('value')) throw new Error('afterStep() before loss()');
    const out: StepValues = { value: NaN, extras: {} };
    for (const [name, t] of this.values) {
      const v = t.dataSync()[0];
      t.dispose();
      if (name === 'value') out.value = v;
      else out.extras[name] = v;
    }
    this.values.clear();
    return out;
  }
}

export function makeObjective(bound: BoundName, settings: { tau: number; emaRate: number }): Objective {
  if (isDime(bound)) return dimeObjectiveFor(bound);
  const kept = new Kept();
  const allPairs = (loss: (s: tf.Tensor2D) => tf.Scalar, afterStep: () => StepValues = () => kept.take()): AllPairsObjective => ({
    bound,
    negatives: 'all-pairs',
    loss,
    afterStep,
  });
  switch (bound) {
    case 'infonce':
    case 'nwj':
    case 'dv': {
      const f = bound === 'infonce' ? infonceBound : bound === 'nwj' ? nwjBound : dvBound;
      return allPairs((s) => {
        const v = f(s);
        kept.keep('value', v);
        return tf.neg(v);
      });
    }
    case 'mine': {
      const alpha = settings.emaRate;
      let logAverage: number | null = null;
      let keptAverage: tf.Scalar | null = null;
      return allPairs(
        (s) => {
          const positive = tf.mean<tf.Scalar>(diagonal(s));
          const lme = offDiagonalLogMeanExp(s);
          const lmeConstant = stopGradient(lme);
          // log((1 − α)·ḿ + α·m) from the logs
          const next =
            logAverage === null || alpha === 1
              ? lmeConstant
              : logSumExp(tf.stack([tf.scalar(Math.log(1 - alpha) + logAverage), tf.add(lmeConstant, Math.log(alpha))]));
          keptAverage = tf.keep(next as tf.Scalar);
          kept.keep('value', tf.sub<tf.Scalar>(positive, lme));
          return mineSurrogateFromParts(positive, lme, next as tf.Scalar);
        },
        () => {
          if (keptAverage === null) throw new Error('afterStep() before loss()');
          logAverage = keptAverage.dataSync()[0];
          keptAverage.dispose();
          keptAverage = null;
          return kept.take();
        },
      );
    }
    case 'smile':
      return allPairs((s) => {
        kept.keep('value', smileBound(s, settings.tau));
        kept.keep('unclippedDv', dvBound(s));
        return tf.neg(jsBound(s));
      });
    case 'js':
      return allPairs((s) => {
        kept.keep('value', jsMiBound(s));
        kept.keep('unshiftedNwj', nwjBound(s));
        return tf.neg(jsBound(s));
      });
  }
  throw new Error(`no objective for '${bound}'`);
}

function dimeObjectiveFor(name: DimeName): DerangedObjective {
  const kept = new Kept();
  return {
    bound: name,
    negatives: 'derangement',
    loss: (positive, negative) => {
      const j = dimeObjective(name, positive, negative);
      kept.keep('value', dimeEstimate(name, positive));
      kept.keep('objective', j);
      return tf.neg(j);
    },
    afterStep: () => kept.take(),
  };
}
