/**
 * The UNet's forward pass in TensorFlow.js (NHWC), a line-by-line port of guided-diffusion's
 * UNetModel.forward with the flow_matching conditioning:
 *
 *   emb = time_embed(sinusoid(t)) + label_emb(y)          (y = numClasses: "no label")
 *   h = input_blocks(x, emb) … middle_block … output_blocks(cat[h, skip])
 *   out = conv(SiLU(GroupNorm(h)))
 *
 * ResBlock (scale-shift norm): h = conv(SiLU(GN(x))); (s, b) = Linear(SiLU(emb));
 *   h = conv(dropout(SiLU(GN(h)·(1+s) + b))); return skip(x) + h.
 * Attention (QKVAttention, one softmax per head, scale 1/√√d on q and k each).
 * Downsample: 2×2 average pool; upsample: nearest ×2 (the paper sets conv_resample=False).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionLayer, ConvLayer, Layer, ResLayer, UNetArchitecture } from './architecture.js';

export type ParamTensors = ReadonlyMap<string, tf.Tensor>;

export interface ForwardOptions {
  /** Dropout is active only in training. */
  training?: boolean;
  /** Seed of the dropout masks (each layer derives its own), for reproducible steps. */
  dropoutSeed?: number;
}

const GN_EPS = 1e-5;
const MAX_PERIOD = 10_000;

class Forward {
  private dropoutLayer = 0;
  constructor(
    private readonly arch: UNetArchitecture,
    private readonly p: ParamTensors,
    private readonly options: ForwardOptions,
  ) {}

  param(name: string): tf.Tensor {
    const t = this.p.get(name);
    if (!t) throw new Error(`UNet parameter ${name} is missing`);
    return t;
  }

  /**
   * GroupNorm, two-pass (mean, then the mean of squared deviations) like PyTorch. Channel
   * sums are products with a row of ones and every broadcast is 3-D over [B, HW, C]: on
   * wasm, reductions over middle axes and 4-D broadcasts are several times slower.
   */
  groupNorm(x: tf.Tensor4D, prefix: string): tf.Tensor4D {
    const [b, h, w, c] = x.shape;
    const g = this.arch.config.normGroups;
    const count = h * w * (c / g);
    const x3 = tf.reshape(x, [b, h * w, c]) as tf.Tensor3D;
    const ones = tf.ones([1, 1, h * w]) as tf.Tensor3D;
    const groupMean = (t: tf.Tensor3D) => {
      const perGroup = tf.sum(tf.reshape(tf.matMul(ones, t), [b, g, c / g]), 2, true);
      const mean = tf.div(perGroup, count);
      // group → channels by repetition along the last axis (Tile is slow on wasm)
      return tf.reshape(c === g ? mean : tf.concat(Array<tf.Tensor>(c / g).fill(mean), 2), [b, 1, c]);
    };
    const centred = tf.sub(x3, groupMean(x3)) as tf.Tensor3D;
    const variance = groupMean(tf.square(centred) as tf.Tensor3D);
    const scale = tf.mul(tf.rsqrt(tf.add(variance, GN_EPS)), this.param(`${prefix}.weight`));
    return tf.reshape(tf.add(tf.mul(centred, scale), this.param(`${prefix}.bias`)), [b, h, w, c]);
  }

  conv(x: tf.Tensor4D, layer: ConvLayer | string): tf.Tensor4D {
    const prefix = typeof layer === 'string' ? layer : layer.prefix;
    const w = this.param(`${prefix}.weight`) as tf.Tensor4D;
    const y = w.shape[0] === 1 ? tf.conv2d(x, w, 1, 'valid') : tf.conv2d(x, w, 1, 'same');
    return tf.add(y, this.param(`${prefix}.bias`));
  }

  linear(x: tf.Tensor2D, prefix: string): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.param(`${prefix}.weight`) as tf.Tensor2D, false, true), this.param(`${prefix}.bias`));
  }

  /**
   * Output features [start, start + count) of a linear layer: slicing the (small) weight is
   * cheap, slicing the (large) activation is not (wasm's Slice copies its whole input).
   */
  linearPart(x: tf.Tensor2D, prefix: string, start: number, count: number): tf.Tensor2D {
    const w = tf.slice(this.param(`${prefix}.weight`), [start, 0], [count, -1]) as tf.Tensor2D;
    const b = tf.slice(this.param(`${prefix}.bias`), [start], [count]);
    return tf.add(tf.matMul(x, w, false, true), b);
  }

  dropout(x: tf.Tensor4D): tf.Tensor4D {
    const rate = this.arch.config.dropout;
    const layer = this.dropoutLayer++;
    if (!this.options.training || rate === 0) return x;
    const seed = ((this.options.dropoutSeed ?? 0) * 7919 + layer * 104_729) % 2 ** 31;
    return tf.dropout(x, rate, undefined, seed) as tf.Tensor4D;
  }

  res(x: tf.Tensor4D, layer: ResLayer, emb: tf.Tensor2D): tf.Tensor4D {
    const { prefix, outChannels } = layer;
    let h = this.conv(silu(this.groupNorm(x, `${prefix}.in_layers.0`)), `${prefix}.in_layers.2`);
    const b = emb.shape[0];
    const embAct = silu(emb);
    let normed: tf.Tensor4D;
    if (this.arch.config.useScaleShiftNorm) {
      const scale = tf.reshape(this.linearPart(embAct, `${prefix}.emb_layers.1`, 0, outChannels), [b, 1, 1, outChannels]);
      const shift = tf.reshape(this.linearPart(embAct, `${prefix}.emb_layers.1`, outChannels, outChannels), [b, 1, 1, outChannels]);
      normed = tf.add(tf.mul(this.groupNorm(h, `${prefix}.out_layers.0`), tf.add(scale, 1)), shift);
    } else {
      const embOut = tf.reshape(this.linear(embAct, `${prefix}.emb_layers.1`), [b, 1, 1, outChannels]) as tf.Tensor4D;
      normed = this.groupNorm(tf.add(h, embOut), `${prefix}.out_layers.0`);
    }
    h = this.conv(this.dropout(silu(normed)), `${prefix}.out_layers.3`);
    const skip = layer.inChannels === outChannels ? x : this.conv(x, `${prefix}.skip_connection`);
    return tf.add(skip, h);
  }

  attention(x: tf.Tensor4D, layer: AttentionLayer): tf.Tensor4D {
    const [b, hgt, wid, c] = x.shape;
    const len = hgt * wid;
    const heads = layer.heads;
    const ch = c / heads;
    const normed = tf.reshape(this.groupNorm(x, `${layer.prefix}.norm`), [b * len, c]) as tf.Tensor2D;
    const toHeads = (t: tf.Tensor) =>
      heads === 1 ? tf.reshape(t, [b, len, ch]) : tf.reshape(tf.transpose(tf.reshape(t, [b, len, heads, ch]), [0, 2, 1, 3]), [b * heads, len, ch]);
    // the qkv output channels of head h: new order [q | k | v] each split into heads;
    // legacy order [q_h k_h v_h] per head. One head: both are [q | k | v].
    const part = (which: number) => {
      if (this.arch.config.useNewAttentionOrder || heads === 1) return toHeads(this.linearPart(normed, `${layer.prefix}.qkv`, which * c, c));
      const perHead = Array.from({ length: heads }, (_, h) => this.linearPart(normed, `${layer.prefix}.qkv`, h * 3 * ch + which * ch, ch));
      return toHeads(tf.concat(perHead, 1));
    };
    const q = part(0);
    const k = part(1);
    const v = part(2);
    const scale = 1 / Math.sqrt(Math.sqrt(ch));
    const weight = tf.softmax(tf.matMul(tf.mul(q, scale), tf.mul(k, scale), false, true));
    const a = tf.matMul(weight, v); // [b·heads, len, ch]
    const merged = tf.reshape(tf.transpose(tf.reshape(a, [b, heads, len, ch]), [0, 2, 1, 3]), [b * len, c]) as tf.Tensor2D;
    const out = tf.reshape(this.linear(merged, `${layer.prefix}.proj_out`), [b, hgt, wid, c]);
    return tf.add(x, out);
  }

  layer(x: tf.Tensor4D, layer: Layer, emb: tf.Tensor2D): tf.Tensor4D {
    switch (layer.kind) {
      case 'conv':
        return this.conv(x, layer);
      case 'res':
        return this.res(x, layer, emb);
      case 'attention':
        return this.attention(x, layer);
      case 'downsample':
        return avgPool2x2(x);
      case 'upsample':
        return upsampleNearest2x(x);
    }
  }

  block(x: tf.Tensor4D, layers: readonly Layer[], emb: tf.Tensor2D): tf.Tensor4D {
    return layers.reduce((h, l) => this.layer(h, l, emb), x);
  }

  run(x: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor4D {
    const c = this.arch.config;
    const sinusoid = timestepEmbedding(t, c.modelChannels);
    let emb = this.linear(silu(this.linear(sinusoid, 'time_embed.0')), 'time_embed.2');
    // a one-hot product instead of gather: its gradient needs no UnsortedSegmentSum
    emb = tf.add(emb, tf.matMul(tf.oneHot(tf.cast(y, 'int32'), c.numClasses + 1), this.param('label_emb.weight') as tf.Tensor2D));
    const skips: tf.Tensor4D[] = [];
    let h = x;
    for (const block of this.arch.inputBlocks) {
      h = this.block(h, block, emb);
      skips.push(h);
    }
    h = this.block(h, this.arch.middleBlock, emb);
    for (const block of this.arch.outputBlocks) {
      h = this.block(tf.concat([h, skips.pop()!], 3), block, emb);
    }
    return this.conv(silu(this.groupNorm(h, 'out.0')), 'out.2');
  }
}

const silu = <T extends tf.Tensor>(x: T): T => tf.mul(x, tf.sigmoid(x));

/** 2×2 average pooling, stride 2 (reshape + mean: differentiable on every backend). */
export function avgPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]), [2, 4]);
}

/**
 * Nearest-neighbour ×2 upsampling as two concatenations (differentiable on every backend;
 * on wasm ~20× faster than broadcastTo, which runs as Tile).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const cols = tf.reshape(x, [b, h, w, 1, c]);
  const rows = tf.reshape(tf.concat([cols, cols], 3), [b, h, 1, 2 * w, c]);
  return tf.reshape(tf.concat([rows, rows], 2), [b, 2 * h, 2 * w, c]);
}

/** guided-diffusion's timestep_embedding: [cos(t·f), sin(t·f)], f_i = 10000^(−i/half), float32. */
export function timestepEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  const negLog = Math.fround(-Math.log(MAX_PERIOD));
  for (let i = 0; i < half; i++) freqs[i] = Math.exp(Math.fround(Math.fround(negLog * i) / half));
  const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor2d(freqs, [1, half]));
  let emb = tf.concat([tf.cos(args), tf.sin(args)], 1) as tf.Tensor2D;
  if (dim % 2)
    emb = tf.pad(emb, [
      [0, 0],
      [0, 1],
    ]);
  return emb;
}

/**
 * The velocity v(x, t, y): x [B, H, W, C] (NHWC), t [B] in [0, 1], y [B] integer labels
 * (numClasses = no label). Call inside tf.tidy (or dispose the intermediates' owner).
 */
export function unetForward(
  arch: UNetArchitecture,
  params: ParamTensors,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  y: tf.Tensor1D,
  options: ForwardOptions = {},
): tf.Tensor4D {
  return new Forward(arch, params, options).run(x, t, y);
}
