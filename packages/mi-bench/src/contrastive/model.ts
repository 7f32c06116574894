/**
 * The contrastive network: one encoder per view (each modality its own, as in CMC: the
 * modalities need not look alike) and one projection head per view, SimCLR's layout:
 *
 *   x_v ──encoder_v──▶ h_v ∈ R^R (the representation) ──head_v──▶ p_v ∈ R^E ──▶ z_v = p_v / ‖p_v‖
 *
 * The loss (./loss.ts) sees only z; the linear probe sees h, the layer below the head (as
 * SimCLR evaluates it: the head discards what the contrastive task does not need).
 *
 *  - encoder `cnn`: the estimators package's small CNN on a 3×32×32 image (stride-2 3×3
 *    convolutions with ReLU, a hidden dense ReLU layer, a linear map to R);
 *  - encoder `mlp`: its ReLU MLP on a feature vector (pixels, PCA or the latents), for data
 *    that are not 32×32 images (the tests' d = 16) or to compare with the CNN;
 *  - head: Linear(R → R) · ReLU · Linear(R → E), SimCLR's two-layer head.
 *
 * All weights are seeded from one mulberry32 stream (He/LeCun-normal initialisation, from the
 * estimators package), so a seed fixes the network.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cnnEncoder, mlpEncoder, mulberry32, type Encoder } from '@mmmi/estimators';
import { normaliseRows } from './loss.js';

export type EncoderKind = 'cnn' | 'mlp';

export interface NetworkSpec {
  /** Input values per draw of each view. */
  inputDims: readonly number[];
  encoder: EncoderKind;
  /** Width of the MLP's hidden layers, and of the CNN's hidden dense layer. */
  hidden: number;
  /** Hidden layers of an MLP encoder. */
  layers: number;
  /** Output channels of the CNN's stride-2 convolutions. */
  channels: readonly number[];
  /** R: the representation's size. */
  representation: number;
  /** E: the projection's size. */
  projection: number;
  seed: number;
}

export interface ContrastiveNetwork {
  readonly views: number;
  readonly variables: tf.Variable[];
  readonly description: string;
  /** h_v for rows of view v (n × inputDims[v] → n × R). */
  represent(v: number, x: tf.Tensor2D): tf.Tensor2D;
  /** z_v: the unit-norm projection of rows of view v (n × E). */
  project(v: number, x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export function makeNetwork(spec: NetworkSpec): ContrastiveNetwork {
  const random = mulberry32((spec.seed ^ 0xc0417a57) >>> 0);
  const seeds = () => Math.floor(random() * 2 ** 31);
  const encoders: Encoder[] = [];
  const heads: Encoder[] = [];
  for (const dim of spec.inputDims) {
    encoders.push(
      spec.encoder === 'cnn'
        ? cnnEncoder(dim, spec.channels, spec.hidden, spec.representation, seeds)
        : mlpEncoder(dim, spec.hidden, spec.layers, spec.representation, seeds),
    );
    heads.push(mlpEncoder(spec.representation, spec.representation, 1, spec.projection, seeds));
  }
  const variables = [...encoders.flatMap((e) => e.variables), ...heads.flatMap((h) => h.variables)];
  let disposed = false;
  return {
    views: spec.inputDims.length,
    variables,
    description: encoders.map((e, v) => `view ${v + 1}: ${e.description}; head ${heads[v].description}`).join(' | '),
    represent: (v, x) => encoders[v].apply(x),
    project: (v, x) => tf.tidy(() => normaliseRows(heads[v].apply(encoders[v].apply(x)))),
    dispose() {
      if (!disposed) variables.forEach((w) => w.dispose());
      disposed = true;
    },
  };
}
