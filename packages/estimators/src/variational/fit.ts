/**
 * One trained critic: split, standardise, train, evaluate on the held-out rows; then keep the
 * critic for per-sample scores, which a harness can hold against the exact pointwise mutual
 * information PMI(x, y) = log p(x, y)/(p(x)p(y)):
 *
 *   pairScores(x, y, n)       f(x_i, y_i), the raw critic. Its optimum is PMI plus a constant for
 *                             DV/MINE and SMILE (JS-trained: PMI itself), PMI + 1 for NWJ, and
 *                             PMI + c(x_i) for InfoNCE (any function of x alone cancels in its bound).
 *   pointwiseScores(x, y, n)  f(x_i, y_i) − log (1/n) Σ_j e^{f(x_i, y_j)} over the n given pairs:
 *                             InfoNCE's normalisation, which removes the constants and c(x), so for
 *                             the optimal critic of any of the four bounds it tends to PMI(x_i, y_i)
 *                             as n grows (the mean over j estimates E_y[p(x_i, y)/(p(x_i)p(y))] = 1).
 *                             It costs n² critic scores: one n×E by E×n product in row chunks for a
 *                             separable critic, n² MLP evaluations for the concat one.
 *
 * Inputs to the scores are standardised with the training split's statistics, as in training.
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
import { batchCount, evaluateBound, type Rows } from './evaluate.js';
import { makeObjective } from './objectives.js';
import { BOUND_NAMES, checkVariationalInput, heldOutRoles, resolveOptions, splitSizes, type BoundName, type VariationalOptions } from './options.js';
import { trainCritic } from './train.js';

export interface FitCriticOptions extends VariationalOptions {
  /** The bound to train (and evaluate) with (default 'infonce'). */
  bound?: BoundName;
}

export interface FittedCritic {
  readonly bound: BoundName;
  /** The bound on the held-out split: what the estimator of the same name returns. */
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

/** Trains a critic with the given bound and evaluates it on the held-out split; see the module notes. */
export async function fitCritic(data: PairedSamples, options: FitCriticOptions = {}): Promise<FittedCritic> {
  const bound = options.bound ?? 'infonce';
  if (!BOUND_NAMES.includes(bound)) throw new InputError(`bound = '${bound}': expected one of ${BOUND_NAMES.join(', ')}`);
  const o = resolveOptions(options);
  checkVariationalInput(data, o);
  const backend = await ensureTrainingBackend(o.backend, options.log);
  const t0 = performance.now();
  const { n, dx, dy } = data;
  const sizes = splitSizes(n, o.trainFraction);
  const split = splitRows(n, sizes.train, o.seed);
  const sx = fitStandardiser(data.x, dx, split.train, o.xEncoder === 'cnn' ? 1024 : 1);
  const sy = fitStandardiser(data.y, dy, split.train, o.yEncoder === 'cnn' ? 1024 : 1);
  const rowsOf = (indices: Int32Array): Rows => ({ n: indices.length, dx, dy, x: standardise(sx, data.x, indices), y: standardise(sy, data.y, indices) });
  const roles = heldOutRoles(sizes.test, o);
  const trainRows = rowsOf(split.train);
  const monitorRows = rowsOf(split.test.subarray(...roles.monitor));
  const estimateRows = rowsOf(split.test.subarray(...roles.estimate));
  const critic = makeCritic({ ...o, kind: o.critic, dx, dy });
  let estimate: MiEstimate;
  let curve: CurvePoint[];
  try {
    const objective = makeObjective(bound, o);
    const trained = trainCritic(critic, objective, trainRows, monitorRows, o, options.onProgress);
    const held = evaluateBound(critic, estimateRows, bound, { batchSize: o.evalBatchSize, tau: o.tau });
    curve = trained.curve;
    estimate = {
      estimator: bound,
      estimate: held.estimate,
      standardError: held.standardError,
      samples: n,
      seconds: (performance.now() - t0) / 1000,
      details: {
        bound,
        ...held.details,
        ...(bound === 'smile' ? { tau: o.tau } : {}),
        ...(bound === 'mine' ? { emaRate: o.emaRate } : {}),
        critic: critic.description,
        parameters: parameterCount(critic),
        backend,
        trainSamples: sizes.train,
        heldOutSamples: sizes.test,
        monitorSamples: monitorRows.n,
        estimateSamples: estimateRows.n,
        monitorInEstimate: o.patience === 0,
        evalBatches: batchCount(estimateRows, o.evalBatchSize),
        batchSize: o.batchSize,
        evalBatchSize: o.evalBatchSize,
        learningRate: o.learningRate,
        seed: o.seed,
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
  return criticHandle(bound, estimate, curve, critic, sx, sy);
}

function criticHandle(bound: BoundName, estimate: MiEstimate, curve: CurvePoint[], critic: Critic, sx: Standardiser, sy: Standardiser): FittedCritic {
  let disposed = false;
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
            const positive = critic.pairs(exi, tf.slice(ey, [i, 0], [to - i, -1]));
            return tf.add(tf.sub(positive, logSumExp(critic.scores(exi, ey))), Math.log(n));
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
