/**
 * The MIENF model: a flow per side and the tridiagonal Gaussian base (./base.ts), which
 * together define a joint density of the (standardised) pair,
 *
 *   log p(x, y) = log q(f_x(x), f_y(y)) + log|det ∂f_x/∂x| + log|det ∂f_y/∂y|,
 *
 * trained by maximum likelihood. Since f_x and f_y are invertible maps of one side each,
 * I(X; Y) = I(f_x(X); f_y(Y)) (mutual information is invariant under them, the fact Butakov et
 * al. 2024 build on), and the model's pointwise mutual information
 *
 *   log p(x, y) − log p(x) − log p(y) = pmi_base(f_x(x), f_y(y))
 *
 * is exactly the base's: the model's marginals are p(x) = N(f_x(x); 0, I)·|det ∂f_x/∂x| (the
 * base's marginals are standard normal), so both log-determinants cancel.
 *
 * All parameters live in one variable (./parameters.ts), unpacked once per call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';
import { correlationsOf, tridiagonalBase, tridiagonalMiOf, type TridiagonalBase } from './base.js';
import { makeSideFlow, type SideFlow } from './flow.js';
import { ParameterPack } from './parameters.js';

export interface MienfModelSpec {
  dx: number;
  dy: number;
  blocks: number;
  hidden: number;
  layers: number;
  seed: number;
  /** Where the base's correlations start (default 0). */
  initialRho?: ArrayLike<number>;
}

export interface MienfModel {
  readonly flowX: SideFlow;
  readonly flowY: SideFlow;
  readonly base: TridiagonalBase;
  /** The one trainable variable. */
  readonly variables: tf.Variable[];
  readonly parameterCount: number;
  readonly description: string;
  /** log p(x_i, y_i) of each row (standardised coordinates). */
  logLikelihood(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D;
  /** The model's pointwise MI of each row: the base's pmi of the latents. */
  pointwiseMi(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D;
  /** The latents (ξ, η) of the rows. */
  latents(x: tf.Tensor2D, y: tf.Tensor2D): { xi: tf.Tensor2D; eta: tf.Tensor2D };
  /** The base's correlations ρ_j, float64. */
  rho(): Float64Array;
  /** The base's MI −½ Σ_j log(1 − ρ_j²), float64. */
  mutualInformation(): number;
  dispose(): void;
}

/** A freshly initialised model: identity flows, ρ = `initialRho` (its variable belongs to the caller: dispose()). */
export function makeMienfModel(spec: MienfModelSpec): MienfModel {
  const random = mulberry32(spec.seed ^ 0xf10a);
  const flowX = makeSideFlow({ dim: spec.dx, blocks: spec.blocks, hidden: spec.hidden, layers: spec.layers }, random);
  const flowY = makeSideFlow({ dim: spec.dy, blocks: spec.blocks, hidden: spec.hidden, layers: spec.layers }, random);
  const base = tridiagonalBase(spec.dx, spec.dy, spec.initialRho);
  const pack = new ParameterPack([...flowX.parameters, ...flowY.parameters, ...base.parameters]);
  const nx = flowX.parameters.length;
  const ny = flowY.parameters.length;
  /** The parameters of each part, as tensors (inside the caller's tidy). */
  const parts = () => {
    const p = pack.unpack();
    return { px: p.slice(0, nx), py: p.slice(nx, nx + ny), pb: p.slice(nx + ny) };
  };
  /** The base's parameter a (ρ = tanh a), read to the host. */
  const readAtanhRho = (): Float32Array => {
    const a = tf.tidy(() => tf.slice(pack.variable, [pack.size - base.pairs], [base.pairs]));
    const values = a.dataSync() as Float32Array;
    a.dispose();
    return values;
  };
  return {
    flowX,
    flowY,
    base,
    variables: [pack.variable],
    parameterCount: pack.size,
    description: `x: ${flowX.description}; y: ${flowY.description}; base: tridiagonal Gaussian, ${base.pairs} correlated pair${base.pairs === 1 ? '' : 's'}`,
    logLikelihood: (x, y) =>
      tf.tidy(() => {
        const { px, py, pb } = parts();
        const fx = flowX.forward(x, px);
        const fy = flowY.forward(y, py);
        return tf.add(tf.add(base.logDensity(fx.z, fy.z, pb), fx.logDet), fy.logDet) as tf.Tensor1D;
      }),
    pointwiseMi: (x, y) =>
      tf.tidy(() => {
        const { px, py, pb } = parts();
        return base.pointwiseMi(flowX.forward(x, px).z, flowY.forward(y, py).z, pb);
      }),
    latents: (x, y) =>
      tf.tidy(() => {
        const { px, py } = parts();
        return { xi: flowX.forward(x, px).z, eta: flowY.forward(y, py).z };
      }),
    rho: () => correlationsOf(readAtanhRho()),
    mutualInformation: () => tridiagonalMiOf(readAtanhRho()),
    dispose: () => pack.dispose(),
  };
}
