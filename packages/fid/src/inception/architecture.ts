/**
 * The FID Inception-v3 (pytorch-fid's `fid_inception_v3`, torch-fidelity's
 * "inception-v3-compat": the 2015-12-05 TF graph) as data: every BasicConv2d with its
 * PyTorch state-dict prefix and geometry, and the blocks in order.
 *
 * torchvision's Inception3 with pytorch-fid's replacements:
 *   Mixed_5b/5c/5d  FIDInceptionA   avg pool (3, stride 1, pad 1, count_include_pad=False)
 *   Mixed_6a        InceptionB      max pool 3 stride 2
 *   Mixed_6b..6e    FIDInceptionC   avg pool as in A
 *   Mixed_7a        InceptionD      max pool 3 stride 2
 *   Mixed_7b        FIDInceptionE_1 avg pool as in A
 *   Mixed_7c        FIDInceptionE_2 MAX pool (3, stride 1, pad 1)
 * BasicConv2d = Conv2d (no bias) + BatchNorm2d (eps 0.001) + ReLU.
 *
 * Every PyTorch convolution here is either unpadded or stride 1 with padding (k − 1)/2 per
 * axis (odd k), which is exactly TF's 'valid' / 'same'; the same holds for the pools (PyTorch
 * pads max pools with −∞, TF's 'same' max pool ignores the border; TF's 'same' average pool
 * divides by the number of in-image elements, which is count_include_pad=False).
 */

export type Padding = 'same' | 'valid';

export interface ConvSpec {
  /** State-dict prefix, e.g. 'Mixed_5b.branch5x5_2' (keys: `${name}.conv.weight`, `${name}.bn.*`). */
  name: string;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  stride: 1 | 2;
  padding: Padding;
}

export type BlockKind = 'A' | 'B' | 'C' | 'D' | 'E_1' | 'E_2';

export interface BlockSpec {
  name: string;
  kind: BlockKind;
  cin: number;
  cout: number;
}

/** BatchNorm epsilon of torchvision's BasicConv2d. */
export const BN_EPS = 0.001;
/** Feature dimension (pool3). */
export const INCEPTION_FEATURE_DIM = 2048;
/** The classifier of the FID file (not used for features): fc.weight (1008, 2048), fc.bias (1008). */
export const INCEPTION_FC_CLASSES = 1008;

function conv(name: string, cin: number, cout: number, k: number | [number, number], stride: 1 | 2 = 1, padded = false): ConvSpec {
  const [kh, kw] = typeof k === 'number' ? [k, k] : k;
  // 1×1 convolutions are the same either way; call them 'valid'
  const padding: Padding = padded && (kh > 1 || kw > 1) ? 'same' : 'valid';
  if (padded && stride !== 1) throw new Error(`internal: padded stride-${stride} conv ${name}`);
  return { name, cin, cout, kh, kw, stride, padding };
}

function blockA(p: string, cin: number, poolFeatures: number): ConvSpec[] {
  return [
    conv(`${p}.branch1x1`, cin, 64, 1),
    conv(`${p}.branch5x5_1`, cin, 48, 1),
    conv(`${p}.branch5x5_2`, 48, 64, 5, 1, true),
    conv(`${p}.branch3x3dbl_1`, cin, 64, 1),
    conv(`${p}.branch3x3dbl_2`, 64, 96, 3, 1, true),
    conv(`${p}.branch3x3dbl_3`, 96, 96, 3, 1, true),
    conv(`${p}.branch_pool`, cin, poolFeatures, 1),
  ];
}

function blockB(p: string, cin: number): ConvSpec[] {
  return [
    conv(`${p}.branch3x3`, cin, 384, 3, 2),
    conv(`${p}.branch3x3dbl_1`, cin, 64, 1),
    conv(`${p}.branch3x3dbl_2`, 64, 96, 3, 1, true),
    conv(`${p}.branch3x3dbl_3`, 96, 96, 3, 2),
  ];
}

function blockC(p: string, cin: number, c7: number): ConvSpec[] {
  return [
    conv(`${p}.branch1x1`, cin, 192, 1),
    conv(`${p}.branch7x7_1`, cin, c7, 1),
    conv(`${p}.branch7x7_2`, c7, c7, [1, 7], 1, true),
    conv(`${p}.branch7x7_3`, c7, 192, [7, 1], 1, true),
    conv(`${p}.branch7x7dbl_1`, cin, c7, 1),
    conv(`${p}.branch7x7dbl_2`, c7, c7, [7, 1], 1, true),
    conv(`${p}.branch7x7dbl_3`, c7, c7, [1, 7], 1, true),
    conv(`${p}.branch7x7dbl_4`, c7, c7, [7, 1], 1, true),
    conv(`${p}.branch7x7dbl_5`, c7, 192, [1, 7], 1, true),
    conv(`${p}.branch_pool`, cin, 192, 1),
  ];
}

function blockD(p: string, cin: number): ConvSpec[] {
  return [
    conv(`${p}.branch3x3_1`, cin, 192, 1),
    conv(`${p}.branch3x3_2`, 192, 320, 3, 2),
    conv(`${p}.branch7x7x3_1`, cin, 192, 1),
    conv(`${p}.branch7x7x3_2`, 192, 192, [1, 7], 1, true),
    conv(`${p}.branch7x7x3_3`, 192, 192, [7, 1], 1, true),
    conv(`${p}.branch7x7x3_4`, 192, 192, 3, 2),
  ];
}

function blockE(p: string, cin: number): ConvSpec[] {
  return [
    conv(`${p}.branch1x1`, cin, 320, 1),
    conv(`${p}.branch3x3_1`, cin, 384, 1),
    conv(`${p}.branch3x3_2a`, 384, 384, [1, 3], 1, true),
    conv(`${p}.branch3x3_2b`, 384, 384, [3, 1], 1, true),
    conv(`${p}.branch3x3dbl_1`, cin, 448, 1),
    conv(`${p}.branch3x3dbl_2`, 448, 384, 3, 1, true),
    conv(`${p}.branch3x3dbl_3a`, 384, 384, [1, 3], 1, true),
    conv(`${p}.branch3x3dbl_3b`, 384, 384, [3, 1], 1, true),
    conv(`${p}.branch_pool`, cin, 192, 1),
  ];
}

/** The stem convolutions, in order (max pool 3/2 after Conv2d_2b_3x3 and after Conv2d_4a_3x3). */
export const STEM: readonly ConvSpec[] = [
  conv('Conv2d_1a_3x3', 3, 32, 3, 2),
  conv('Conv2d_2a_3x3', 32, 32, 3),
  conv('Conv2d_2b_3x3', 32, 64, 3, 1, true),
  conv('Conv2d_3b_1x1', 64, 80, 1),
  conv('Conv2d_4a_3x3', 80, 192, 3),
];

export const BLOCKS: readonly BlockSpec[] = [
  { name: 'Mixed_5b', kind: 'A', cin: 192, cout: 256 },
  { name: 'Mixed_5c', kind: 'A', cin: 256, cout: 288 },
  { name: 'Mixed_5d', kind: 'A', cin: 288, cout: 288 },
  { name: 'Mixed_6a', kind: 'B', cin: 288, cout: 768 },
  { name: 'Mixed_6b', kind: 'C', cin: 768, cout: 768 },
  { name: 'Mixed_6c', kind: 'C', cin: 768, cout: 768 },
  { name: 'Mixed_6d', kind: 'C', cin: 768, cout: 768 },
  { name: 'Mixed_6e', kind: 'C', cin: 768, cout: 768 },
  { name: 'Mixed_7a', kind: 'D', cin: 768, cout: 1280 },
  { name: 'Mixed_7b', kind: 'E_1', cin: 1280, cout: 2048 },
  { name: 'Mixed_7c', kind: 'E_2', cin: 2048, cout: 2048 },
];

const POOL_FEATURES: Record<string, number> = { Mixed_5b: 32, Mixed_5c: 64, Mixed_5d: 64 };
const CHANNELS_7X7: Record<string, number> = { Mixed_6b: 128, Mixed_6c: 160, Mixed_6d: 160, Mixed_6e: 192 };

export function blockConvs(b: BlockSpec): ConvSpec[] {
  switch (b.kind) {
    case 'A':
      return blockA(b.name, b.cin, POOL_FEATURES[b.name]);
    case 'B':
      return blockB(b.name, b.cin);
    case 'C':
      return blockC(b.name, b.cin, CHANNELS_7X7[b.name]);
    case 'D':
      return blockD(b.name, b.cin);
    case 'E_1':
    case 'E_2':
      return blockE(b.name, b.cin);
  }
}

/** Every BasicConv2d of the feature network, in torchvision's module order. */
export const INCEPTION_CONVS: readonly ConvSpec[] = [...STEM, ...BLOCKS.flatMap(blockConvs)];

/** The state-dict tensors the feature network needs (BN running stats included; no fc, no num_batches_tracked). */
export function inceptionFeatureKeys(): Array<[string, number[]]> {
  const out: Array<[string, number[]]> = [];
  for (const c of INCEPTION_CONVS) {
    out.push([`${c.name}.conv.weight`, [c.cout, c.cin, c.kh, c.kw]]);
    for (const s of ['weight', 'bias', 'running_mean', 'running_var']) out.push([`${c.name}.bn.${s}`, [c.cout]]);
  }
  return out;
}

/** Learnable parameters of the feature part (conv weights, BN weight and bias): 21 785 568. */
export function inceptionFeatureParameterCount(): number {
  let n = 0;
  for (const c of INCEPTION_CONVS) n += c.cout * c.cin * c.kh * c.kw + 2 * c.cout;
  return n;
}
