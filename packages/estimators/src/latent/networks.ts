/**
 * LMI's paired autoencoders with cross-predictive regularisation (Gowri et al. 2024, the
 * `AECross` model of their code), as plain tfjs variables and functions:
 *
 *   encoders   z_x = E_x(x) ∈ R^{m_x},  z_y = E_y(y) ∈ R^{m_y}
 *   decoders   x̂ = D_xx(z_x), ŷ = D_yy(z_y)          (each side reconstructs itself)
 *              x̃ = D_yx(z_y), ỹ = D_xy(z_x)          (each side predicts the other from its code)
 *   loss       α·[mse(x̂, x) + mse(ŷ, y)] + λ·[mse(x̃, x) + mse(ỹ, y)]
 *
 * mse is the mean over the batch's rows and the side's values. The self-reconstruction terms
 * keep each code informative about its own side; the cross terms make each code keep what
 * predicts the other side, the shared information that the MI is about, which a plain
 * autoencoder of a small code may drop in favour of a side's own variance.
 *
 * Architecture (theirs): an encoder of a side of d values is d → L → L/2 → L/4 → m with a
 * LeakyReLU of slope 0.2 after every layer, the code's included (`codeActivation: 'linear'`
 * drops that last one: see ./options.ts for why one may want to); a decoder mirrors it,
 * m → L/4 → L/2 → L → d, LeakyReLU after each layer but the last, which is linear. A decoder
 * that outputs side s uses side s's widths (the cross decoder D_yx has x's widths on y's code).
 * Weights Xavier-uniform, U(±√(6/(fan_in + fan_out))), biases 0, each tensor seeded from the
 * package's mulberry32 stream. L per side: see ./options.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';
import type { CodeActivation } from './options.js';

/** LeakyReLU's negative slope in the authors' code. */
export const LEAKY_SLOPE = 0.2;

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
  /** LeakyReLU after this layer. */
  leaky: boolean;
}

/** An MLP of dense layers, as weights and a function. */
interface Mlp {
  readonly layers: Dense[];
  readonly widths: number[];
  apply(input: tf.Tensor2D): tf.Tensor2D;
}

/** One side's shape: d values, code of m, first hidden width L. */
export interface SideShape {
  d: number;
  m: number;
  hidden: number;
}

export interface PairedAutoencoderSpec {
  x: SideShape;
  y: SideShape;
  alpha: number;
  lambda: number;
  /** The code layer's activation: 'leaky' (the authors') or 'linear'. */
  codeActivation: CodeActivation;
  seed: number;
}

/** The six networks: two encoders, two self decoders, two cross decoders (variables belong to the caller: `dispose`). */
export interface PairedAutoencoder {
  readonly variables: tf.Variable[];
  readonly description: string;
  readonly parameters: number;
  encodeX(x: tf.Tensor2D): tf.Tensor2D;
  encodeY(y: tf.Tensor2D): tf.Tensor2D;
  /** α·(self-reconstruction) + λ·(cross-prediction), a scalar, for a batch of paired rows. */
  loss(x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar;
  dispose(): void;
}

type Seeds = () => number;

function xavierDense(inDim: number, outDim: number, leaky: boolean, seeds: Seeds): Dense {
  const limit = Math.sqrt(6 / (inDim + outDim));
  const w = tf.tidy(() => tf.variable(tf.randomUniform([inDim, outDim], -limit, limit, 'float32', seeds())));
  const b = tf.tidy(() => tf.variable(tf.zeros([outDim])));
  return { w, b, leaky };
}

/** Dense layers through `widths` (input first); LeakyReLU after each layer, or after all but the last when `linearLast`. */
function mlp(widths: number[], linearLast: boolean, seeds: Seeds): Mlp {
  const layers: Dense[] = [];
  for (let l = 0; l + 1 < widths.length; l++) layers.push(xavierDense(widths[l], widths[l + 1], !(linearLast && l + 2 === widths.length), seeds));
  return {
    layers,
    widths,
    apply: (input) =>
      tf.tidy(() => {
        let h = input;
        for (const layer of layers) {
          h = tf.add(tf.matMul(h, layer.w), layer.b);
          if (layer.leaky) h = tf.leakyRelu(h, LEAKY_SLOPE);
        }
        return h;
      }),
  };
}

/** Hidden widths L, ⌊L/2⌋, ⌊L/4⌋ (each at least 1). */
const hiddenWidths = (s: SideShape): number[] => [s.hidden, Math.max(1, Math.floor(s.hidden / 2)), Math.max(1, Math.floor(s.hidden / 4))];

const encoderWidths = (s: SideShape): number[] => [s.d, ...hiddenWidths(s), s.m];
/** A decoder from a code of m values to side s. */
const decoderWidths = (m: number, s: SideShape): number[] => [m, ...[...hiddenWidths(s)].reverse(), s.d];

const meanSquaredError = (prediction: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar => tf.mean(tf.squaredDifference(prediction, target));

/** Freshly initialised networks for the spec (seeded). */
export function makePairedAutoencoder(spec: PairedAutoencoderSpec): PairedAutoencoder {
  const random = mulberry32(spec.seed ^ 0x1a7e47);
  const seeds: Seeds = () => Math.floor(random() * 2 ** 31);
  const { x, y, alpha, lambda } = spec;
  const linearCode = spec.codeActivation === 'linear';
  const encoderX = mlp(encoderWidths(x), linearCode, seeds);
  const encoderY = mlp(encoderWidths(y), linearCode, seeds);
  const decoderXX = mlp(decoderWidths(x.m, x), true, seeds);
  const decoderYY = mlp(decoderWidths(y.m, y), true, seeds);
  const decoderYX = mlp(decoderWidths(y.m, x), true, seeds);
  const decoderXY = mlp(decoderWidths(x.m, y), true, seeds);
  const all = [encoderX, encoderY, decoderXX, decoderYY, decoderYX, decoderXY];
  const variables = all.flatMap((n) => n.layers.flatMap((l) => [l.w, l.b]));
  const parameters = variables.reduce((s, v) => s + v.size, 0);
  const arrow = (n: Mlp) => n.widths.join('→');
  return {
    variables,
    parameters,
    description:
      `paired autoencoders (LeakyReLU ${LEAKY_SLOPE}, ${spec.codeActivation} code), loss ${alpha}·self + ${lambda}·cross; ` +
      `encoders x: ${arrow(encoderX)}, y: ${arrow(encoderY)}; decoders xx: ${arrow(decoderXX)}, yy: ${arrow(decoderYY)}, ` +
      `yx: ${arrow(decoderYX)}, xy: ${arrow(decoderXY)}`,
    encodeX: (input) => encoderX.apply(input),
    encodeY: (input) => encoderY.apply(input),
    loss: (xs, ys) =>
      tf.tidy(() => {
        const zx = encoderX.apply(xs);
        const zy = encoderY.apply(ys);
        const self = tf.add(meanSquaredError(decoderXX.apply(zx), xs), meanSquaredError(decoderYY.apply(zy), ys));
        const cross = tf.add(meanSquaredError(decoderYX.apply(zy), xs), meanSquaredError(decoderXY.apply(zx), ys));
        return tf.add(tf.mul(self, alpha), tf.mul(cross, lambda)) as tf.Scalar;
      }),
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
