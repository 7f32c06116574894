/**
 * A small convolutional regressor of θ from raw images, in tfjs.
 *
 * Network (NHWC, 32×32 input with 3k planes for k stacked modalities):
 *
 *   [conv 3×3, stride 2, 'same' → ReLU] × L   (channels c_1 … c_L; 32 → 32/2^L pixels a side)
 *   flatten → dense (hidden) → ReLU → dense → θ̂
 *
 * trained on standardised θ by Adam on the mean squared error, in shuffled minibatches, with
 * early stopping on a validation part of the training rows: the weights of the epoch of least
 * validation error are kept. Everything random (the split, the initial weights, each epoch's
 * order) comes from the seed, so a run is repeatable on one backend.
 *
 * Tensors: every step runs inside tf.tidy; the weights, the optimiser's moments and the kept
 * best weights are disposed by {@link CnnModel.dispose} or on failure, so a fit leaves
 * tf.memory().numTensors as it found it once its model is disposed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '@mmmi/cli-kit';
import { permutation, Rng } from '@mmmi/latents';
import { ensureTrainingBackend } from '@mmmi/estimators';
import { checkCount, checkFeatures, checkTargets, checkVaries, type FeatureArray } from './check.js';
import { fitPlaneScaling, IMAGE_SIZE, imageChannels, toNhwc, type PlaneScaling } from './image-layout.js';

export interface CnnEpoch {
  /** 1-based. */
  epoch: number;
  /** Mean of the epoch's minibatch losses, in θ's units squared (the weights change during the epoch). */
  trainMse: number;
  /** MSE on the validation rows after the epoch, in θ's units squared. */
  valMse: number;
  /** Seconds since training started. */
  seconds: number;
}

export interface CnnOptions {
  /** Channels of the strided conv layers (default [16, 32, 64]: 32 → 4 pixels a side). */
  channels?: readonly number[];
  /** Units of the hidden dense layer (default 64). */
  hidden?: number;
  /** Most epochs (default 30). */
  epochs?: number;
  /** Stop after this many epochs without a better validation MSE (default 5). */
  patience?: number;
  batchSize?: number;
  /** Adam's step size (default 1e-3). */
  learningRate?: number;
  /** Share of the training rows held out for early stopping (default 0.2). */
  validationFraction?: number;
  seed?: number;
  /** A tfjs backend to select ('wasm', 'cpu', 'auto', …); default: keep an active one or take wasm ({@link ensureTrainingBackend}). */
  backend?: string;
  /** Called after every epoch. */
  onEpoch?: (point: CnnEpoch) => void;
  /** Backend decisions (default: silent). */
  log?: (message: string) => void;
}

interface Layer {
  w: tf.Variable;
  b: tf.Variable;
}

/** A trained network; holds tensors until {@link dispose}. */
export class CnnModel {
  private disposed = false;

  constructor(
    private readonly layers: Layer[],
    /** Values per input row (k·3072). */
    readonly dim: number,
    readonly channels: number,
    private readonly scaling: PlaneScaling,
    /** θ's training mean and standard deviation: the network predicts (θ − mean) / sd. */
    readonly thetaMean: number,
    readonly thetaSd: number,
    /** Per epoch, in order. */
    readonly curve: CnnEpoch[],
    /** The epoch whose weights were kept. */
    readonly bestEpoch: number,
    readonly backend: string,
    readonly trainRows: number,
    readonly validationRows: number,
  ) {}

  /** Predictions for m rows of `dim` values (m·dim values). */
  predict(x: FeatureArray, m = x.length / this.dim): Float64Array {
    if (this.disposed) throw new Error('CnnModel.predict after dispose');
    checkFeatures(x, m, this.dim, 'CNN prediction');
    const z = predictStandardised(this.layers, toNhwc(x, m, this.channels, this.scaling), m, this.channels);
    return Float64Array.from(z, (v) => this.thetaMean + this.thetaSd * v);
  }

  /** Frees the weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) {
      l.w.dispose();
      l.b.dispose();
    }
  }
}

const EVAL_BATCH = 256;

/**
 * Trains the CNN on n rows of stacked images (x: n·dim values, dim a multiple of 3072) and
 * their θ. Throws an InputError, before any work, for fewer than 10 rows, lengths that do not
 * match, a dimension that is not a multiple of 3072, non-finite values, a constant θ or bad
 * options. The caller disposes the returned model.
 */
export async function trainCnn(x: FeatureArray, theta: ArrayLike<number>, n: number, dim: number, options: CnnOptions = {}): Promise<CnnModel> {
  const channels = imageChannels(dim);
  checkCount(n, 10, 'training draws for the CNN');
  checkFeatures(x, n, dim, 'CNN training');
  checkTargets(theta, n, 'training θ');
  checkVaries(theta, 'training θ');
  const o = settings(options);

  const backend = await ensureTrainingBackend(options.backend, options.log);
  const seed = o.seed;
  // split: a seeded permutation, its last share held out
  const split = new Rng(seed, 1);
  const order = permutation(n, () => split.uniform());
  const nVal = Math.max(2, Math.round(o.validationFraction * n));
  const fitRows = order.subarray(0, n - nVal);
  const valRows = order.subarray(n - nVal);
  const scaling = fitPlaneScaling(x, n, channels);
  const images = toNhwc(x, n, channels, scaling);
  let mean = 0;
  for (const i of fitRows) mean += theta[i];
  mean /= fitRows.length;
  let sd = 0;
  for (const i of fitRows) sd += (theta[i] - mean) ** 2;
  sd = Math.sqrt(sd / fitRows.length) || 1;
  const target = Float32Array.from({ length: n }, (_, i) => (theta[i] - mean) / sd);

  const layers = initialLayers(channels, o.channels, o.hidden, new Rng(seed, 0));
  const optimizer = tf.train.adam(o.learningRate);
  let best: tf.Tensor[] | null = null;
  try {
    const curve: CnnEpoch[] = [];
    const started = performance.now();
    let bestVal = Infinity;
    let bestEpoch = 0;
    const pixels = IMAGE_SIZE * IMAGE_SIZE * channels;
    const variables = layers.flatMap((l) => [l.w, l.b]);
    const valImages = gatherRows(images, valRows, pixels);
    const valTarget = Float64Array.from(valRows, (i) => target[i]);
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const draws = new Rng(seed, 1 + epoch);
      const shuffled = permutation(fitRows.length, () => draws.uniform()).map((k) => fitRows[k]);
      let lossSum = 0;
      let rows = 0;
      for (let s = 0; s < shuffled.length; s += o.batchSize) {
        const batch = shuffled.subarray(s, Math.min(s + o.batchSize, shuffled.length));
        const xb = gatherRows(images, batch, pixels);
        const yb = Float32Array.from(batch, (i) => target[i]);
        const cost = tf.tidy(() => {
          const xt = tf.tensor4d(xb, [batch.length, IMAGE_SIZE, IMAGE_SIZE, channels]);
          const yt = tf.tensor1d(yb);
          return optimizer.minimize(() => tf.mean(tf.squaredDifference(forward(layers, xt), yt)) as tf.Scalar, true, variables)!;
        });
        const [value] = await cost.data();
        cost.dispose();
        lossSum += value * batch.length;
        rows += batch.length;
      }
      const pred = predictStandardised(layers, valImages, valRows.length, channels);
      let valSse = 0;
      for (let k = 0; k < pred.length; k++) valSse += (pred[k] - valTarget[k]) ** 2;
      const point: CnnEpoch = {
        epoch,
        trainMse: (lossSum / rows) * sd * sd,
        valMse: (valSse / pred.length) * sd * sd,
        seconds: (performance.now() - started) / 1000,
      };
      curve.push(point);
      options.onEpoch?.(point);
      if (!(Number.isFinite(point.trainMse) && Number.isFinite(point.valMse))) break; // diverged: keep the best so far
      if (point.valMse < bestVal) {
        bestVal = point.valMse;
        bestEpoch = epoch;
        best?.forEach((t) => t.dispose());
        best = variables.map((v) => v.clone());
      } else if (epoch - bestEpoch >= o.patience) break;
    }
    if (best) variables.forEach((v, k) => v.assign(best![k]));
    return new CnnModel(layers, dim, channels, scaling, mean, sd, curve, bestEpoch, backend, fitRows.length, valRows.length);
  } catch (e) {
    for (const l of layers) {
      l.w.dispose();
      l.b.dispose();
    }
    throw e;
  } finally {
    best?.forEach((t) => t.dispose());
    optimizer.dispose();
  }
}

type Settings = Required<Omit<CnnOptions, 'backend' | 'onEpoch' | 'log'>>;

function settings(options: CnnOptions): Settings {
  const s: Settings = {
    channels: options.channels ?? [16, 32, 64],
    hidden: options.hidden ?? 64,
    epochs: options.epochs ?? 30,
    patience: options.patience ?? 5,
    batchSize: options.batchSize ?? 64,
    learningRate: options.learningRate ?? 1e-3,
    validationFraction: options.validationFraction ?? 0.2,
    seed: options.seed ?? 0,
  };
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (s.channels.length < 1 || s.channels.length > 5 || !s.channels.every(positiveInt)) {
    throw new InputError(`CNN channels [${s.channels.join(', ')}]: 1 to 5 conv layers (32 pixels halve each time), each a positive integer`);
  }
  for (const key of ['hidden', 'epochs', 'patience', 'batchSize'] as const) {
    if (!positiveInt(s[key])) throw new InputError(`CNN ${key} = ${s[key]}: must be a positive integer`);
  }
  if (!(s.learningRate > 0 && Number.isFinite(s.learningRate))) throw new InputError(`CNN learning rate ${s.learningRate}: must be positive`);
  if (!(s.validationFraction > 0 && s.validationFraction < 1))
    throw new InputError(`CNN validation fraction ${s.validationFraction}: must lie strictly between 0 and 1`);
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) throw new InputError(`CNN seed ${s.seed}: must be a non-negative integer`);
  return s;
}

/** He-normal weights (std √(2 / fan-in), for ReLU layers; √(1 / fan-in) for the linear output), zero biases. */
function initialLayers(inChannels: number, convChannels: readonly number[], hidden: number, rng: Rng): Layer[] {
  const layer = (shape: number[], fanIn: number, gain: number, out: number): Layer => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    rng.fillNormal(values);
    const std = Math.sqrt(gain / fanIn);
    for (let i = 0; i < values.length; i++) values[i] *= std;
    // inside tidy: the initial-value tensors go, the variables (never tracked by tidy) stay
    return tf.tidy(() => ({ w: tf.variable(tf.tensor(values, shape)), b: tf.variable(tf.zeros([out])) }));
  };
  const layers: Layer[] = [];
  let cin = inChannels;
  for (const cout of convChannels) {
    layers.push(layer([3, 3, cin, cout], 9 * cin, 2, cout));
    cin = cout;
  }
  const side = IMAGE_SIZE / 2 ** convChannels.length;
  const flat = Math.max(1, Math.round(side)) ** 2 * cin;
  layers.push(layer([flat, hidden], flat, 2, hidden));
  layers.push(layer([hidden, 1], hidden, 1, 1));
  return layers;
}

function forward(layers: Layer[], x: tf.Tensor4D): tf.Tensor1D {
  const convs = layers.length - 2;
  let h: tf.Tensor4D = x;
  for (let i = 0; i < convs; i++) h = tf.relu(tf.add(tf.conv2d(h, layers[i].w as tf.Tensor4D, 2, 'same'), layers[i].b)) as tf.Tensor4D;
  const flat = tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D;
  const hidden = tf.relu(tf.add(tf.matMul(flat, layers[convs].w as tf.Tensor2D), layers[convs].b)) as tf.Tensor2D;
  return tf.reshape(tf.add(tf.matMul(hidden, layers[convs + 1].w as tf.Tensor2D), layers[convs + 1].b), [-1]);
}

/** Network outputs (standardised θ) for m NHWC rows, in batches. */
function predictStandardised(layers: Layer[], images: Float32Array, m: number, channels: number): Float32Array {
  const pixels = IMAGE_SIZE * IMAGE_SIZE * channels;
  const out = new Float32Array(m);
  for (let s = 0; s < m; s += EVAL_BATCH) {
    const e = Math.min(s + EVAL_BATCH, m);
    const y = tf.tidy(() => forward(layers, tf.tensor4d(images.subarray(s * pixels, e * pixels), [e - s, IMAGE_SIZE, IMAGE_SIZE, channels])));
    out.set(y.dataSync(), s);
    y.dispose();
  }
  return out;
}

/** The rows `rows` of an n×pixels array, packed. */
function gatherRows(images: Float32Array, rows: ArrayLike<number>, pixels: number): Float32Array {
  const out = new Float32Array(rows.length * pixels);
  for (let k = 0; k < rows.length; k++) out.set(images.subarray(rows[k] * pixels, (rows[k] + 1) * pixels), k * pixels);
  return out;
}
