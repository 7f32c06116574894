/**
 * UNet configurations: the paper's `cifar10` model (facebookresearch/flow_matching's image
 * example, guided-diffusion's UNetModel) and smaller ones for CPUs and tests, all built by
 * the same code. Field names follow the PyTorch constructor, in camelCase.
 */
import { InputError } from '@mmmi/cli-kit';

export interface UNetConfig {
  /** The name a configuration is known by (`info <name>`, checkpoints). */
  name: string;
  imageSize: number;
  inChannels: number;
  modelChannels: number;
  outChannels: number;
  numResBlocks: number;
  /** Downsample factors (1 = full resolution, 2 = half, …) that get an attention block. */
  attentionResolutions: number[];
  dropout: number;
  channelMult: number[];
  /** Classes of the conditioning label; the embedding has one more row, "no label". */
  numClasses: number;
  numHeads: number;
  /** −1: derive from numHeads; otherwise channels per head (overrides numHeads). */
  numHeadChannels: number;
  /** −1: same as numHeads. */
  numHeadsUpsample: number;
  useScaleShiftNorm: boolean;
  useNewAttentionOrder: boolean;
  /** GroupNorm groups (guided-diffusion's GroupNorm32). */
  normGroups: number;
}

const PAPER_CIFAR10: UNetConfig = {
  name: 'cifar10',
  imageSize: 32,
  inChannels: 3,
  modelChannels: 128,
  outChannels: 3,
  numResBlocks: 4,
  attentionResolutions: [2],
  dropout: 0.3,
  channelMult: [2, 2, 2],
  numClasses: 10,
  numHeads: 1,
  numHeadChannels: -1,
  numHeadsUpsample: -1,
  useScaleShiftNorm: true,
  useNewAttentionOrder: true,
  normGroups: 32,
};

/**
 * Named configurations. `cifar10` is the paper's (55 682 051 parameters); `small` is the
 * built-in model trained on CPUs; `tiny` is for tests and parity fixtures.
 */
export const UNET_CONFIGS: Readonly<Record<string, UNetConfig>> = {
  cifar10: PAPER_CIFAR10,
  small: { ...PAPER_CIFAR10, name: 'small', modelChannels: 32, numResBlocks: 1, channelMult: [1, 2, 2, 2], attentionResolutions: [2, 4], dropout: 0 },
  tiny: { ...PAPER_CIFAR10, name: 'tiny', imageSize: 8, modelChannels: 32, numResBlocks: 1, channelMult: [1, 1], dropout: 0 },
};

export function unetConfig(name: string): UNetConfig {
  const config = UNET_CONFIGS[name];
  if (!config) {
    throw new InputError(`unknown model configuration '${name}': expected one of ${Object.keys(UNET_CONFIGS).join(', ')}`);
  }
  return structuredClone(config);
}

/** Throws an error naming the field when a configuration cannot be built. */
export function validateUNetConfig(c: UNetConfig): void {
  const positiveInt = (field: keyof UNetConfig, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new InputError(`model configuration '${c.name}': ${field} must be a positive integer, got ${v}`);
  };
  positiveInt('imageSize', c.imageSize);
  positiveInt('inChannels', c.inChannels);
  positiveInt('modelChannels', c.modelChannels);
  positiveInt('outChannels', c.outChannels);
  positiveInt('numResBlocks', c.numResBlocks);
  positiveInt('numClasses', c.numClasses);
  positiveInt('normGroups', c.normGroups);
  if (c.channelMult.length === 0) throw new InputError(`model configuration '${c.name}': channelMult is empty`);
  for (const m of c.channelMult) positiveInt('channelMult', m);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new InputError(`model configuration '${c.name}': dropout must be in [0, 1), got ${c.dropout}`);
  const downsamples = c.channelMult.length - 1;
  if (c.imageSize % 2 ** downsamples !== 0) {
    throw new InputError(`model configuration '${c.name}': imageSize ${c.imageSize} is not divisible by 2^${downsamples} (one halving per level)`);
  }
  for (const m of c.channelMult) {
    const ch = m * c.modelChannels;
    if (ch % c.normGroups !== 0)
      throw new InputError(`model configuration '${c.name}': ${ch} channels are not divisible into ${c.normGroups} GroupNorm groups`);
  }
  if (c.numHeadChannels === -1) positiveInt('numHeads', c.numHeads);
}

/** Heads of an attention block with `channels` channels (guided-diffusion's rule). */
export function attentionHeads(c: UNetConfig, channels: number, upsampling: boolean): number {
  if (c.numHeadChannels !== -1) {
    if (channels % c.numHeadChannels !== 0) {
      throw new InputError(`model configuration '${c.name}': ${channels} channels are not divisible by numHeadChannels ${c.numHeadChannels}`);
    }
    return channels / c.numHeadChannels;
  }
  const heads = upsampling && c.numHeadsUpsample !== -1 ? c.numHeadsUpsample : c.numHeads;
  if (channels % heads !== 0) throw new InputError(`model configuration '${c.name}': ${channels} channels are not divisible by ${heads} heads`);
  return heads;
}

/** The time/label embedding width (guided-diffusion: 4 × model channels). */
export const embedDim = (c: UNetConfig) => 4 * c.modelChannels;
