/**
 * The UNet as data: which blocks exist, in what order, with which PyTorch parameter names
 * and shapes. Built exactly like guided-diffusion's UNetModel.__init__ (with
 * conv_resample=False and resblock_updown=False, as in the paper), so that the tensor names
 * and the parameter count equal those of the PyTorch state_dict.
 *
 * Parameters are kept in the layout TensorFlow.js computes with (NHWC activations): 3×3 and
 * 1×1 convolutions as HWIO [k, k, in, out] (PyTorch OIHW), the attention's Conv1d kernels as
 * matrices [out, in] (PyTorch [out, in, 1]); linear layers, embeddings, norms and biases as
 * in PyTorch. `torchShape` records PyTorch's shape for interop.
 */
import { attentionHeads, embedDim, validateUNetConfig, type UNetConfig } from './config.js';

export type ParamKind = 'conv2d' | 'conv1d' | 'linear' | 'embedding' | 'norm-weight' | 'norm-bias' | 'bias';

export interface ParamSpec {
  name: string;
  kind: ParamKind;
  /** Shape of our tensor. */
  shape: number[];
  /** Shape of the PyTorch tensor of the same name. */
  torchShape: number[];
  /** PyTorch's default-init bound 1/√fan_in for conv/linear weights and biases. */
  fanIn: number;
  /** guided-diffusion's zero_module: weights and bias start at zero. */
  zeroInit: boolean;
}

export interface ConvLayer {
  kind: 'conv';
  prefix: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
}
export interface ResLayer {
  kind: 'res';
  prefix: string;
  inChannels: number;
  outChannels: number;
}
export interface AttentionLayer {
  kind: 'attention';
  prefix: string;
  channels: number;
  heads: number;
}
export interface ResampleLayer {
  kind: 'downsample' | 'upsample';
}
export type Layer = ConvLayer | ResLayer | AttentionLayer | ResampleLayer;

export interface UNetArchitecture {
  config: UNetConfig;
  inputBlocks: Layer[][];
  middleBlock: Layer[];
  outputBlocks: Layer[][];
  /** Channels of the final GroupNorm + conv (`out.0`, `out.2`). */
  outInputChannels: number;
  params: ParamSpec[];
  parameterCount: number;
}

function conv(params: ParamSpec[], prefix: string, cin: number, cout: number, k: number, zeroInit = false): ConvLayer {
  const fanIn = cin * k * k;
  params.push({ name: `${prefix}.weight`, kind: 'conv2d', shape: [k, k, cin, cout], torchShape: [cout, cin, k, k], fanIn, zeroInit });
  params.push({ name: `${prefix}.bias`, kind: 'bias', shape: [cout], torchShape: [cout], fanIn, zeroInit });
  return { kind: 'conv', prefix, inChannels: cin, outChannels: cout, kernel: k };
}

function linear(params: ParamSpec[], prefix: string, fin: number, fout: number): void {
  params.push({ name: `${prefix}.weight`, kind: 'linear', shape: [fout, fin], torchShape: [fout, fin], fanIn: fin, zeroInit: false });
  params.push({ name: `${prefix}.bias`, kind: 'bias', shape: [fout], torchShape: [fout], fanIn: fin, zeroInit: false });
}

function norm(params: ParamSpec[], prefix: string, ch: number): void {
  params.push({ name: `${prefix}.weight`, kind: 'norm-weight', shape: [ch], torchShape: [ch], fanIn: 0, zeroInit: false });
  params.push({ name: `${prefix}.bias`, kind: 'norm-bias', shape: [ch], torchShape: [ch], fanIn: 0, zeroInit: false });
}

function conv1d(params: ParamSpec[], prefix: string, cin: number, cout: number, zeroInit: boolean): void {
  params.push({ name: `${prefix}.weight`, kind: 'conv1d', shape: [cout, cin], torchShape: [cout, cin, 1], fanIn: cin, zeroInit });
  params.push({ name: `${prefix}.bias`, kind: 'bias', shape: [cout], torchShape: [cout], fanIn: cin, zeroInit });
}

function resBlock(params: ParamSpec[], c: UNetConfig, prefix: string, cin: number, cout: number): ResLayer {
  norm(params, `${prefix}.in_layers.0`, cin);
  conv(params, `${prefix}.in_layers.2`, cin, cout, 3);
  linear(params, `${prefix}.emb_layers.1`, embedDim(c), c.useScaleShiftNorm ? 2 * cout : cout);
  norm(params, `${prefix}.out_layers.0`, cout);
  conv(params, `${prefix}.out_layers.3`, cout, cout, 3, true);
  if (cin !== cout) conv(params, `${prefix}.skip_connection`, cin, cout, 1);
  return { kind: 'res', prefix, inChannels: cin, outChannels: cout };
}

function attention(params: ParamSpec[], prefix: string, ch: number, heads: number): AttentionLayer {
  norm(params, `${prefix}.norm`, ch);
  conv1d(params, `${prefix}.qkv`, ch, 3 * ch, false);
  conv1d(params, `${prefix}.proj_out`, ch, ch, true);
  return { kind: 'attention', prefix, channels: ch, heads };
}

export function buildArchitecture(config: UNetConfig): UNetArchitecture {
  validateUNetConfig(config);
  const c = config;
  const params: ParamSpec[] = [];
  const mc = c.modelChannels;
  const ted = embedDim(c);
  linear(params, 'time_embed.0', mc, ted);
  linear(params, 'time_embed.2', ted, ted);
  params.push({ name: 'label_emb.weight', kind: 'embedding', shape: [c.numClasses + 1, ted], torchShape: [c.numClasses + 1, ted], fanIn: 0, zeroInit: false });

  let ch = c.channelMult[0] * mc;
  const inputCh = ch;
  const inputBlocks: Layer[][] = [[conv(params, 'input_blocks.0.0', c.inChannels, ch, 3)]];
  const skipChannels = [ch];
  let ds = 1;
  c.channelMult.forEach((mult, level) => {
    for (let r = 0; r < c.numResBlocks; r++) {
      const prefix = `input_blocks.${inputBlocks.length}`;
      const block: Layer[] = [resBlock(params, c, `${prefix}.0`, ch, mult * mc)];
      ch = mult * mc;
      if (c.attentionResolutions.includes(ds)) block.push(attention(params, `${prefix}.1`, ch, attentionHeads(c, ch, false)));
      inputBlocks.push(block);
      skipChannels.push(ch);
    }
    if (level !== c.channelMult.length - 1) {
      inputBlocks.push([{ kind: 'downsample' }]);
      skipChannels.push(ch);
      ds *= 2;
    }
  });

  const middleBlock: Layer[] = [
    resBlock(params, c, 'middle_block.0', ch, ch),
    attention(params, 'middle_block.1', ch, attentionHeads(c, ch, false)),
    resBlock(params, c, 'middle_block.2', ch, ch),
  ];

  const outputBlocks: Layer[][] = [];
  [...c.channelMult.entries()].reverse().forEach(([level, mult]) => {
    for (let i = 0; i <= c.numResBlocks; i++) {
      const skip = skipChannels.pop()!;
      const prefix = `output_blocks.${outputBlocks.length}`;
      const block: Layer[] = [resBlock(params, c, `${prefix}.0`, ch + skip, mult * mc)];
      ch = mult * mc;
      if (c.attentionResolutions.includes(ds)) block.push(attention(params, `${prefix}.1`, ch, attentionHeads(c, ch, true)));
      if (level > 0 && i === c.numResBlocks) {
        block.push({ kind: 'upsample' });
        ds /= 2;
      }
      outputBlocks.push(block);
    }
  });

  norm(params, 'out.0', ch);
  conv(params, 'out.2', inputCh, c.outChannels, 3, true);
  const parameterCount = params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  return { config: c, inputBlocks, middleBlock, outputBlocks, outInputChannels: ch, params, parameterCount };
}
