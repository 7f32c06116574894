/**
 * One trained critic: split, standardise, train, evaluate on the held-out rows; then keep the
 * critic for per-sample scores, which a harness can hold against the exact pointwise mutual
 * information PMI(x, y) = log p(x, y)/(p(x)p(y)):
 *
 *   pairScores(x, y, n)       f(x_i, y_i), the raw critic. Its optimum is PMI plus a constant for
 *                             DV/MINE and dv, PMI itself for SMILE, js and GAN-DIME (JS-trained),
 *                             PMI + 1 for NWJ, PMI + c(x_i) for InfoNCE (any function of x alone
 *                             cancels in its bound), and for KL- and HD-DIME the T whose softplus is
 *                             the ratio r or r^{−1/2} (./dime.ts).
 *   pointwiseScores(x, y, n)  g(x_i, y_i) − log (1/n) Σ_j e^{g(x_i, y_j)} over the n given pairs, with
 *                             g = f, or log R̂ for f-DIME: InfoNCE's normalisation, which removes the
 *                             constants and c(x), so for the optimal critic of any of the estimators
 *                             it tends to PMI(x_i, y_i) as n grows (the mean over j estimates
 *                             E_y[p(x_i, y)/(p(x_i)p(y))] = 1). It costs n² critic scores: one n×E by
 *                             E×n product in row chunks for a separable critic, n² MLP evaluations
 *                             for the concat one.
 *
 * Inputs to the scores are standardised with the training split's statistics, as in training
 * (all n rows' under the 'training-mean' protocol, ./training-mean.ts, which has no split).
 * The critic's tensors live until dispose(); the estimators call it themselves.
 */
import { InputError } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import type { MiEstimate, PairedSamples } from '../estimator.js';
import { ensureTrainingBackend } from './backend.js';
import { logSumExp } from './bounds.js';
import { disposeCritic, makeCritic, parameterCount, type Critic } from './critics.js';
import type { CurvePoint } from './curve.js';
import { fitStandardiser, splitRows, standardise, type Standardiser } from './data.js';
import { dimeLogRatio } from './dime.js';
import { batchCount, evaluateBound, type Rows } from './evaluate.js';
import { makeObjective } from './objectives.js';
import {
  BOUND_NAMES,
  checkVariationalInput,
  heldOutRoles,
  isDime,
  resolveOptions,
  splitSizes,
  type BoundName,
  type ResolvedOptions,
  type VariationalOptions,
} from './options.js';
import { trainCritic } from './train.js';
import { trainForMean } from './training-mean.js';

export interface FitCriticOptions extends VariationalOptions {
  /** The bound (or f-DIME estimator) to train and evaluate with (default 'infonce'). */
  bound?: BoundName;
}

export interface FittedCritic {
  readonly bound: BoundName;
  /** What the estimator of the same name returns: the value on the held-out split (the training mean under protocol 'training-mean'). */
  readonly estimate: MiEstimate;
  readonly curve: readonly CurvePoint[];
  /** f(x_i, y_i) for n pairs (x: n×dx, y: n×dy, row-major). */
  pairScores(x: Float64Array, y: Float64Array, n: number): Float64Array;
  /** f(x_i, y_i) − log mean_j e^{f(x_i, y_j)} over the n given pairs (see the module notes). */
  pointwiseScores(x: Float64Array, y: Float64Array, n: number): Float64Array;
  /** Frees the critic's tensors; the scores cannot be asked for afterwards. */
  dispose(): void;
}

/** Rows per chunk when encoding or scoring many samples. */
const ENCODE_CHUNK = 512;
/** Score-matrix entries per chunk of pointwiseScores (separable; the concat critic takes 1/64 of it, each entry being an MLP pass). */
const SCORE_CHUNK = 1 << 22;

/** Trains a critic with the given bound and evaluates it on the held-out split (or, by `protocol`, averages its training values); see the module notes. */
export async function fitCritic(data: PairedSamples, options: FitCriticOptions = {}): Promise<FittedCritic> {
  const bound = options.bound ?? 'infonce';
  if (!BOUND_NAMES.includes(bound)) throw new InputError(`bound = '${bound}': expected one of ${BOUND_NAMES.join(', ')}`);
  const o = resolveOptions(options);
  checkVariationalInput(data, o);
  const backend = await ensureTrainingBackend(o.backend, options.log);
  const t0 = performance.now();
  const run = o.protocol === 'training-mean' ? fitTrainingMean : fitHeldOut;
  const fitted = run(data, bound, o, options.onProgress);
  try {
    const details: Record<string, unknown> = {
      bound,
      protocol: o.protocol,
      ...fitted.details,
      ...boundSettings(bound, o),
      critic: fitted.critic.description,
      parameters: parameterCount(fitted.critic),
      backend,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      seed: o.seed,
      ...fitted.trainingDetails,
    };
    const estimate: MiEstimate = {
      estimator: bound,
      estimate: fitted.estimate,
      standardError: fitted.standardError,
      samples: data.n,
      seconds: (performance.now() - t0) / 1000,
      details,
    };
    return criticHandle(bound, estimate, fitted.curve, fitted.critic, fitted.sx, fitted.sy);
  } catch (e) {
    disposeCritic(fitted.critic);
    throw e;
  }
}

/** What a protocol hands back: the critic (alive), its standardisers, the number and its details. */
interface ProtocolRun {
  critic: Critic;
  sx: Standardiser;
  sy: Standardiser;
  estimate: number;
  standardError: number | null;
  curve: CurvePoint[];
  /** The estimate's own details (batch values, standard-error method, sample counts). */
  details: Record<string, unknown>;
  /** How training went (steps, epochs, the curve). */
  trainingDetails: Record<string, unknown>;
}

/** The options that shape the named bound, reported with its estimate. */
function boundSettings(bound: BoundName, o: ResolvedOptions): Record<string, unknown> {
  if (bound === 'smile') return { tau: Number.isFinite(o.tau) ? o.tau : 'Infinity' }; // JSON has no Infinity
  if (bound === 'mine') return { emaRate: o.emaRate };
  if (isDime(bound)) return { negatives: 'one uniformly random derangement of each training batch; held-out objective: the shift i ↦ i + 1' };
  return {};
}

const standardisers = (data: PairedSamples, o: ResolvedOptions, rows: Int32Array) => ({
  sx: fitStandardiser(data.x, data.dx, rows, o.xEncoder === 'cnn' ? 1024 : 1),
  sy: fitStandardiser(data.y, data.dy, rows, o.yEncoder === 'cnn' ? 1024 : 1),
});

/** Ours: train on a seeded split with early stopping, report the bound on held-out rows (./options.ts). */
function fitHeldOut(data: PairedSamples, bound: BoundName, o: ResolvedOptions, onProgress?: (p: CurvePoint) => void): ProtocolRun {
  const { n, dx, dy } = data;
  const sizes = splitSizes(n, o.trainFraction);
  const split = splitRows(n, sizes.train, o.seed);
  const { sx, sy } = standardisers(data, o, split.train);
  const rowsOf = (indices: Int32Array): Rows => ({ n: indices.length, dx, dy, x: standardise(sx, data.x, indices), y: standardise(sy, data.y, indices) });
  const roles = heldOutRoles(sizes.test, o);
  const trainRows = rowsOf(split.train);
  const monitorRows = rowsOf(split.test.subarray(...roles.monitor));
  const estimateRows = rowsOf(split.test.subarray(...roles.estimate));
  const critic = makeCritic({ ...o, kind: o.critic, dx, dy });
  try {
    const trained = trainCritic(critic, makeObjective(bound, o), trainRows, monitorRows, o, onProgress);
    const held = evaluateBound(critic, estimateRows, bound, { batchSize: o.evalBatchSize, tau: o.tau });
    return {
      critic,
      sx,
      sy,
      estimate: held.estimate,
      standardError: held.standardError,
      curve: trained.curve,
      details: {
        ...held.details,
        trainSamples: sizes.train,
        heldOutSamples: sizes.test,
        monitorSamples: monitorRows.n,
        estimateSamples: estimateRows.n,
        monitorInEstimate: o.patience === 0,
        evalBatches: batchCount(estimateRows, o.evalBatchSize),
        evalBatchSize: o.evalBatchSize,
      },
      trainingDetails: {
        steps: trained.steps,
        epochs: trained.epochs,
        patience: o.patience,
        stoppedEarly: trained.stoppedEarly,
        keptStep: trained.keptStep,
        keptMonitor: trained.keptMonitor,
        trainSeconds: trained.seconds,
        curve: trained.curve,
      },
    };
  } catch (e) {
    disposeCritic(critic);
    throw e;
  }
}

/** The fork's: train on all n rows for all steps, report the mean per-step training value (./training-mean.ts). */
function fitTrainingMean(data: PairedSamples, bound: BoundName, o: ResolvedOptions, onProgress?: (p: CurvePoint) => void): ProtocolRun {
  const { n, dx, dy } = data;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const { sx, sy } = standardisers(data, o, all);
  const rows: Rows = { n, dx, dy, x: standardise(sx, data.x), y: standardise(sy, data.y) };
  const critic = makeCritic({ ...o, kind: o.critic, dx, dy });
  try {
    const trained = trainForMean(critic, makeObjective(bound, o), rows, o, onProgress);
    const values = trained.stepValues;
    return {
      critic,
      sx,
      sy,
      estimate: values.reduce((a, b) => a + b, 0) / values.length,
      standardError: null,
      curve: trained.curve,
      details: {
        ...renamedExtras(bound, trained.extras),
        standardErrorMethod: 'none: the mean of per-step training values, which are neither independent nor identically distributed',
        trainSamples: n,
        distinctRowsDrawn: trained.distinctRows,
        stepValues: values,
      },
      trainingDetails: {
        steps: o.steps,
        epochs: trained.epochs,
        patience: 0,
        stoppedEarly: false,
        trainSeconds: trained.seconds,
        curve: trained.curve,
      },
    };
  } catch (e) {
    disposeCritic(critic);
    throw e;
  }
}

/** Per-step companions under the names the held-out details use (f-DIME's J_f is not held out here). */
function renamedExtras(bound: BoundName, extras: Record<string, number>): Record<string, number> {
  if (!isDime(bound)) return extras;
  const { objective, ...rest } = extras;
  return { ...rest, trainingObjective: objective };
}

function criticHandle(bound: BoundName, estimate: MiEstimate, curve: CurvePoint[], critic: Critic, sx: Standardiser, sy: Standardiser): FittedCritic {
  let disposed = false;
  /** The critic's scores as log density ratios (up to the bound's constants): f-DIME's read-out map, else f itself. */
  const logRatio = <T extends tf.Tensor>(t: T): T => (isDime(bound) ? dimeLogRatio(bound, t) : t);
  const prepare = (x: Float64Array, y: Float64Array, n: number) => {
    if (disposed) throw new Error('the critic was disposed');
    if (!Number.isInteger(n) || n < 1) throw new InputError(`${n} pairs: at least 1 is needed`);
    if (x.length !== n * sx.dim) throw new InputError(`x holds ${x.length} values, ${n} pairs × ${sx.dim} need ${n * sx.dim}`);
    if (y.length !== n * sy.dim) throw new InputError(`y holds ${y.length} values, ${n} pairs × ${sy.dim} need ${n * sy.dim}`);
    return { xs: standardise(sx, x), ys: standardise(sy, y) };
  };
  const chunk = (a: Float32Array, d: number, from: number, to: number) => tf.tensor2d(a.subarray(from * d, to * d), [to - from, d]);
  /** Encodings of all n rows of one side, chunk by chunk (a tensor the caller frees). */
  const encodeAll = (a: Float32Array, d: number, n: number, encode: (t: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D => {
    const parts: tf.Tensor2D[] = [];
    for (let i = 0; i < n; i += ENCODE_CHUNK) parts.push(tf.tidy(() => encode(chunk(a, d, i, Math.min(n, i + ENCODE_CHUNK)))));
    const all = tf.concat(parts, 0);
    parts.forEach((p) => p.dispose());
    return all;
  };
  return {
    bound,
    estimate,
    curve,
    pairScores(x, y, n) {
      const { xs, ys } = prepare(x, y, n);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i += ENCODE_CHUNK) {
        const to = Math.min(n, i + ENCODE_CHUNK);
        const v = tf.tidy(() => critic.pairs(critic.encodeX(chunk(xs, sx.dim, i, to)), critic.encodeY(chunk(ys, sy.dim, i, to))));
        out.set(v.dataSync(), i);
        v.dispose();
      }
      return out;
    },
    pointwiseScores(x, y, n) {
      const { xs, ys } = prepare(x, y, n);
      const out = new Float64Array(n);
      const ex = encodeAll(xs, sx.dim, n, critic.encodeX);
      const ey = encodeAll(ys, sy.dim, n, critic.encodeY);
      try {
        const entries = critic.kind === 'concat' ? SCORE_CHUNK / 64 : SCORE_CHUNK;
        const rows = Math.max(1, Math.floor(entries / n));
        for (let i = 0; i < n; i += rows) {
          const to = Math.min(n, i + rows);
          const v = tf.tidy(() => {
            const exi = tf.slice(ex, [i, 0], [to - i, -1]);
            const positive = logRatio(critic.pairs(exi, tf.slice(ey, [i, 0], [to - i, -1])));
            return tf.add(tf.sub(positive, logSumExp(logRatio(critic.scores(exi, ey)))), Math.log(n));
          });
          out.set(v.dataSync(), i);
          v.dispose();
        }
      } finally {
        ex.dispose();
        ey.dispose();
      }
      return out;
    },
    dispose() {
      if (!disposed) disposeCritic(critic);
      disposed = true;
    },
  };
}
