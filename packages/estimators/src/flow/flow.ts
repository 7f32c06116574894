/**
 * The flow of one side, data → latent, as a stack of blocks (a RealNVP/Glow-style design at
 * the scale a CPU trains in tens of seconds):
 *
 *   block = actnorm → sinh-arcsinh → [LU linear → affine coupling]   (bracket: sides of ≥ 2 values)
 *   flow  = block × K → actnorm
 *
 * The elementwise part (actnorm, sinh-arcsinh) reshapes each coordinate's marginal; the LU map
 * rotates and mixes the coordinates (the tridiagonal base needs each side's canonical
 * directions on its axes); the coupling makes the map nonlinear across coordinates; the last
 * actnorm gives the latent its scale and location. Couplings alternate which half passes. Every
 * layer starts as the identity (the LU map as a permutation), so the untrained flow is the
 * standardised data itself.
 *
 * log|det| of the stack is the sum of its layers' (chain rule); the inverse runs the layers'
 * inverses in reverse order. A stack is itself a layer: its parameters are its layers' in order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { actNorm } from './actnorm.js';
import { affineCoupling } from './affine-coupling.js';
import type { FlowLayer, LayerOutput, Uniforms } from './layer.js';
import { luLinear } from './lu-linear.js';
import { sinhArcsinh } from './sinh-arcsinh.js';

export interface FlowSpec {
  /** Values per row. */
  dim: number;
  /** Blocks of the stack (≥ 1). */
  blocks: number;
  /** Width of the couplings' conditioner MLPs. */
  hidden: number;
  /** Hidden layers of each conditioner. */
  layers: number;
}

export interface SideFlow extends FlowLayer {
  readonly layers: readonly FlowLayer[];
  readonly description: string;
}

/** Stacks layers into one: z = g_K ∘ … ∘ g_1 (x), log|det| = Σ_k log|det g_k|. */
export function stackLayers(dim: number, layers: readonly FlowLayer[], description: string): SideFlow {
  const offsets: number[] = [];
  let at = 0;
  for (const l of layers) {
    offsets.push(at);
    at += l.parameters.length;
  }
  const of = (p: readonly tf.Tensor[], k: number) => p.slice(offsets[k], offsets[k] + layers[k].parameters.length);
  return {
    kind: 'flow',
    dim,
    layers,
    description,
    parameters: layers.flatMap((l) => l.parameters),
    forward: (x, p): LayerOutput =>
      tf.tidy(() => {
        let z = x;
        // a layer whose log-det is the same for every row gives a scalar, broadcast in the sum
        let logDet: tf.Tensor = tf.zeros([x.shape[0]]);
        layers.forEach((layer, k) => {
          const o = layer.forward(z, of(p, k));
          z = o.z;
          logDet = tf.add(logDet, o.logDet);
        });
        return { z, logDet: logDet as tf.Tensor1D };
      }),
    inverse: (z, p) =>
      tf.tidy(() => {
        let x = z;
        for (let k = layers.length - 1; k >= 0; k--) x = layers[k].inverse(x, of(p, k));
        return x;
      }),
  };
}

/** A side flow (its initial parameters drawn from `random`, the LU permutations seeded from it). */
export function makeSideFlow(spec: FlowSpec, random: Uniforms): SideFlow {
  const { dim, blocks, hidden, layers } = spec;
  const stack: FlowLayer[] = [];
  for (let k = 0; k < blocks; k++) {
    stack.push(actNorm(dim), sinhArcsinh(dim));
    if (dim >= 2) stack.push(luLinear(dim, Math.floor(random() * 2 ** 31)), affineCoupling({ dim, hidden, layers, passFirst: k % 2 === 0 }, random));
  }
  stack.push(actNorm(dim));
  const conditioner = [Math.floor(dim / 2), ...Array<number>(layers).fill(hidden), 2 * (dim - Math.floor(dim / 2))].join('→');
  const block = dim >= 2 ? `actnorm → sinh-arcsinh → LU → coupling (mlp ${conditioner}, tanh)` : 'actnorm → sinh-arcsinh';
  return stackLayers(dim, stack, `${blocks} × [${block}] → actnorm on ${dim} value${dim === 1 ? '' : 's'}`);
}
