/**
 * One MIENF fit: split, standardise, train the flows and the base by maximum likelihood, read
 * the estimate; then keep the model for per-sample questions:
 *
 *   pointwiseMi(x, y, n)  the model's pointwise MI log p(x,y) − log p(x) − log p(y) of each pair,
 *                         exact for the fitted model (the base's pmi of the latents, ./model.ts),
 *                         to hold against the exact PMI of a known distribution;
 *   latents(x, y, n)      ξ = f_x(x), η = f_y(y), float64 copies.
 *
 * The estimate (`readout`):
 *   'base'     (default) Î = −½ Σ_j log(1 − ρ̂_j²), the closed form of the fitted base: the flows
 *              are invertible per side, so the model's MI is its base's (tridiag-N-MIENF).
 *              Standard error: the delta method at the training sample size, √(Σ ρ̂_j² / n_train),
 *              the sampling noise of the correlations for the fitted flows; it does not cover
 *              the spread over training runs, nor over-fitting of the flows to the training rows
 *              (which early stopping on held-out rows is there to limit).
 *   'latents'  the Gaussian closed form ½ log(det Σ̂_ξ det Σ̂_η / det Σ̂_ξη) on the latents of the
 *              held-out estimate rows (../gaussian.ts, its exact small-sample bias under
 *              normality subtracted), with that estimator's delta-method standard error: the
 *              MI of fresh latents, I(ξ; η) = I(X; Y), rather than the model's. Rows the flows
 *              were not fitted to cannot carry their over-fitting, and a full Gaussian fit does
 *              not need the latents aligned with the base's pairs; but it reads half as many
 *              rows as training did (n/4 by default), so it is noisier.
 * Both are in `details` whichever is returned, with the held-out mean of the pointwise MI
 * (a third reading: E_p[pmi_model] over the estimate rows, ± sd/√n).
 *
 * Inputs are standardised with the training split's statistics and (start 'canonical', the
 * default) mapped into the training rows' canonical coordinates, where the base's ρ starts at
 * the canonical correlations (./cca.ts): fixed invertible affine maps of each side, so MI and
 * PMI are unchanged, and training starts at the Gaussian maximum-likelihood fit. A feature
 * constant on the training rows, or a linear combination of the others, is refused: a flow can
 * squeeze it to a point and drive the likelihood to infinity.
 */
import { InputError, RunFailure } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import type { MiEstimate, PairedSamples } from '../estimator.js';
import { gaussianMi } from '../gaussian.js';
import { ensureTrainingBackend } from '../variational/backend.js';
import { fitStandardiser, splitRows, standardise } from '../variational/data.js';
import { canonicalForm } from './cca.js';
import { applySideMap, type SideMap } from './data.js';
import { makeMienfModel, type MienfModel } from './model.js';
import { batchSizeFor, checkMienfInput, mienfRowCounts, resolveMienfOptions, type FlowCurvePoint, type MienfOptions } from './options.js';
import { EVAL_CHUNK, mapRows, trainFlows, type FlowRows } from './train.js';

export interface FittedMienf {
  /** What the estimator `mienf` returns. */
  readonly estimate: MiEstimate;
  readonly curve: readonly FlowCurvePoint[];
  /** The fitted base's correlations ρ_j. */
  readonly rho: Float64Array;
  /** The model's pointwise MI of n pairs (x: n×dx, y: n×dy, row-major). */
  pointwiseMi(x: Float64Array, y: Float64Array, n: number): Float64Array;
  /** The latents of n pairs: ξ (n×dx) and η (n×dy), row-major. */
  latents(x: Float64Array, y: Float64Array, n: number): { xi: Float64Array; eta: Float64Array };
  /** Frees the model's tensors; nothing can be asked of it afterwards. */
  dispose(): void;
}

/** The index of the first feature of `a` (n×d) constant over `rows`, or −1. */
function constantFeature(a: Float64Array, d: number, rows: Int32Array): number {
  for (let j = 0; j < d; j++) {
    const first = a[rows[0] * d + j];
    if (rows.every((r) => a[r * d + j] === first)) return j;
  }
  return -1;
}

function meanAndError(v: Float64Array): { estimate: number; standardError: number } {
  const n = v.length;
  const m = v.reduce((s, t) => s + t, 0) / n;
  const ss = v.reduce((s, t) => s + (t - m) ** 2, 0);
  return { estimate: m, standardError: Math.sqrt(ss / (n - 1) / n) };
}

/** Trains the flows and the base on a training split and reads the estimate; see the module notes. */
export async function fitMienf(data: PairedSamples, options: MienfOptions = {}): Promise<FittedMienf> {
  const o = resolveMienfOptions(options);
  checkMienfInput(data, o);
  const { n, dx, dy } = data;
  const counts = mienfRowCounts(n, o);
  const split = splitRows(n, counts.train, o.seed);
  for (const [side, a, d] of [
    ['x', data.x, dx],
    ['y', data.y, dy],
  ] as const) {
    const j = constantFeature(a, d, split.train);
    if (j >= 0)
      throw new InputError(
        `${side} feature ${j} is constant on the ${counts.train} training rows: a flow would squeeze it to a point (infinite likelihood); drop it`,
      );
  }
  const t0 = performance.now();
  const sx = fitStandardiser(data.x, dx, split.train);
  const sy = fitStandardiser(data.y, dy, split.train);
  // the canonical start: fixed linear maps into canonical coordinates, ρ at the canonical correlations (InputError on a singular side)
  const canonical =
    o.start === 'canonical' ? canonicalForm(standardise(sx, data.x, split.train), dx, standardise(sy, data.y, split.train), dy, counts.train) : null;
  const mx: SideMap = { dim: dx, standardiser: sx, linear: canonical?.ax ?? null };
  const my: SideMap = { dim: dy, standardiser: sy, linear: canonical?.ay ?? null };
  const backend = await ensureTrainingBackend(o.backend, options.log);
  const rowsOf = (indices: Int32Array): FlowRows => ({ n: indices.length, dx, dy, x: applySideMap(mx, data.x, indices), y: applySideMap(my, data.y, indices) });
  const trainRows = rowsOf(split.train);
  const monitorRows = rowsOf(split.test.subarray(0, counts.monitor));
  const estimateRows = rowsOf(o.patience > 0 ? split.test.subarray(counts.monitor) : split.test);
  const model = makeMienfModel({ dx, dy, blocks: o.blocks, hidden: o.hidden, layers: o.layers, seed: o.seed, initialRho: canonical?.rho });
  try {
    const batchSize = batchSizeFor(o, counts.train);
    const trained = trainFlows(model, trainRows, monitorRows, { ...o, batchSize }, options.onProgress);
    const rho = model.rho();
    const baseMi = model.mutualInformation();
    const base = { estimate: baseMi, standardError: Math.sqrt(rho.reduce((s, r) => s + r * r, 0) / counts.train) };
    const latentGaussian = latentGaussianMi(model, estimateRows);
    const heldOutMeanPmi = meanAndError(mapRows(model, estimateRows, (m, x, y) => m.pointwiseMi(x, y)));
    if (o.readout === 'latents' && 'refused' in latentGaussian)
      throw new RunFailure(`mienf: readout 'latents' could not fit the held-out latents: ${latentGaussian.refused}`);
    const chosen = o.readout === 'latents' && 'estimate' in latentGaussian ? latentGaussian : base;
    const estimate: MiEstimate = {
      estimator: 'mienf',
      estimate: chosen.estimate,
      standardError: chosen.standardError,
      samples: n,
      seconds: (performance.now() - t0) / 1000,
      details: {
        readout: o.readout,
        start: o.start,
        rho: Array.from(rho),
        startRho: canonical ? Array.from(canonical.rho) : null,
        baseEstimate: base,
        latentGaussian,
        heldOutMeanPmi,
        standardErrorMethod:
          o.readout === 'base'
            ? `delta method √(Σρ̂²/n_train), n_train = ${counts.train}: the correlations' sampling noise for the fitted flows`
            : `the Gaussian estimator's delta method on the latents of ${estimateRows.n} held-out rows`,
        model: model.description,
        parameters: model.parameterCount,
        backend,
        trainSamples: counts.train,
        monitorSamples: counts.monitor,
        estimateSamples: estimateRows.n,
        blocks: o.blocks,
        hidden: o.hidden,
        layers: o.layers,
        batchSize,
        learningRate: o.learningRate,
        seed: o.seed,
        steps: trained.steps,
        epochs: trained.epochs,
        patience: o.patience,
        stoppedEarly: trained.stoppedEarly,
        keptStep: trained.keptStep,
        keptHeldOutNll: trained.keptHeldOutNll,
        trainSeconds: trained.seconds,
        curve: trained.curve,
      },
    };
    return fittedHandle(model, estimate, trained.curve, rho, mx, my);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The latents of `rows`, float64 copies, in chunks. */
function latentsOf(model: MienfModel, rows: FlowRows): { xi: Float64Array; eta: Float64Array } {
  const xi = new Float64Array(rows.n * rows.dx);
  const eta = new Float64Array(rows.n * rows.dy);
  for (let i = 0; i < rows.n; i += EVAL_CHUNK) {
    const to = Math.min(rows.n, i + EVAL_CHUNK);
    const l = tf.tidy(() =>
      model.latents(
        tf.tensor2d(rows.x.subarray(i * rows.dx, to * rows.dx), [to - i, rows.dx]),
        tf.tensor2d(rows.y.subarray(i * rows.dy, to * rows.dy), [to - i, rows.dy]),
      ),
    );
    xi.set(l.xi.dataSync(), i * rows.dx);
    eta.set(l.eta.dataSync(), i * rows.dy);
    l.xi.dispose();
    l.eta.dispose();
  }
  return { xi, eta };
}

/** The Gaussian estimate of the latents of `rows`, or why it cannot be made (too few rows, a singular covariance). */
function latentGaussianMi(model: MienfModel, rows: FlowRows): { estimate: number; standardError: number | null } | { refused: string } {
  if (rows.n <= rows.dx + rows.dy + 1) return { refused: `${rows.n} held-out rows for ${rows.dx} + ${rows.dy} latent dimensions` };
  const { xi, eta } = latentsOf(model, rows);
  try {
    const g = gaussianMi({ n: rows.n, x: xi, dx: rows.dx, y: eta, dy: rows.dy }, { biasCorrected: true });
    return { estimate: g.estimate, standardError: g.standardError };
  } catch (e) {
    return { refused: e instanceof Error ? e.message : String(e) };
  }
}

function fittedHandle(model: MienfModel, estimate: MiEstimate, curve: FlowCurvePoint[], rho: Float64Array, mx: SideMap, my: SideMap): FittedMienf {
  let disposed = false;
  const rowsOfPairs = (x: Float64Array, y: Float64Array, n: number): FlowRows => {
    if (disposed) throw new Error('the MIENF model was disposed');
    if (!Number.isInteger(n) || n < 1) throw new InputError(`${n} pairs: at least 1 is needed`);
    if (x.length !== n * mx.dim) throw new InputError(`x holds ${x.length} values, ${n} pairs × ${mx.dim} need ${n * mx.dim}`);
    if (y.length !== n * my.dim) throw new InputError(`y holds ${y.length} values, ${n} pairs × ${my.dim} need ${n * my.dim}`);
    return { n, dx: mx.dim, dy: my.dim, x: applySideMap(mx, x), y: applySideMap(my, y) };
  };
  return {
    estimate,
    curve,
    rho,
    pointwiseMi: (x, y, n) => mapRows(model, rowsOfPairs(x, y, n), (m, xs, ys) => m.pointwiseMi(xs, ys)),
    latents: (x, y, n) => latentsOf(model, rowsOfPairs(x, y, n)),
    dispose() {
      if (!disposed) model.dispose();
      disposed = true;
    },
  };
}
