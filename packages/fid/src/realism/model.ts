/**
 * The realism classifier: a small VGG-style CNN for 32×32 RGB images (CIFAR-10), in tfjs-core ops.
 *
 *   for each stage s (widths[s] channels):  convsPerStage × [conv3×3 (no bias) → BatchNorm → ReLU], then max-pool 2×2
 *   features = ReLU(BatchNorm(Dense_featureDim(flatten(last stage))))      the penultimate vector (FD-cls)
 *   logits   = Dense_10(features)
 *
 * Inputs are NHWC float32 in [0, 1]; the network standardises them with fixed per-channel
 * CIFAR-10 means and standard deviations (INPUT_MEAN/INPUT_STD). Parameters are named
 * `stage{s}.conv{c}.weight` (HWIO), `….bn.{gamma,beta,mean,var}`, `head.fc.weight` (in × out),
 * `head.fc.bn.*`, `head.out.weight`, `head.out.bias`. In training mode BatchNorm uses the
 * batch's statistics (and the caller updates the running ones from the returned moments); in
 * inference mode the running statistics, which {@link foldBatchNorm} folds into the weights.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface RealismArchitecture {
  /** Channels of each stage; each stage ends with a 2×2 max-pool. */
  widths: number[];
  /** 3×3 convolutions per stage. */
  convsPerStage: number;
  /** Size of the penultimate feature vector. */
  featureDim: number;
  /** Number of classes (10). */
  classes: number;
}

export const BN_EPSILON = 1e-5;
/** CIFAR-10 training-set channel means and standard deviations (of pixels in [0, 1]). */
export const INPUT_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const INPUT_STD = [0.247, 0.2435, 0.2616] as const;
export const IMAGE_SIZE = 32;

export interface ParamSpec {
  name: string;
  shape: number[];
  /** 'conv' / 'dense' weights get He-normal init; gamma/var 1; beta/mean/bias 0. */
  init: 'he' | 'one' | 'zero';
  /** Running statistics: updated by the trainer, not by the optimiser. */
  trainable: boolean;
}

function bnSpecs(prefix: string, c: number): ParamSpec[] {
  return [
    { name: `${prefix}.bn.gamma`, shape: [c], init: 'one', trainable: true },
    { name: `${prefix}.bn.beta`, shape: [c], init: 'zero', trainable: true },
    { name: `${prefix}.bn.mean`, shape: [c], init: 'zero', trainable: false },
    { name: `${prefix}.bn.var`, shape: [c], init: 'one', trainable: false },
  ];
}

/** Every parameter of the architecture, in a fixed order. */
export function parameterSpecs(arch: RealismArchitecture): ParamSpec[] {
  const specs: ParamSpec[] = [];
  let cin = 3;
  arch.widths.forEach((w, s) => {
    for (let c = 0; c < arch.convsPerStage; c++) {
      const prefix = `stage${s}.conv${c}`;
      specs.push({ name: `${prefix}.weight`, shape: [3, 3, cin, w], init: 'he', trainable: true });
      specs.push(...bnSpecs(prefix, w));
      cin = w;
    }
  });
  const side = IMAGE_SIZE >> arch.widths.length;
  const flat = side * side * cin;
  specs.push({ name: 'head.fc.weight', shape: [flat, arch.featureDim], init: 'he', trainable: true });
  specs.push(...bnSpecs('head.fc', arch.featureDim));
  specs.push({ name: 'head.out.weight', shape: [arch.featureDim, arch.classes], init: 'he', trainable: true });
  specs.push({ name: 'head.out.bias', shape: [arch.classes], init: 'zero', trainable: true });
  return specs;
}

export function parameterCount(arch: RealismArchitecture): number {
  return parameterSpecs(arch).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
}

/** Seeded initial values (He-normal for weights). */
export function initialParameters(arch: RealismArchitecture, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let k = 0;
  for (const spec of parameterSpecs(arch)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (spec.init === 'he') {
      const fanIn = spec.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const std = spec.name === 'head.out.weight' ? Math.sqrt(1 / fanIn) : Math.sqrt(2 / fanIn);
      data = tf.tidy(() => tf.randomNormal(spec.shape, 0, std, 'float32', seed + 7919 * ++k).dataSync() as Float32Array);
      data = Float32Array.from(data);
    } else {
      data = new Float32Array(n).fill(spec.init === 'one' ? 1 : 0);
    }
    out.set(spec.name, data);
  }
  return out;
}

export type ParamTensors = Record<string, tf.Tensor>;

/** BatchNorm moments of one layer in a training-mode forward pass (for the running averages). */
export interface BatchMoments {
  name: string;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function standardise(x: tf.Tensor4D): tf.Tensor4D {
  const mean = tf.tensor1d([...INPUT_MEAN]);
  const invStd = tf.tensor1d(INPUT_STD.map((s) => 1 / s));
  return tf.mul(tf.sub(x, mean), invStd);
}

function batchNorm<T extends tf.Tensor>(x: T, p: ParamTensors, prefix: string, training: boolean, axes: number[], moments: BatchMoments[]): T {
  const gamma = p[`${prefix}.bn.gamma`];
  const beta = p[`${prefix}.bn.beta`];
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (training) {
    const m = tf.moments(x, axes);
    mean = m.mean;
    variance = m.variance;
    moments.push({ name: prefix, mean: m.mean as tf.Tensor1D, variance: m.variance as tf.Tensor1D });
  } else {
    mean = p[`${prefix}.bn.mean`];
    variance = p[`${prefix}.bn.var`];
  }
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPSILON)));
  return tf.add(tf.mul(tf.sub(x, mean), scale), beta) as T;
}

export interface ForwardResult {
  features: tf.Tensor2D;
  logits: tf.Tensor2D;
  moments: BatchMoments[];
}

/**
 * The network with explicit BatchNorm (training: batch statistics; else running statistics).
 * `x`: NHWC float32 in [0, 1]. Call inside tf.tidy / variableGrads; moments are kept by the caller.
 */
export function forward(arch: RealismArchitecture, p: ParamTensors, x: tf.Tensor4D, training: boolean): ForwardResult {
  const moments: BatchMoments[] = [];
  let h = standardise(x);
  arch.widths.forEach((_w, s) => {
    for (let c = 0; c < arch.convsPerStage; c++) {
      const prefix = `stage${s}.conv${c}`;
      h = tf.conv2d(h, p[`${prefix}.weight`] as tf.Tensor4D, 1, 'same');
      h = tf.relu(batchNorm(h, p, prefix, training, [0, 1, 2], moments));
    }
    h = tf.maxPool(h, 2, 2, 'valid');
  });
  const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  const fc = tf.matMul(flat, p['head.fc.weight'] as tf.Tensor2D);
  const features = tf.relu(batchNorm(fc, p, 'head.fc', training, [0], moments)) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(features, p['head.out.weight'] as tf.Tensor2D), p['head.out.bias']) as tf.Tensor2D;
  return { features, logits, moments };
}

/** Inference weights: BatchNorm folded into each convolution / dense layer as a bias. */
export interface FoldedLayer {
  weight: tf.Tensor;
  bias: tf.Tensor1D;
}

export interface FoldedNetwork {
  arch: RealismArchitecture;
  convs: FoldedLayer[][];
  fc: FoldedLayer;
  out: FoldedLayer;
  mean: tf.Tensor1D;
  invStd: tf.Tensor1D;
}

/** Folds BatchNorm's running statistics into the preceding layer (float32, on the host). */
export function foldBatchNorm(arch: RealismArchitecture, values: Map<string, Float32Array>): FoldedNetwork {
  const get = (name: string) => {
    const v = values.get(name);
    if (!v) throw new Error(`realism classifier: missing parameter ${name}`);
    return v;
  };
  const fold = (prefix: string, shape: number[]): FoldedLayer => {
    const w = get(`${prefix}.weight`);
    const gamma = get(`${prefix}.bn.gamma`);
    const beta = get(`${prefix}.bn.beta`);
    const mean = get(`${prefix}.bn.mean`);
    const variance = get(`${prefix}.bn.var`);
    const cout = shape[shape.length - 1];
    const scale = new Float32Array(cout);
    const bias = new Float32Array(cout);
    for (let o = 0; o < cout; o++) {
      scale[o] = gamma[o] / Math.sqrt(variance[o] + BN_EPSILON);
      bias[o] = beta[o] - mean[o] * scale[o];
    }
    const fw = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) fw[i] = w[i] * scale[i % cout];
    return { weight: tf.tensor(fw, shape), bias: tf.tensor1d(bias) };
  };
  const specs = new Map(parameterSpecs(arch).map((s) => [s.name, s]));
  const convs: FoldedLayer[][] = arch.widths.map((_w, s) =>
    Array.from({ length: arch.convsPerStage }, (_x, c) => fold(`stage${s}.conv${c}`, specs.get(`stage${s}.conv${c}.weight`)!.shape)),
  );
  const fc = fold('head.fc', specs.get('head.fc.weight')!.shape);
  const out: FoldedLayer = {
    weight: tf.tensor(get('head.out.weight'), specs.get('head.out.weight')!.shape),
    bias: tf.tensor1d(get('head.out.bias')),
  };
  return {
    arch,
    convs,
    fc,
    out,
    mean: tf.tensor1d([...INPUT_MEAN]),
    invStd: tf.tensor1d(INPUT_STD.map((s) => 1 / s)),
  };
}

/** Inference forward pass of a folded network: features and logits of NHWC images in [0, 1]. */
export function forwardFolded(net: FoldedNetwork, x: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  return tf.tidy((): { features: tf.Tensor2D; logits: tf.Tensor2D } => {
    let h: tf.Tensor4D = tf.mul(tf.sub(x, net.mean), net.invStd);
    for (const stage of net.convs) {
      for (const layer of stage) {
        h = tf.fused.conv2d({ x: h, filter: layer.weight as tf.Tensor4D, strides: 1, pad: 'same', bias: layer.bias, activation: 'relu' });
      }
      h = tf.maxPool(h, 2, 2, 'valid');
    }
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    const features = tf.fused.matMul({ a: flat, b: net.fc.weight as tf.Tensor2D, bias: net.fc.bias, activation: 'relu' }) as tf.Tensor2D;
    const logits = tf.fused.matMul({ a: features, b: net.out.weight as tf.Tensor2D, bias: net.out.bias }) as tf.Tensor2D;
    return { features, logits };
  });
}

export function disposeFolded(net: FoldedNetwork): void {
  for (const stage of net.convs) for (const l of stage) tf.dispose([l.weight, l.bias]);
  tf.dispose([net.fc.weight, net.fc.bias, net.out.weight, net.out.bias, net.mean, net.invStd]);
}
