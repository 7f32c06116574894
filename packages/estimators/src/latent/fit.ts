/**
 * Latent MI (LMI) approximation (Gowri, Lun, Klein, Yin, "Approximating mutual information of
 * high-dimensional variables using learned representations", NeurIPS 2024): learn a small code
 * of each side, z_x = E_x(x) and z_y = E_y(y), then estimate the MI of the codes with KSG,
 *
 *   Î_LMI = KSG(z_x, z_y) ≈ I(E_x(X); E_y(Y)) ≤ I(X; Y)        (data processing inequality)
 *
 * The codes come from paired autoencoders whose codes are also trained to predict the other
 * side (./networks.ts), so they keep the shared information; the equality holds when the codes
 * keep all of it, which needs the dependence to live in a few dimensions (≤ the code's).
 *
 * Steps (as the authors' `lmi.estimate`): a seeded split of the rows, `trainFraction` (half) to
 * train the networks and the rest held out; the inputs standardised with the training rows'
 * statistics and clipped (./data.ts); training with early stopping on the held-out loss
 * (./train.ts); the held-out rows encoded and KSG run on their codes (./pointwise-ksg.ts). The
 * per-point KSG terms are the pointwise MI of the held-out rows; their mean is the estimate.
 *
 * Standard error: KSG's sd(t)/√N on the held-out codes, which ignores the dependence between
 * the terms and says nothing of the spread over trainings (seeds) nor of the bias (a code that
 * lost shared information reads low; KSG itself reads low in many dimensions).
 *
 * `pointwiseMi(x, y, n)` encodes n new pairs with the trained encoders and runs the same KSG on
 * them, so each pair's value is read against the other n − 1 (more pairs: finer neighbourhoods).
 */
import { InputError } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import type { MiEstimate, PairedSamples } from '../estimator.js';
import { ensureTrainingBackend } from '../variational/backend.js';
import { splitRows } from '../variational/data.js';
import { splitSizes } from '../variational/options.js';
import { fitInputScaler, type InputScaler, type NetworkRows } from './data.js';
import { makePairedAutoencoder, type PairedAutoencoder } from './networks.js';
import { checkLmiInput, hiddenWidthOf, latentDimOf, resolveLmiOptions, type LmiCurvePoint, type LmiOptions, type ResolvedLmiOptions } from './options.js';
import { pointwiseKsg, type PointwiseKsg } from './pointwise-ksg.js';
import { trainPairedAutoencoder } from './train.js';

/** Latent codes of n pairs, float64 copies of the encoders' float32 outputs, row-major. */
export interface LatentCodes {
  n: number;
  zx: Float64Array;
  dzx: number;
  zy: Float64Array;
  dzy: number;
}

export interface FittedLmi {
  /** What the `lmi` estimator returns. */
  readonly estimate: MiEstimate;
  readonly curve: readonly LmiCurvePoint[];
  /** The data rows that gave the estimate, in the order of `heldOutPmi`. */
  readonly heldOutRows: Int32Array;
  /** KSG's per-point terms on the held-out codes: their pointwise MI; the mean is the estimate. */
  readonly heldOutPmi: Float64Array;
  /** The trained encoders' codes of n pairs (x: n×dx, y: n×dy, row-major, raw values: scaled as in training). */
  encode(x: Float64Array, y: Float64Array, n: number): LatentCodes;
  /** KSG's per-point terms on the codes of n new pairs (n > k): pointwise MI, read among those n. */
  pointwiseMi(x: Float64Array, y: Float64Array, n: number): Float64Array;
  /** Frees the networks' tensors; nothing can be encoded afterwards. */
  dispose(): void;
}

/** Rows per forward pass when encoding. */
const ENCODE_CHUNK = 2048;

function encodeSide(encode: (t: tf.Tensor2D) => tf.Tensor2D, rows: Float32Array, n: number, d: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i += ENCODE_CHUNK) {
    const to = Math.min(n, i + ENCODE_CHUNK);
    const z = tf.tidy(() => encode(tf.tensor2d(rows.subarray(i * d, to * d), [to - i, d])));
    out.set(z.dataSync(), i * m);
    z.dispose();
  }
  return out;
}

function codesOf(net: PairedAutoencoder, rows: NetworkRows, mx: number, my: number): LatentCodes {
  return {
    n: rows.n,
    zx: encodeSide(net.encodeX, rows.x, rows.n, rows.dx, mx),
    dzx: mx,
    zy: encodeSide(net.encodeY, rows.y, rows.n, rows.dy, my),
    dzy: my,
  };
}

function ksgOnCodes(codes: LatentCodes, o: ResolvedLmiOptions): PointwiseKsg {
  return pointwiseKsg({ n: codes.n, x: codes.zx, dx: codes.dzx, y: codes.zy, dy: codes.dzy }, { k: o.k, variant: o.variant, jitter: o.jitter, seed: o.seed });
}

/** Trains LMI's networks and estimates the MI on the held-out rows; see the module notes. The caller disposes the result. */
export async function fitLmi(data: PairedSamples, options: LmiOptions = {}): Promise<FittedLmi> {
  const o = resolveLmiOptions(options);
  checkLmiInput(data, o);
  const backend = await ensureTrainingBackend(o.backend, options.log);
  const t0 = performance.now();
  const { n, dx, dy } = data;
  const sizes = splitSizes(n, o.trainFraction);
  const split = splitRows(n, sizes.train, o.seed);
  const sx = fitInputScaler(data.x, dx, split.train, o.clip);
  const sy = fitInputScaler(data.y, dy, split.train, o.clip);
  const rowsOf = (indices: Int32Array): NetworkRows => ({ n: indices.length, dx, dy, x: sx.apply(data.x, indices), y: sy.apply(data.y, indices) });
  const trainRows = rowsOf(split.train);
  const heldOut = rowsOf(split.test);
  const x = { d: dx, m: latentDimOf(dx, o), hidden: hiddenWidthOf(dx, o) };
  const y = { d: dy, m: latentDimOf(dy, o), hidden: hiddenWidthOf(dy, o) };
  const net = makePairedAutoencoder({ x, y, alpha: o.alpha, lambda: o.lambda, codeActivation: o.codeActivation, seed: o.seed });
  try {
    const trained = trainPairedAutoencoder(net, trainRows, heldOut, o, options.onProgress);
    const t1 = performance.now();
    const ksg = ksgOnCodes(codesOf(net, heldOut, x.m, y.m), o);
    const ksgSeconds = (performance.now() - t1) / 1000;
    const estimate: MiEstimate = {
      estimator: 'lmi',
      estimate: ksg.estimate,
      standardError: ksg.standardError,
      samples: n,
      seconds: (performance.now() - t0) / 1000,
      details: {
        latentDims: [x.m, y.m],
        codeActivation: o.codeActivation,
        hiddenWidths: [x.hidden, y.hidden],
        networks: net.description,
        parameters: net.parameters,
        backend,
        trainSamples: sizes.train,
        heldOutSamples: sizes.test,
        k: o.k,
        variant: o.variant,
        jitter: o.jitter,
        alpha: o.alpha,
        lambda: o.lambda,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        clip: o.clip,
        seed: o.seed,
        epochs: trained.epochs,
        steps: trained.steps,
        patience: o.patience,
        stoppedEarly: trained.stoppedEarly,
        keptEpoch: trained.keptEpoch,
        keptValidationLoss: trained.keptValidation,
        trainSeconds: trained.seconds,
        ksgSeconds,
        standardErrorMethod: 'KSG: sd of the held-out per-point terms / √N (ignores their dependence and the spread over trainings)',
        curve: trained.curve,
      },
    };
    return fittedHandle(estimate, trained.curve, split.test, ksg.terms, net, sx, sy, x.m, y.m, o);
  } catch (e) {
    net.dispose();
    throw e;
  }
}

function fittedHandle(
  estimate: MiEstimate,
  curve: LmiCurvePoint[],
  heldOutRows: Int32Array,
  heldOutPmi: Float64Array,
  net: PairedAutoencoder,
  sx: InputScaler,
  sy: InputScaler,
  mx: number,
  my: number,
  o: ResolvedLmiOptions,
): FittedLmi {
  let disposed = false;
  const encode = (x: Float64Array, y: Float64Array, n: number): LatentCodes => {
    if (disposed) throw new Error('the LMI networks were disposed');
    if (!Number.isInteger(n) || n < 1) throw new InputError(`${n} pairs: at least 1 is needed`);
    if (x.length !== n * sx.dim) throw new InputError(`x holds ${x.length} values, ${n} pairs × ${sx.dim} need ${n * sx.dim}`);
    if (y.length !== n * sy.dim) throw new InputError(`y holds ${y.length} values, ${n} pairs × ${sy.dim} need ${n * sy.dim}`);
    return codesOf(net, { n, dx: sx.dim, dy: sy.dim, x: sx.apply(x), y: sy.apply(y) }, mx, my);
  };
  return {
    estimate,
    curve,
    heldOutRows,
    heldOutPmi,
    encode,
    pointwiseMi: (x, y, n) => {
      if (Number.isInteger(n) && n <= o.k) throw new InputError(`${n} pairs with k = ${o.k}: pointwise KSG needs more pairs than neighbours (n > k)`);
      return ksgOnCodes(encode(x, y, n), o).terms;
    },
    dispose() {
      if (!disposed) net.dispose();
      disposed = true;
    },
  };
}
