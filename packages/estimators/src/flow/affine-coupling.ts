/**
 * The affine coupling layer of RealNVP (Dinh, Sohl-Dickstein, Bengio 2017). The coordinates
 * are split into a half a that passes through and a half b that is scaled and shifted by
 * functions of a:
 *
 *   z_a = x_a,   z_b = x_b ⊙ e^{s(x_a)} + t(x_a),   log|det ∂z/∂x| = Σ_j s_j(x_a),
 *   x_a = z_a,   x_b = (z_b − t(z_a)) ⊙ e^{−s(z_a)}            (the inverse, exact),
 *
 * because the Jacobian is block-triangular with diagonal (1, …, 1, e^{s_1}, …). s and t come
 * from one small MLP (the conditioner: tanh hidden layers, a linear output of 2·|b| values).
 *
 * Choices, and why:
 *  - the conditioner's output layer starts at zero, so the layer starts as the identity and
 *    the flow starts where the standardised data are (RealNVP/Glow practice);
 *  - s = c·tanh(raw/c) with c = 2: each layer scales by at most e^{±2}, so early steps cannot
 *    blow a coordinate up (unbounded s makes training of small flows diverge now and then);
 *  - tanh hidden units rather than ReLU: the density, and so the pointwise MI read from it,
 *    stays smooth in x;
 *  - which half passes alternates from layer to layer (`passFirst`), and the LU layers between
 *    (./lu-linear.ts) permute and mix, so every coordinate is transformed.
 *
 * Needs dim ≥ 2 (a one-dimensional side gets no couplings; ./flow.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { constantParameter, truncatedNormalParameter, type FlowLayer, type LayerOutput, type ParameterSpec, type Uniforms } from './layer.js';

/** Bound c of the log-scale, s = c·tanh(raw/c). */
export const LOG_SCALE_BOUND = 2;

export interface CouplingSpec {
  dim: number;
  /** Width of the conditioner's hidden layers. */
  hidden: number;
  /** Hidden layers of the conditioner (≥ 1). */
  layers: number;
  /** Whether the first ⌊dim/2⌋ coordinates pass through (else the last ⌊dim/2⌋ do). */
  passFirst: boolean;
}

export function affineCoupling(spec: CouplingSpec, random: Uniforms): FlowLayer {
  const { dim, hidden, layers, passFirst } = spec;
  if (dim < 2) throw new RangeError(`an affine coupling needs at least 2 coordinates, got ${dim}`);
  const passDim = Math.floor(dim / 2);
  const changeDim = dim - passDim;
  const parameters: ParameterSpec[] = [];
  let width = passDim;
  for (let l = 0; l < layers; l++) {
    // LeCun-normal (sd √(1/fan-in)) keeps tanh units out of saturation at the start
    parameters.push(truncatedNormalParameter([width, hidden], Math.sqrt(1 / width), random), constantParameter([hidden]));
    width = hidden;
  }
  parameters.push(constantParameter([width, 2 * changeDim]), constantParameter([2 * changeDim]));
  /** [passing half, changing half] of rows, by the split of this layer. */
  const split = (v: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] => {
    const n = v.shape[0];
    return passFirst
      ? [tf.slice(v, [0, 0], [n, passDim]), tf.slice(v, [0, passDim], [n, changeDim])]
      : [tf.slice(v, [0, changeDim], [n, passDim]), tf.slice(v, [0, 0], [n, changeDim])];
  };
  const join = (pass: tf.Tensor2D, change: tf.Tensor2D): tf.Tensor2D => (passFirst ? tf.concat2d([pass, change], 1) : tf.concat2d([change, pass], 1));
  /** log-scale s and shift t from the passing half; p = [w_1, b_1, …, w_out, b_out]. */
  const conditioner = (pass: tf.Tensor2D, p: readonly tf.Tensor[]): { s: tf.Tensor2D; t: tf.Tensor2D } => {
    let h = pass;
    for (let l = 0; l < layers; l++) h = tf.tanh(tf.add(tf.matMul(h, p[2 * l] as tf.Tensor2D), p[2 * l + 1]) as tf.Tensor2D);
    const raw = tf.add(tf.matMul(h, p[2 * layers] as tf.Tensor2D), p[2 * layers + 1]) as tf.Tensor2D;
    const n = pass.shape[0];
    const s = tf.mul(tf.tanh(tf.div(tf.slice(raw, [0, 0], [n, changeDim]), LOG_SCALE_BOUND)), LOG_SCALE_BOUND) as tf.Tensor2D;
    return { s, t: tf.slice(raw, [0, changeDim], [n, changeDim]) };
  };
  return {
    kind: 'affine-coupling',
    dim,
    parameters,
    forward: (x, p): LayerOutput =>
      tf.tidy(() => {
        const [pass, change] = split(x);
        const { s, t } = conditioner(pass, p);
        return { z: join(pass, tf.add(tf.mul(change, tf.exp(s)), t)), logDet: tf.sum(s, 1) as tf.Tensor1D };
      }),
    inverse: (z, p) =>
      tf.tidy(() => {
        const [pass, change] = split(z);
        const { s, t } = conditioner(pass, p);
        return join(pass, tf.mul(tf.sub(change, t), tf.exp(tf.neg(s))));
      }),
  };
}
