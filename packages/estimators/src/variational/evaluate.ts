/**
 * The estimate: a trained critic's bound on held-out data, with a standard error where an
 * honest one exists. The held-out rows are cut into B disjoint batches of K pairs; each batch
 * gives a score matrix S_b (positives on the diagonal, negatives off it, as in training).
 *
 *   InfoNCE, NWJ  Both are means of per-row terms (./bounds.ts), so the estimate is the mean of the
 *                 batch values v_b = mean_i t_bi. Batches are disjoint and the critic fixed,
 *                 so v_1…v_B are independent and identically distributed: the standard error is
 *                 sd(v_b)/√B (batch means; null when B = 1). The rows within a batch share their
 *                 negatives, so sd(t)/√(B·K), the naive per-row error, ignores their dependence;
 *                 it is reported as `details.rowStandardError` only. InfoNCE's value is at most
 *                 log K whatever the critic (`details.logK`).
 *   JS            I_NWJ(f + 1), a mean of per-row terms like NWJ (same rule); `details.unshiftedNwj` is
 *                 I_NWJ(f) of the same critic, the value Poole et al.'s and Song & Ermon's `js_lower_bound`
 *                 report (./bounds.ts).
 *   f-DIME        The mean over the held-out joint pairs of log R̂ (./dime.ts): per-row terms that are
 *                 independent given the critic, batch means as for InfoNCE. `details.heldOutObjective`
 *                 is J_f with each batch's negatives (x_i, y_{i+1 mod K}) (./derangement.ts), and is
 *                 the `monitor` early stopping maximises: the read-out is no bound.
 *   DV (MINE, dv), SMILE  The estimate pools the batches before the log: ā − L with ā = mean_b a_b
 *                 (a_b = mean_i S_b,ii) and L = log mean_b m_b (m_b = mean_{i≠j} e^{S_b,ij}, clipped
 *                 for SMILE), the critic's DV value on all held-out pairs (averaging per-batch DV
 *                 values instead would add a Jensen bias of the log of a K(K−1)-term mean). Its
 *                 standard error is the delta method on the batch means: ā − log m̄ has
 *                 gradient (1, −1/m̄) in (ā, m̄), so SE = sd(u_b)/√B with u_b = a_b − m_b/m̄ (null when B = 1).
 *
 * These errors are conditional on the trained critic: they measure the held-out sampling noise
 * of the evaluation, not the spread over training runs (seeds) nor the bounds' bias (the bounds are
 * lower bounds for the critic at hand, biased low by an imperfect critic; InfoNCE also by log K).
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipScores, diagonal, infonceRowTerms, jsMiRowTerms, nwjRowTerms, offDiagonalLogMeanExp } from './bounds.js';
import { scoreMatrix, type Critic } from './critics.js';
import { dimeLogRatio, dimeObjectiveRowTerms } from './dime.js';
import { isDime, type BoundName, type DimeName } from './options.js';

/** What one held-out batch contributes (float64 copies of float32 values). */
export interface BatchSummary {
  /** Per-row terms (InfoNCE, NWJ, JS: I_NWJ(f + 1), f-DIME: log R̂ of the joint pairs). */
  rows?: Float64Array;
  /** JS: the per-row terms of I_NWJ(f), unshifted. */
  unshiftedRows?: Float64Array;
  /** f-DIME: the batch's J_f. */
  objective?: number;
  /** mean_i S_ii. */
  diagMean: number;
  /** log mean_{i≠j} e^{S_ij}. */
  logMeanExp: number;
  /** log mean_{i≠j} e^{clip(S_ij, −τ, τ)} (SMILE). */
  logMeanExpClipped?: number;
}

export interface HeldOutValue {
  estimate: number;
  /** What early stopping maximises: the estimate itself for the bounds, J_f for f-DIME. */
  monitor: number;
  standardError: number | null;
  batches: number;
  details: Record<string, unknown>;
}

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}

/** Sample standard deviation (divisor n − 1); NaN for fewer than 2 values. */
function sd(v: ArrayLike<number>): number {
  if (v.length < 2) return NaN;
  const m = mean(v);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return Math.sqrt(s / (v.length - 1));
}

/** InfoNCE and NWJ: the mean of the batch means, with the batch-means standard error. */
export function combineRowMeans(rowsPerBatch: readonly Float64Array[]): HeldOutValue {
  const b = rowsPerBatch.length;
  const values = rowsPerBatch.map(mean);
  const all: number[] = [];
  for (const r of rowsPerBatch) all.push(...r);
  const estimate = mean(values);
  return {
    estimate,
    monitor: estimate,
    standardError: b >= 2 ? sd(values) / Math.sqrt(b) : null,
    batches: b,
    details: {
      batchValues: values,
      standardErrorMethod: b >= 2 ? `batch means: sd of ${b} held-out batch values / √${b}` : 'none (one held-out batch)',
      rowStandardError: sd(all) / Math.sqrt(all.length),
    },
  };
}

/** DV-type bounds: ā − log m̄ pooled over batches, with the delta-method batch-means standard error. */
export function combineDv(diagMeans: readonly number[], logMeanExps: readonly number[]): HeldOutValue {
  const b = diagMeans.length;
  const top = Math.max(...logMeanExps);
  const logPooled = top + Math.log(mean(logMeanExps.map((l) => Math.exp(l - top))));
  const u = diagMeans.map((a, i) => a - Math.exp(logMeanExps[i] - logPooled));
  const estimate = mean(diagMeans) - logPooled;
  return {
    estimate,
    monitor: estimate,
    standardError: b >= 2 ? sd(u) / Math.sqrt(b) : null,
    batches: b,
    details: {
      batchValues: diagMeans.map((a, i) => a - logMeanExps[i]),
      standardErrorMethod: b >= 2 ? `delta method on ${b} held-out batch means: sd(a_b − m_b/m̄) / √${b}` : 'none (one held-out batch)',
      positiveMean: mean(diagMeans),
      logNegativeMean: logPooled,
    },
  };
}

/** Combines batch summaries into the named bound's held-out value. */
export function combineBatches(bound: BoundName, summaries: readonly BatchSummary[], batchSize: number): HeldOutValue {
  if (summaries.length === 0) throw new RangeError('no held-out batches');
  const diag = summaries.map((s) => s.diagMean);
  if (isDime(bound)) {
    const v = combineRowMeans(summaries.map((s) => s.rows as Float64Array));
    // batches of equal size: the mean of the batch objectives is J_f on all the rows
    v.monitor = mean(summaries.map((s) => s.objective as number));
    v.details.heldOutObjective = v.monitor;
    return v;
  }
  switch (bound) {
    case 'infonce': {
      const v = combineRowMeans(summaries.map((s) => s.rows as Float64Array));
      v.details.logK = Math.log(batchSize);
      return v;
    }
    case 'nwj':
      return combineRowMeans(summaries.map((s) => s.rows as Float64Array));
    case 'js': {
      const v = combineRowMeans(summaries.map((s) => s.rows as Float64Array));
      v.details.unshiftedNwj = combineRowMeans(summaries.map((s) => s.unshiftedRows as Float64Array)).estimate;
      return v;
    }
    case 'mine':
    case 'dv':
      return combineDv(
        diag,
        summaries.map((s) => s.logMeanExp),
      );
    case 'smile': {
      const v = combineDv(
        diag,
        summaries.map((s) => s.logMeanExpClipped as number),
      );
      v.details.unclippedDv = combineDv(
        diag,
        summaries.map((s) => s.logMeanExp),
      ).estimate;
      return v;
    }
  }
  throw new Error(`no held-out rule for '${bound}'`);
}

/** The summary of one score matrix for the named bound. */
export function summariseScores(bound: BoundName, s: tf.Tensor2D, tau: number): BatchSummary {
  const out: BatchSummary = { diagMean: NaN, logMeanExp: NaN };
  tf.tidy(() => {
    out.diagMean = tf.mean(diagonal(s)).dataSync()[0];
    out.logMeanExp = offDiagonalLogMeanExp(s).dataSync()[0];
    if (bound === 'infonce') out.rows = Float64Array.from(infonceRowTerms(s).dataSync());
    if (bound === 'nwj') out.rows = Float64Array.from(nwjRowTerms(s).dataSync());
    if (bound === 'js') {
      out.rows = Float64Array.from(jsMiRowTerms(s).dataSync());
      out.unshiftedRows = Float64Array.from(nwjRowTerms(s).dataSync());
    }
    if (bound === 'smile') out.logMeanExpClipped = offDiagonalLogMeanExp(clipScores(s, tau)).dataSync()[0];
  });
  return out;
}

/** The summary of one f-DIME batch from the critic on its K joint pairs and K deranged pairs. */
export function summarisePairs(name: DimeName, positive: tf.Tensor1D, negative: tf.Tensor1D): BatchSummary {
  const out: BatchSummary = { diagMean: mean(positive.dataSync()), logMeanExp: NaN };
  tf.tidy(() => {
    out.rows = Float64Array.from(dimeLogRatio(name, positive).dataSync());
    out.objective = tf.mean(dimeObjectiveRowTerms(name, positive, negative)).dataSync()[0];
  });
  return out;
}

/** Held-out rows as the critic reads them: standardised float32, row-major. */
export interface Rows {
  x: Float32Array;
  dx: number;
  y: Float32Array;
  dy: number;
  n: number;
}

/** Number of whole batches of `batchSize` in `rows`. */
export const batchCount = (rows: Rows, batchSize: number): number => Math.floor(rows.n / batchSize);

/** The bound of `critic` on the first `maxBatches` (default all) batches of `rows`, in order. */
export function evaluateBound(critic: Critic, rows: Rows, bound: BoundName, settings: { batchSize: number; tau: number }, maxBatches = Infinity): HeldOutValue {
  const k = settings.batchSize;
  const b = Math.min(batchCount(rows, k), maxBatches);
  const summaries: BatchSummary[] = [];
  for (let i = 0; i < b; i++) {
    tf.tidy(() => {
      const x = tf.tensor2d(rows.x.subarray(i * k * rows.dx, (i + 1) * k * rows.dx), [k, rows.dx]);
      const y = tf.tensor2d(rows.y.subarray(i * k * rows.dy, (i + 1) * k * rows.dy), [k, rows.dy]);
      if (!isDime(bound)) summaries.push(summariseScores(bound, scoreMatrix(critic, x, y), settings.tau));
      else {
        const ex = critic.encodeX(x);
        const ey = critic.encodeY(y);
        // the cyclic derangement i ↦ i + 1 mod K: row i of `shifted` is ey[i + 1]
        const shifted = tf.concat([tf.slice(ey, [1, 0], [k - 1, -1]), tf.slice(ey, [0, 0], [1, -1])], 0);
        summaries.push(summarisePairs(bound, critic.pairs(ex, ey), critic.pairs(ex, shifted)));
      }
    });
  }
  return combineBatches(bound, summaries, k);
}
