/**
 * The UNet as an ONNX graph (opset 17), built from the same architecture description as the
 * tfjs forward pass (unet/model.ts) and computing the same velocity:
 *
 *   inputs   x [N, H, W, C] float32 (NHWC, as everywhere in this package)
 *            t [N] float32 in [0, 1]
 *            y [N] int64 labels, numClasses = "no label"
 *   output   v [N, H, W, C] float32
 *
 * Inside, activations are NCHW (ONNX's convolution layout) and parameters keep their
 * PyTorch names and layouts (conv OIHW). GroupNorm is InstanceNormalization over
 * [N, groups, C/groups·H·W] in float32 followed by the per-channel affine; attention is
 * guided-diffusion's QKVAttention (or the legacy head order) with scale 1/√√d on q and k;
 * downsampling is a 2×2 average pool and upsampling nearest ×2 (Resize); the label
 * embedding is a row lookup (the tfjs one-hot product picks the same row exactly).
 */
import type { AttentionLayer, ConvLayer, Layer, ResLayer, UNetArchitecture } from '../unet/architecture.js';
import { embedDim } from '../unet/config.js';
import { toTorchLayout, type ParamValues } from '../unet/params.js';
import { GraphBuilder } from './graph-builder.js';
import { ONNX_FLOAT, ONNX_INT64 } from './schema.js';

export const ONNX_OPSET = 17;
/** Bumped whenever the graph this file writes changes (part of the cache key). */
export const ONNX_EXPORTER_VERSION = 2;

export const ONNX_INPUTS = ['x', 't', 'y'] as const;
export const ONNX_OUTPUT = 'v';

const GN_EPS = 1e-5;
const MAX_PERIOD = 10_000;

class UNetGraph {
  private readonly g = new GraphBuilder();
  private readonly specs: Map<string, { shape: number[]; kind: string }>;
  private embAct = '';

  constructor(
    private readonly arch: UNetArchitecture,
    private readonly values: ParamValues,
  ) {
    this.specs = new Map(arch.params.map((p) => [p.name, { shape: p.shape, kind: p.kind }]));
    for (const p of arch.params) {
      const data = toTorchLayout(p, values.get(p.name)!);
      // per-channel vectors broadcast over NCHW (or [N, C, L]) as [C, 1, 1] / [C, 1]
      const dims =
        p.kind === 'norm-weight' || p.kind === 'norm-bias'
          ? [p.shape[0], 1, 1]
          : p.kind === 'bias' && this.isChannelBias(p.name)
            ? this.channelBiasDims(p.name, p.shape[0])
            : p.torchShape.length === 3
              ? [p.torchShape[0], p.torchShape[1]] // Conv1d kernels [out, in, 1] as matrices
              : p.torchShape;
      this.g.initializer(p.name, data, dims);
    }
  }

  /** Biases added to activations (conv, attention), as opposed to those of linear layers. */
  private isChannelBias(name: string): boolean {
    const weight = this.specs.get(name.replace(/\.bias$/, '.weight'));
    return weight !== undefined && (weight.kind === 'conv2d' || weight.kind === 'conv1d');
  }

  private channelBiasDims(name: string, c: number): number[] {
    // Conv takes a 1-D bias; the attention's Conv1d biases are added to [N, C, L]
    return this.specs.get(name.replace(/\.bias$/, '.weight'))!.kind === 'conv1d' ? [c, 1] : [c];
  }

  silu(x: string): string {
    return this.g.node('Mul', [x, this.g.node('Sigmoid', [x])]);
  }

  /** GroupNorm on NCHW with `c` channels at spatial size h×w. */
  groupNorm(x: string, prefix: string, c: number, h: number, w: number): string {
    const groups = this.arch.config.normGroups;
    const grouped = this.g.node('Reshape', [x, this.g.int64s([0, groups, (c / groups) * h * w])]);
    const ones = this.g.floats(new Float32Array(groups).fill(1), [groups]);
    const zeros = this.g.floats(new Float32Array(groups), [groups]);
    const normed = this.g.node('InstanceNormalization', [grouped, ones, zeros], { epsilon: { float: GN_EPS } });
    const back = this.g.node('Reshape', [normed, this.g.int64s([0, c, h, w])]);
    return this.g.node('Add', [this.g.node('Mul', [back, `${prefix}.weight`]), `${prefix}.bias`]);
  }

  conv(x: string, prefix: string, kernel: number): string {
    const pad = (kernel - 1) / 2;
    return this.g.node('Conv', [x, `${prefix}.weight`, `${prefix}.bias`], { kernel_shape: [kernel, kernel], pads: [pad, pad, pad, pad], strides: [1, 1] });
  }

  linear(x: string, prefix: string): string {
    return this.g.node('Gemm', [x, `${prefix}.weight`, `${prefix}.bias`], { transB: 1 });
  }

  res(x: string, layer: ResLayer, h: number, w: number): string {
    const { prefix, inChannels: cin, outChannels: cout } = layer;
    let y = this.conv(this.silu(this.groupNorm(x, `${prefix}.in_layers.0`, cin, h, w)), `${prefix}.in_layers.2`, 3);
    const embOut = this.g.node('Reshape', [this.linear(this.embAct, `${prefix}.emb_layers.1`), this.g.int64s([0, -1, 1, 1])]);
    let normed: string;
    if (this.arch.config.useScaleShiftNorm) {
      const [scale, shift] = this.g.nodeN('Split', [embOut, this.g.int64s([cout, cout])], { axis: 1 }, 2);
      const gn = this.groupNorm(y, `${prefix}.out_layers.0`, cout, h, w);
      normed = this.g.node('Add', [this.g.node('Mul', [gn, this.g.node('Add', [scale, this.g.scalar(1)])]), shift]);
    } else {
      normed = this.groupNorm(this.g.node('Add', [y, embOut]), `${prefix}.out_layers.0`, cout, h, w);
    }
    y = this.conv(this.silu(normed), `${prefix}.out_layers.3`, 3);
    const skip = cin === cout ? x : this.conv(x, `${prefix}.skip_connection`, 1);
    return this.g.node('Add', [skip, y]);
  }

  attention(x: string, layer: AttentionLayer, h: number, w: number): string {
    const { prefix, channels: c, heads } = layer;
    const len = h * w;
    const ch = c / heads;
    const normed = this.g.node('Reshape', [this.groupNorm(x, `${prefix}.norm`, c, h, w), this.g.int64s([0, c, len])]);
    const qkv = this.g.node('Add', [this.g.node('MatMul', [`${prefix}.qkv.weight`, normed]), `${prefix}.qkv.bias`]); // [N, 3C, L]
    let q: string, k: string, v: string;
    if (this.arch.config.useNewAttentionOrder || heads === 1) {
      const perHead = this.g.int64s([-1, ch, len]);
      [q, k, v] = this.g.nodeN('Split', [qkv, this.g.int64s([c, c, c])], { axis: 1 }, 3).map((part) => this.g.node('Reshape', [part, perHead]));
    } else {
      const legacy = this.g.node('Reshape', [qkv, this.g.int64s([-1, 3 * ch, len])]);
      [q, k, v] = this.g.nodeN('Split', [legacy, this.g.int64s([ch, ch, ch])], { axis: 1 }, 3);
    }
    const scale = this.g.scalar(Math.fround(1 / Math.sqrt(Math.sqrt(ch))));
    const qs = this.g.node('Mul', [q, scale]);
    const ks = this.g.node('Mul', [k, scale]);
    // weight[b, t, s] = Σ_c q[b, c, t]·k[b, c, s], softmax over s (the last axis: ORT's fast
    // path); a[b, c, t] = Σ_s v[b, c, s]·weight[b, t, s]. ORT folds the transposes into its matmuls.
    const logits = this.g.node('MatMul', [this.g.node('Transpose', [qs], { perm: [0, 2, 1] }), ks]);
    const weight = this.g.node('Softmax', [logits], { axis: -1 });
    const a = this.g.node('Reshape', [this.g.node('MatMul', [v, this.g.node('Transpose', [weight], { perm: [0, 2, 1] })]), this.g.int64s([-1, c, len])]);
    const out = this.g.node('Add', [this.g.node('MatMul', [`${prefix}.proj_out.weight`, a]), `${prefix}.proj_out.bias`]);
    return this.g.node('Add', [x, this.g.node('Reshape', [out, this.g.int64s([0, c, h, w])])]);
  }

  /** Applies one layer at spatial size `size`; returns the output and its size. */
  layer(x: string, layer: Layer, size: number): [string, number] {
    switch (layer.kind) {
      case 'conv':
        return [this.conv(x, (layer as ConvLayer).prefix, (layer as ConvLayer).kernel), size];
      case 'res':
        return [this.res(x, layer, size, size), size];
      case 'attention':
        return [this.attention(x, layer, size, size), size];
      case 'downsample':
        return [this.g.node('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] }), size / 2];
      case 'upsample': {
        // nearest ×2: output (i, j) reads input (⌊i/2⌋, ⌊j/2⌋), ORT's fast path (Reshape + Expand took 8 % of a forward)
        const scales = this.g.floats(Float32Array.of(1, 1, 2, 2), [4]);
        const attrs = { mode: { string: 'nearest' }, coordinate_transformation_mode: { string: 'asymmetric' }, nearest_mode: { string: 'floor' } };
        return [this.g.node('Resize', [x, '', scales], attrs), 2 * size];
      }
    }
  }

  block(x: string, layers: readonly Layer[], size: number, channels: number): [string, number, number] {
    let h = x;
    let s = size;
    let ch = channels;
    for (const l of layers) {
      [h, s] = this.layer(h, l, s);
      if (l.kind === 'conv' || l.kind === 'res') ch = l.outChannels;
    }
    return [h, s, ch];
  }

  build(meta: Record<string, string>): Uint8Array {
    const c = this.arch.config;
    const g = this.g;
    // the sinusoid: [cos(t·f), sin(t·f)], f_i = 10000^(−i/half), as timestepEmbedding computes f
    const half = Math.floor(c.modelChannels / 2);
    const freqs = new Float32Array(half);
    const negLog = Math.fround(-Math.log(MAX_PERIOD));
    for (let i = 0; i < half; i++) freqs[i] = Math.exp(Math.fround(Math.fround(negLog * i) / half));
    const args = g.node('Mul', [g.node('Unsqueeze', ['t', g.int64s([1])]), g.floats(freqs, [1, half])]);
    let sinusoid = g.node('Concat', [g.node('Cos', [args]), g.node('Sin', [args])], { axis: 1 });
    if (c.modelChannels % 2) sinusoid = g.node('Pad', [sinusoid, g.int64s([0, 0, 0, 1])]);
    const timeEmb = this.linear(this.silu(this.linear(sinusoid, 'time_embed.0')), 'time_embed.2');
    const emb = g.node('Add', [timeEmb, g.node('Gather', ['label_emb.weight', 'y'], { axis: 0 })]);
    this.embAct = this.silu(emb);

    let h = g.node('Transpose', ['x'], { perm: [0, 3, 1, 2] });
    let size = c.imageSize;
    let ch = c.inChannels;
    const skips: [string, number][] = [];
    for (const block of this.arch.inputBlocks) {
      [h, size, ch] = this.block(h, block, size, ch);
      skips.push([h, ch]);
    }
    [h, size, ch] = this.block(h, this.arch.middleBlock, size, ch);
    for (const block of this.arch.outputBlocks) {
      const [skip, skipCh] = skips.pop()!;
      [h, size, ch] = this.block(g.node('Concat', [h, skip], { axis: 1 }), block, size, ch + skipCh);
    }
    const out = this.conv(this.silu(this.groupNorm(h, 'out.0', ch, size, size)), 'out.2', 3);
    g.node('Transpose', [out], { perm: [0, 2, 3, 1] }, ONNX_OUTPUT);

    const s = c.imageSize;
    return g.encodeModel({
      name: `mmmi-unet-${c.name}`,
      inputs: [
        { name: 'x', elemType: ONNX_FLOAT, dims: ['N', s, s, c.inChannels], doc: 'state x_t, NHWC' },
        { name: 't', elemType: ONNX_FLOAT, dims: ['N'], doc: 'time in [0, 1]' },
        { name: 'y', elemType: ONNX_INT64, dims: ['N'], doc: `label; ${c.numClasses} = no label` },
      ],
      outputs: [{ name: ONNX_OUTPUT, elemType: ONNX_FLOAT, dims: ['N', s, s, c.outChannels], doc: 'velocity v(x, t, y), NHWC' }],
      opset: ONNX_OPSET,
      producer: 'mmmi flow-train',
      producerVersion: String(ONNX_EXPORTER_VERSION),
      doc: `flow-matching ADM UNet '${c.name}' (${this.arch.parameterCount} parameters); embedding width ${embedDim(c)}`,
      metadata: meta,
    });
  }
}

/**
 * The ONNX model (serialized ModelProto) of the UNet with these weights. `metadata` is
 * stored in the model's metadata_props (e.g. the checkpoint's sha256).
 */
export function exportUNetOnnx(arch: UNetArchitecture, values: ParamValues, metadata: Record<string, string> = {}): Uint8Array {
  return new UNetGraph(arch, values).build({ config: JSON.stringify(arch.config), exporter_version: String(ONNX_EXPORTER_VERSION), ...metadata });
}
