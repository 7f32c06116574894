/**
 * Critics f(x, y) for the variational bounds, as plain tfjs variables and functions (tfjs-core
 * has no layers): the estimators need one K×K score matrix per minibatch.
 *
 *  - separable (Poole et al. 2019): f(x, y) = g(x)·h(y)/√E + c, g and h encoders to R^E, c a
 *    scalar. The whole score matrix is one K×E by E×K matmul, so its cost grows as K·(encoder)
 *    + K²·E, which is cheap on a CPU. The 1/√E keeps the initial scores O(1) whatever E; c is
 *    the constant NWJ's optimum (1 + log-density ratio) needs and the other bounds ignore.
 *  - concat: f(x, y) = MLP([x, y]); more general (any function of the pair) but the K²
 *    pairs each go through the MLP, so only for low-dimensional features.
 *
 * Encoders: an MLP (hidden ReLU layers of equal width, then a linear map to E) on features, or
 * a small CNN on images: a side of k·3072 values is read as k stacked CHW 3×32×32 images
 * (3k channels), transposed to NHWC for tfjs, then stride-2 3×3 'same' convolutions with ReLU
 * (32² → 16² → 8² → 4² pixels with three), flattened, a hidden dense ReLU layer and a linear
 * map to E.
 *
 * Initial weights: He-normal (sd √(2/fan-in), truncated at 2 sd) before a ReLU, LeCun-normal
 * (sd √(1/fan-in)) for the last linear map, biases 0; each tensor seeded from the
 * package's mulberry32 stream, so a seed fixes the critic.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';
import { IMAGE_VALUES, type CriticKind, type EncoderKind } from './options.js';

/** Maps n input rows (n×inputDim) to n output rows (n×outputDim). */
export interface Encoder {
  readonly inputDim: number;
  readonly outputDim: number;
  readonly variables: tf.Variable[];
  readonly description: string;
  apply(input: tf.Tensor2D): tf.Tensor2D;
}

/**
 * A critic split into an encoding of each side and a score from the encodings, so that
 * embeddings are computed once per sample and reused across a score matrix. For the concat
 * critic the encodings are the inputs themselves.
 */
export interface Critic {
  readonly kind: CriticKind;
  readonly variables: tf.Variable[];
  readonly description: string;
  encodeX(x: tf.Tensor2D): tf.Tensor2D;
  encodeY(y: tf.Tensor2D): tf.Tensor2D;
  /** The a×b matrix f(x_i, y_j) from the encodings of a rows of x and b rows of y. */
  scores(ex: tf.Tensor2D, ey: tf.Tensor2D): tf.Tensor2D;
  /** f(x_i, y_i) from the encodings of equally many rows of x and y. */
  pairs(ex: tf.Tensor2D, ey: tf.Tensor2D): tf.Tensor1D;
}

export interface CriticSpec {
  kind: CriticKind;
  dx: number;
  dy: number;
  xEncoder: EncoderKind;
  yEncoder: EncoderKind;
  hidden: number;
  layers: number;
  embedding: number;
  channels: readonly number[];
  seed: number;
}

/** Draws 31-bit seeds for tfjs's initialisers from one mulberry32 stream. */
type Seeds = () => number;

function normalWeights(shape: number[], sd: number, seeds: Seeds): tf.Variable {
  return tf.tidy(() => tf.variable(tf.truncatedNormal(shape, 0, sd, 'float32', seeds())));
}

const zeros = (shape: number[]): tf.Variable => tf.tidy(() => tf.variable(tf.zeros(shape)));

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

/** A dense layer: He-normal before a ReLU, LeCun-normal for a last linear map. */
function dense(inDim: number, outDim: number, relu: boolean, seeds: Seeds): Dense {
  const sd = Math.sqrt((relu ? 2 : 1) / inDim);
  return { w: normalWeights([inDim, outDim], sd, seeds), b: zeros([outDim]) };
}

const applyDense = (layer: Dense, x: tf.Tensor2D): tf.Tensor2D => tf.add(tf.matMul(x, layer.w), layer.b);

/** The dense layers of a ReLU MLP: `layers` hidden layers of width `hidden`, then linear to `outputDim` (drawn in that order). */
function mlpLayers(inputDim: number, hidden: number, layers: number, outputDim: number, seeds: Seeds): { stack: Dense[]; last: Dense } {
  const stack: Dense[] = [];
  let width = inputDim;
  for (let l = 0; l < layers; l++) {
    stack.push(dense(width, hidden, true, seeds));
    width = hidden;
  }
  return { stack, last: dense(width, outputDim, false, seeds) };
}

const mlpVariables = ({ stack, last }: { stack: Dense[]; last: Dense }): tf.Variable[] => [...stack.flatMap((l) => [l.w, l.b]), last.w, last.b];

/** The MLP's hidden layers from `from` on and its last linear map, on hidden activations h. */
function mlpRest(stack: Dense[], last: Dense, h: tf.Tensor2D, from: number): tf.Tensor2D {
  for (const l of stack.slice(from)) h = tf.relu(applyDense(l, h));
  return applyDense(last, h);
}

/** ReLU MLP: `layers` hidden layers of width `hidden`, then linear to `outputDim`. */
export function mlpEncoder(inputDim: number, hidden: number, layers: number, outputDim: number, seeds: Seeds): Encoder {
  const { stack, last } = mlpLayers(inputDim, hidden, layers, outputDim, seeds);
  return {
    inputDim,
    outputDim,
    variables: mlpVariables({ stack, last }),
    description: `mlp ${[inputDim, ...stack.map(() => hidden), outputDim].join('→')}`,
    apply: (input) => tf.tidy(() => mlpRest(stack, last, input, 0)),
  };
}

/** NHWC images from rows of k stacked CHW 3×32×32 images. */
export function rowsToImages(rows: tf.Tensor2D): tf.Tensor4D {
  const [n, d] = rows.shape;
  const channels = d / 1024;
  return tf.tidy(() => tf.transpose(tf.reshape(rows, [n, channels, 32, 32]), [0, 2, 3, 1]));
}

/** Small CNN on k stacked 3×32×32 images: stride-2 3×3 convolutions (ReLU), a hidden dense ReLU layer, linear to `outputDim`. */
export function cnnEncoder(inputDim: number, channels: readonly number[], hidden: number, outputDim: number, seeds: Seeds): Encoder {
  if (inputDim % IMAGE_VALUES !== 0) throw new RangeError(`a CNN encoder reads multiples of ${IMAGE_VALUES} values, got ${inputDim}`);
  const convs: { w: tf.Variable; b: tf.Variable }[] = [];
  let inChannels = inputDim / 1024;
  let side = 32;
  for (const c of channels) {
    convs.push({ w: normalWeights([3, 3, inChannels, c], Math.sqrt(2 / (9 * inChannels)), seeds), b: zeros([c]) });
    inChannels = c;
    side = Math.ceil(side / 2);
  }
  const flat = side * side * inChannels;
  const hiddenLayer = dense(flat, hidden, true, seeds);
  const last = dense(hidden, outputDim, false, seeds);
  return {
    inputDim,
    outputDim,
    variables: [...convs.flatMap((c) => [c.w, c.b]), hiddenLayer.w, hiddenLayer.b, last.w, last.b],
    description: `cnn ${inputDim / 1024}×32×32 → conv3×3/2 [${channels.join(', ')}] → ${side}×${side}×${inChannels} → ${hidden} → ${outputDim}`,
    apply: (input) =>
      tf.tidy(() => {
        let h: tf.Tensor4D = rowsToImages(input);
        for (const c of convs) h = tf.relu(tf.add<tf.Tensor4D>(tf.conv2d(h, c.w as tf.Tensor4D, 2, 'same'), c.b));
        const f = tf.reshape(h, [input.shape[0], flat]) as tf.Tensor2D;
        return applyDense(last, tf.relu(applyDense(hiddenLayer, f)));
      }),
  };
}

function encoder(kind: EncoderKind, inputDim: number, spec: CriticSpec, seeds: Seeds): Encoder {
  return kind === 'cnn'
    ? cnnEncoder(inputDim, spec.channels, spec.hidden, spec.embedding, seeds)
    : mlpEncoder(inputDim, spec.hidden, spec.layers, spec.embedding, seeds);
}

/** f(x, y) = g(x)·h(y)/√E + c. */
function separableCritic(spec: CriticSpec, seeds: Seeds): Critic {
  const g = encoder(spec.xEncoder, spec.dx, spec, seeds);
  const h = encoder(spec.yEncoder, spec.dy, spec, seeds);
  const c = zeros([]);
  const scale = 1 / Math.sqrt(spec.embedding);
  return {
    kind: 'separable',
    variables: [...g.variables, ...h.variables, c],
    description: `separable g(x)·h(y)/√${spec.embedding} + c; g: ${g.description}; h: ${h.description}`,
    encodeX: (x) => g.apply(x),
    encodeY: (y) => h.apply(y),
    scores: (ex, ey) => tf.tidy(() => tf.add(tf.mul(tf.matMul(ex, ey, false, true), scale), c)),
    pairs: (ex, ey) => tf.tidy(() => tf.add(tf.mul(tf.sum(tf.mul(ex, ey), 1), scale), c)),
  };
}

/** f(x, y) = MLP([x, y]) → R. */
/**
 * The concat critic's score matrix without forming the a·b concatenated rows: the first layer
 * is linear in [x, y], W·[x_i; y_j] + b = W_x x_i + (W_y y_j + b), so it costs (a + b)·(dx + dy)·H
 * for the two products and a·b·H for their sums, instead of a·b·(dx + dy)·H. The same function
 * up to float rounding; with image-sized sides (the paper's fork: 2·3072 inputs, K = 64) the
 * first layer was nearly all of a step.
 */
function concatCritic(spec: CriticSpec, seeds: Seeds): Critic {
  const { stack, last } = mlpLayers(spec.dx + spec.dy, spec.hidden, spec.layers, 1, seeds);
  const whole = (input: tf.Tensor2D) => mlpRest(stack, last, input, 0);
  return {
    kind: 'concat',
    variables: mlpVariables({ stack, last }),
    description: `concat mlp ${[spec.dx + spec.dy, ...stack.map(() => spec.hidden), 1].join('→')}`,
    encodeX: (x) => x,
    encodeY: (y) => y,
    scores: (ex, ey) =>
      tf.tidy(() => {
        const a = ex.shape[0];
        const b = ey.shape[0];
        if (stack.length === 0) {
          // no hidden layer: the score is linear, f = w_x·x_i + w_y·y_j + b
          const xs = tf.matMul(ex, tf.slice(last.w, [0, 0], [spec.dx, 1]));
          const ys = tf.add(tf.matMul(ey, tf.slice(last.w, [spec.dx, 0], [spec.dy, 1])), last.b);
          return tf.add(xs, tf.reshape(ys, [1, b])) as tf.Tensor2D;
        }
        const first = stack[0];
        const xs = tf.matMul(ex, tf.slice(first.w, [0, 0], [spec.dx, spec.hidden]));
        const ys = tf.add(tf.matMul(ey, tf.slice(first.w, [spec.dx, 0], [spec.dy, spec.hidden])), first.b);
        // row i·b + j holds the first layer's output for [x_i, y_j]
        const h = tf.reshape(tf.relu(tf.add(tf.expandDims(xs, 1), tf.expandDims(ys, 0))), [a * b, spec.hidden]) as tf.Tensor2D;
        return tf.reshape<tf.Rank.R2>(mlpRest(stack, last, h, 1), [a, b]);
      }),
    pairs: (ex, ey) => tf.tidy(() => tf.reshape<tf.Rank.R1>(whole(tf.concat2d([ex, ey], 1)), [ex.shape[0]])),
  };
}

/** A freshly initialised critic (its variables belong to the caller: {@link disposeCritic}). */
export function makeCritic(spec: CriticSpec): Critic {
  const random = mulberry32(spec.seed ^ 0x0c717c);
  const seeds: Seeds = () => Math.floor(random() * 2 ** 31);
  return spec.kind === 'concat' ? concatCritic(spec, seeds) : separableCritic(spec, seeds);
}

/** The K×K score matrix S_ij = f(x_i, y_j) of a batch. */
export function scoreMatrix(critic: Critic, x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => critic.scores(critic.encodeX(x), critic.encodeY(y)));
}

/** Number of trainable values. */
export function parameterCount(critic: Critic): number {
  return critic.variables.reduce((s, v) => s + v.size, 0);
}

export function disposeCritic(critic: Critic): void {
  for (const v of critic.variables) v.dispose();
}
