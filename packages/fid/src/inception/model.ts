/**
 * The FID Inception-v3 feature network in TensorFlow.js: pool3 features (2048-d) of images
 * already resized to 299×299 and scaled to [−1, 1], from the weights of pytorch-fid's
 * pt_inception-2015-12-05-6726825d.pth (a `Map<string, TorchTensor>` from @mmmi/formats).
 *
 * BatchNorm is folded into the convolutions at load time (in float64, rounded once to
 * float32): w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε); each BasicConv2d is then one fused
 * conv2d + bias + ReLU.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readTorchCheckpoint, stateDictTensors, type TorchTensor } from '@mmmi/formats';
import { BLOCKS, BN_EPS, INCEPTION_CONVS, STEM, type BlockSpec, type ConvSpec } from './architecture.js';

export type ImageLayout = 'NHWC' | 'NCHW';

export interface InceptionFeatures {
  /**
   * pool3 features of a batch, row-major n × 2048. `batch`: float32 images in [−1, 1]
   * ((x − 128)/128 of 8-bit RGB), 299×299 for FID (any size ≥ 75 runs), NHWC [n,h,w,3] or
   * NCHW [n,3,h,w] (`layout`; by default whichever axis has 3 channels). The caller keeps
   * ownership of `batch`.
   */
  features(batch: tf.Tensor4D, options?: { layout?: ImageLayout }): Promise<Float32Array>;
  /** Frees the weights (the extractor is unusable afterwards). */
  dispose(): void;
  /** Name of the tfjs backend the weights live on. */
  readonly backend: string;
}

interface FoldedConv {
  spec: ConvSpec;
  filter: tf.Tensor4D; // [kh, kw, cin, cout]
  bias: tf.Tensor1D; // [cout]
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Checks every tensor the network needs; throws one error naming all missing or mis-shaped keys. */
export function checkInceptionWeights(weights: ReadonlyMap<string, TorchTensor>): void {
  const problems: string[] = [];
  for (const c of INCEPTION_CONVS) {
    const expect: Array<[string, number[]]> = [[`${c.name}.conv.weight`, [c.cout, c.cin, c.kh, c.kw]]];
    for (const s of ['weight', 'bias', 'running_mean', 'running_var']) expect.push([`${c.name}.bn.${s}`, [c.cout]]);
    for (const [key, shape] of expect) {
      const t = weights.get(key);
      if (t === undefined) problems.push(`missing ${key} ${shapeText(shape)}`);
      else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        problems.push(`${key} has shape ${shapeText(t.shape)}, expected ${shapeText(shape)}`);
      } else if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
        problems.push(`${key} has dtype ${t.dtype}, expected a floating-point tensor`);
      }
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 25);
    const more = problems.length > shown.length ? `; … and ${problems.length - shown.length} more` : '';
    throw new Error(
      `Inception-v3 FID weights: ${problems.length} problem${problems.length > 1 ? 's' : ''} ` +
        `(expected pytorch-fid's pt_inception-2015-12-05 state dict): ${shown.join('; ')}${more}`,
    );
  }
}

function foldConv(spec: ConvSpec, weights: ReadonlyMap<string, TorchTensor>): FoldedConv {
  const get = (k: string) => weights.get(`${spec.name}.${k}`)!.data as Float32Array | Float64Array;
  const w = get('conv.weight');
  const gamma = get('bn.weight');
  const beta = get('bn.bias');
  const mean = get('bn.running_mean');
  const variance = get('bn.running_var');
  const { cin, cout, kh, kw } = spec;
  const scale = new Float64Array(cout);
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    const v = variance[o] + BN_EPS;
    if (!(v > 0)) throw new Error(`Inception-v3 FID weights: ${spec.name}.bn.running_var[${o}] = ${variance[o]} (must be > −eps)`);
    scale[o] = gamma[o] / Math.sqrt(v);
    bias[o] = beta[o] - mean[o] * scale[o];
  }
  // PyTorch OIHW → TF HWIO, scaled per output channel
  const filter = new Float32Array(kh * kw * cin * cout);
  for (let o = 0; o < cout; o++) {
    const s = scale[o];
    for (let i = 0; i < cin; i++) {
      for (let y = 0; y < kh; y++) {
        const src = ((o * cin + i) * kh + y) * kw;
        for (let x = 0; x < kw; x++) filter[((y * kw + x) * cin + i) * cout + o] = w[src + x] * s;
      }
    }
  }
  return { spec, filter: tf.tensor4d(filter, [kh, kw, cin, cout], 'float32'), bias: tf.tensor1d(bias, 'float32') };
}

/**
 * Builds the feature network from a state dict (extra keys such as fc.*, num_batches_tracked
 * or aux logits are ignored). Weights are placed on the current tfjs backend: call
 * `selectBackend()` first.
 */
export function createInceptionFeatureExtractor(weights: ReadonlyMap<string, TorchTensor>): InceptionFeatures {
  checkInceptionWeights(weights);
  const convs = new Map<string, FoldedConv>();
  try {
    for (const spec of INCEPTION_CONVS) convs.set(spec.name, foldConv(spec, weights));
  } catch (e) {
    for (const c of convs.values()) {
      c.filter.dispose();
      c.bias.dispose();
    }
    throw e;
  }
  return new InceptionNet(convs);
}

/** Reads a PyTorch checkpoint (e.g. pt_inception-2015-12-05-6726825d.pth) and builds the network. */
export async function loadInceptionFeatureExtractor(path: string): Promise<InceptionFeatures> {
  const tree = await readTorchCheckpoint(path);
  const tensors = stateDictTensors(tree);
  try {
    return createInceptionFeatureExtractor(tensors);
  } catch (e) {
    if (e instanceof Error) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

class InceptionNet implements InceptionFeatures {
  readonly backend = tf.getBackend();
  private disposed = false;

  constructor(private readonly convs: Map<string, FoldedConv>) {}

  private conv(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const c = this.convs.get(name);
    if (!c) throw new Error(`internal: no convolution ${name}`);
    const s = c.spec.stride;
    return tf.fused.conv2d({ x, filter: c.filter, strides: [s, s], pad: c.spec.padding, bias: c.bias, activation: 'relu' });
  }

  private chain(x: tf.Tensor4D, ...names: string[]): tf.Tensor4D {
    for (const n of names) x = this.conv(n, x);
    return x;
  }

  private stem(x: tf.Tensor4D): tf.Tensor4D {
    let y = this.chain(x, ...STEM.slice(0, 3).map((c) => c.name));
    y = tf.maxPool(y, 3, 2, 'valid');
    y = this.chain(y, ...STEM.slice(3).map((c) => c.name));
    return tf.maxPool(y, 3, 2, 'valid');
  }

  private block(b: BlockSpec, x: tf.Tensor4D): tf.Tensor4D {
    const p = b.name;
    const c = (x: tf.Tensor4D, ...branches: string[]) => this.chain(x, ...branches.map((s) => `${p}.${s}`));
    // count_include_pad=False average pool = TF 'same' average pool
    const avg = () => tf.avgPool(x, 3, 1, 'same');
    let out: tf.Tensor4D[];
    switch (b.kind) {
      case 'A':
        out = [c(x, 'branch1x1'), c(x, 'branch5x5_1', 'branch5x5_2'), c(x, 'branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'), c(avg(), 'branch_pool')];
        break;
      case 'B':
        out = [c(x, 'branch3x3'), c(x, 'branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'), tf.maxPool(x, 3, 2, 'valid')];
        break;
      case 'C':
        out = [
          c(x, 'branch1x1'),
          c(x, 'branch7x7_1', 'branch7x7_2', 'branch7x7_3'),
          c(x, 'branch7x7dbl_1', 'branch7x7dbl_2', 'branch7x7dbl_3', 'branch7x7dbl_4', 'branch7x7dbl_5'),
          c(avg(), 'branch_pool'),
        ];
        break;
      case 'D':
        out = [c(x, 'branch3x3_1', 'branch3x3_2'), c(x, 'branch7x7x3_1', 'branch7x7x3_2', 'branch7x7x3_3', 'branch7x7x3_4'), tf.maxPool(x, 3, 2, 'valid')];
        break;
      case 'E_1':
      case 'E_2': {
        const b3 = c(x, 'branch3x3_1');
        const bd = c(x, 'branch3x3dbl_1', 'branch3x3dbl_2');
        // E_2 (Mixed_7c): max pool, stride 1, pad 1 — PyTorch pads with −∞, i.e. TF 'same'
        const pooled = b.kind === 'E_1' ? avg() : tf.maxPool(x, 3, 1, 'same');
        out = [c(x, 'branch1x1'), c(b3, 'branch3x3_2a'), c(b3, 'branch3x3_2b'), c(bd, 'branch3x3dbl_3a'), c(bd, 'branch3x3dbl_3b'), c(pooled, 'branch_pool')];
        break;
      }
    }
    return tf.concat(out, 3);
  }

  async features(batch: tf.Tensor4D, options: { layout?: ImageLayout } = {}): Promise<Float32Array> {
    if (this.disposed) throw new Error('Inception feature extractor used after dispose()');
    if (batch.rank !== 4) throw new Error(`Inception features: expected a rank-4 image batch, got shape ${shapeText(batch.shape)}`);
    const layout = options.layout ?? (batch.shape[3] === 3 ? 'NHWC' : batch.shape[1] === 3 ? 'NCHW' : undefined);
    if (layout === undefined || (layout === 'NHWC' ? batch.shape[3] : batch.shape[1]) !== 3) {
      throw new Error(`Inception features: expected 3-channel images, NHWC [n, h, w, 3] or NCHW [n, 3, h, w], got ${shapeText(batch.shape)}`);
    }
    const [n, h, w] = layout === 'NHWC' ? batch.shape : [batch.shape[0], batch.shape[2], batch.shape[3]];
    if (h < 75 || w < 75) throw new Error(`Inception features: images must be at least 75×75 (299×299 for FID), got ${h}×${w}`);
    if (n === 0) return new Float32Array(0);

    let x: tf.Tensor4D = tf.tidy(() => {
      let t = batch.dtype === 'float32' ? batch : tf.cast(batch, 'float32');
      if (layout === 'NCHW') t = tf.transpose(t, [0, 2, 3, 1]);
      return this.stem(t);
    });
    // one tidy per block keeps only the current activations alive
    for (const b of BLOCKS) {
      const y = tf.tidy(() => this.block(b, x));
      x.dispose();
      x = y;
    }
    const pooled = tf.tidy(() => tf.mean(x, [1, 2]));
    x.dispose();
    try {
      const data = await pooled.data();
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    } finally {
      pooled.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.convs.values()) {
      c.filter.dispose();
      c.bias.dispose();
    }
    this.convs.clear();
  }
}
