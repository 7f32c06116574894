/**
 * MINDE's one network: a noise predictor ε̂(x_λ, λ, c·y, c) of the diffused side X (d values)
 * at log-SNR λ, conditioned on the other side Y (m values) when c = 1 and on nothing when
 * c = 0, so that one network gives both scores the estimate compares,
 *
 *   conditional  ∇ log p_λ(x_λ | y) = −ε̂(x_λ, λ, y, 1)/σ,   marginal  ∇ log p_λ(x_λ) = −ε̂(x_λ, λ, 0, 0)/σ.
 *
 * (The authors' MLP marks an absent side by feeding it pure noise at the final time; a zeroed
 * side with a flag is the classifier-free-guidance way to the same amortisation, and keeps the
 * marginal score's input free of random values.)
 *
 * Layers: the input [x_λ, c·y, c, φ(λ)] with φ(λ) = (u, sin(2^k π u), cos(2^k π u), k = 0…3),
 * u = λ/10, through `layers` dense layers of `hidden` values with SiLU, then a linear layer to
 * d values. Weights Xavier-uniform, biases 0, each tensor seeded from mulberry32.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';

/** Sine and cosine pairs of the λ embedding. */
const FREQUENCIES = 4;
/** λ's scale in the embedding: the range is about ±10. */
const LAMBDA_SCALE = 10;
export const LAMBDA_FEATURES = 1 + 2 * FREQUENCIES;

export interface DenoiserSpec {
  /** Values of the diffused side. */
  d: number;
  /** Values of the conditioning side. */
  m: number;
  hidden: number;
  layers: number;
  seed: number;
}

export interface Denoiser {
  readonly variables: tf.Variable[];
  readonly description: string;
  readonly parameters: number;
  /** ε̂ for rows of x_λ (n×d), y (n×m), c (n×1 of 0 or 1) and λ (n×1). */
  predict(xt: tf.Tensor2D, y: tf.Tensor2D, c: tf.Tensor2D, lambda: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

function lambdaFeatures(lambda: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const u = tf.div(lambda, LAMBDA_SCALE);
    const parts: tf.Tensor2D[] = [u as tf.Tensor2D];
    for (let k = 0; k < FREQUENCIES; k++) {
      const a = tf.mul(u, Math.PI * 2 ** k);
      parts.push(tf.sin(a) as tf.Tensor2D, tf.cos(a) as tf.Tensor2D);
    }
    return tf.concat(parts, 1);
  });
}

export function makeDenoiser(spec: DenoiserSpec): Denoiser {
  const random = mulberry32(spec.seed ^ 0xd1ff5);
  const seed = () => Math.floor(random() * 2 ** 31);
  const widths = [spec.d + spec.m + 1 + LAMBDA_FEATURES, ...Array<number>(spec.layers).fill(spec.hidden), spec.d];
  const layers = widths.slice(1).map((out, l) => {
    const fanIn = widths[l];
    const limit = Math.sqrt(6 / (fanIn + out));
    return {
      w: tf.tidy(() => tf.variable(tf.randomUniform([fanIn, out], -limit, limit, 'float32', seed()))),
      b: tf.tidy(() => tf.variable(tf.zeros([out]))),
    };
  });
  const variables = layers.flatMap((l) => [l.w, l.b]);
  return {
    variables,
    parameters: variables.reduce((s, v) => s + v.size, 0),
    description: `noise predictor ${widths.join('→')} (SiLU; input x_λ, c·y, c and ${LAMBDA_FEATURES} features of λ)`,
    predict: (xt, y, c, lambda) =>
      tf.tidy(() => {
        let h: tf.Tensor2D = tf.concat([xt, tf.mul(y, c) as tf.Tensor2D, c, lambdaFeatures(lambda)], 1);
        layers.forEach((layer, l) => {
          h = tf.add(tf.matMul(h, layer.w), layer.b);
          if (l + 1 < layers.length) h = tf.mul(h, tf.sigmoid(h));
        });
        return h;
      }),
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
