/**
 * The options of latent MI (LMI), their defaults, and the checks that refuse bad input before any
 * tensor is made: a wrong option, or data too few for the split, is an `InputError` naming the
 * cause, never a failure minutes into training.
 *
 * Defaults follow the authors' code (github.com/ggdna/latent-mutual-information, `lmi/lmi.py` and
 * `lmi/models.py`, the NeurIPS 2024 paper's; their later `latentmi` package keeps them but for
 * k = 4, widths of 1024 and dropout in the cross decoders):
 * 8 latent dimensions per side, Adam at learning rate 1e-4 (ε = 1e-7), minibatches of 512, at
 * most 300 epochs with early stopping after 30 epochs without a lower validation loss, half
 * the rows for training and the other half for the estimate, self- and cross-reconstruction
 * weighted 1 and 1, inputs standardised and clipped to ±10, KSG with k = 3 (their code's NPEET
 * KSG: variant 1, ties broken by noise of 10⁻¹⁰).
 *
 * Adaptations, each an option:
 *  - `maxHidden` (256): the paper's first hidden width is L = 2^⌊log₂ d⌋ (then L/2, L/4), which is
 *    2048 for a 3072-value image: an image side's three networks are then about 27 million
 *    multiply-adds per row, some 40 billion per step of 512 rows with the gradients, far too
 *    many for one CPU thread. The default width is capped at 256 so that images stay trainable;
 *    `maxHidden: 4096` restores the paper's rule for any d here.
 *  - the width is at least 4 × latentDim, so that the narrowest layer, L/4, is never narrower than
 *    the latent (the paper's rule gives L = 1 for a one-dimensional side, which its code refuses).
 *  - a side of d < latentDim values gets a d-dimensional latent: a wider code cannot hold more of
 *    that side, and KSG's bias grows with the dimension it searches.
 *
 * One departure offered, off by default: `codeActivation: 'linear'` drops the LeakyReLU the
 * authors put on the code itself. That activation folds the code's negative half-space by a
 * factor of 5, which makes the codes' density uneven at the scale of KSG's neighbourhoods:
 * measured on 5-D Gaussian latents (ρ = 0.5 per pair, I = 0.719, 2000 pairs), KSG read 0.47–0.52
 * on linear 8-D images of the latents and 0.35–0.38 on the same images after the LeakyReLU; on
 * trained codes (n = 4000, three seeds, the schedule of test/lmi-5d.test.ts) 0.38–0.42 linear
 * against 0.30–0.33 with the authors' code activation.
 */
import { InputError } from '@mmmi/cli-kit';
import { checkPairedSamples, type PairedSamples } from '../estimator.js';
import type { KsgVariant } from '../neighbours.js';
import { splitSizes } from '../variational/options.js';

/** One point of the training curve: mean losses of an epoch, on the training and the held-out rows. */
export interface LmiCurvePoint {
  epoch: number;
  /** Mean training loss over the epoch's minibatches (weighted by their rows). */
  train: number;
  /** Loss on the held-out rows after the epoch: what early stopping watches. */
  validation: number;
  /** Seconds since training began. */
  seconds: number;
}

/** The activation of the encoders' last layer, the code: the authors' LeakyReLU or none. */
export type CodeActivation = 'leaky' | 'linear';

export interface LmiOptions {
  /** The code layer's activation (default 'leaky', the authors'; 'linear': none, see the module notes). */
  codeActivation?: CodeActivation;
  /** Latent dimensions of each side's code (default 8, the paper's); a side with fewer values gets as many as it has. */
  latentDim?: number;
  /** Width L of the first hidden layer of every network (then L/2, L/4); default per side: min(maxHidden, max(2^⌊log₂ d⌋, 4·latentDim)). */
  hidden?: number;
  /** Cap on the default width (default 256); ignored when `hidden` is given. */
  maxHidden?: number;
  /** Most passes over the training rows (default 300). */
  epochs?: number;
  /** Stop after this many epochs without a lower held-out loss and keep the best epoch's weights (default 30); 0 trains all epochs. */
  patience?: number;
  /** Rows per minibatch (default 512); the last minibatch of an epoch takes the rows left over, as PyTorch's DataLoader does. */
  batchSize?: number;
  /** Adam's learning rate (default 1e-4). */
  learningRate?: number;
  /** Weight α of the self-reconstruction losses (default 1). */
  alpha?: number;
  /** Weight λ of the cross-prediction losses (default 1; 0: two plain autoencoders). */
  lambda?: number;
  /** Share of the rows that train the networks (default 0.5); the rest give the estimate. */
  trainFraction?: number;
  /** KSG's neighbour count on the latent codes (default 3). */
  k?: number;
  /** KSG variant (default 1, the paper's NPEET estimator). */
  variant?: KsgVariant;
  /** Relative amplitude of KSG's deterministic tie-breaking noise on the codes (default 1e-10; 0: none). */
  jitter?: number;
  /** Standardised inputs are clipped to ±clip (default 10, the paper's); Infinity: no clipping. */
  clip?: number;
  /** Seeds the split, the minibatches and the initial weights (default 0). */
  seed?: number;
  /** tfjs backend to select ('auto', 'wasm', 'cpu', …); default: keep the active one, or select wasm once if none is. */
  backend?: string;
  /** Receives each epoch's curve point as it is made. */
  onProgress?: (point: LmiCurvePoint) => void;
  /** Receives one line per backend decision (default: none). */
  log?: (line: string) => void;
}

/** Options with every default filled in. */
export interface ResolvedLmiOptions {
  codeActivation: CodeActivation;
  latentDim: number;
  hidden: number | undefined;
  maxHidden: number;
  epochs: number;
  patience: number;
  batchSize: number;
  learningRate: number;
  alpha: number;
  lambda: number;
  trainFraction: number;
  k: number;
  variant: KsgVariant;
  jitter: number;
  clip: number;
  seed: number;
  backend: string | undefined;
}

export const LMI_DEFAULTS = {
  codeActivation: 'leaky',
  latentDim: 8,
  maxHidden: 256,
  epochs: 300,
  patience: 30,
  batchSize: 512,
  learningRate: 1e-4,
  alpha: 1,
  lambda: 1,
  trainFraction: 0.5,
  k: 3,
  variant: 1,
  jitter: 1e-10,
  clip: 10,
  seed: 0,
} as const;

/** Adam's ε in the authors' code (PyTorch's default is 1e-8; they set 1e-7). */
export const ADAM_EPSILON = 1e-7;

function integer(name: string, v: number | undefined, fallback: number, min: number): number {
  const value = v ?? fallback;
  if (!Number.isInteger(value) || value < min) throw new InputError(`${name} = ${value}: an integer ≥ ${min} is needed`);
  return value;
}

function nonNegative(name: string, v: number | undefined, fallback: number): number {
  const value = v ?? fallback;
  if (!(Number.isFinite(value) && value >= 0)) throw new InputError(`${name} = ${value}: a finite number ≥ 0 is needed`);
  return value;
}

/** Fills in the defaults and checks every option on its own; throws InputError naming the option. */
export function resolveLmiOptions(options: LmiOptions = {}): ResolvedLmiOptions {
  const hidden = options.hidden === undefined ? undefined : integer('hidden', options.hidden, 0, 4);
  const learningRate = options.learningRate ?? LMI_DEFAULTS.learningRate;
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new InputError(`learningRate = ${learningRate}: a finite number > 0 is needed`);
  const alpha = nonNegative('alpha', options.alpha, LMI_DEFAULTS.alpha);
  const lambda = nonNegative('lambda', options.lambda, LMI_DEFAULTS.lambda);
  if (alpha + lambda === 0) throw new InputError('alpha = 0 and lambda = 0: the networks would have nothing to learn; give either weight a positive value');
  const trainFraction = options.trainFraction ?? LMI_DEFAULTS.trainFraction;
  if (!(trainFraction > 0 && trainFraction < 1)) throw new InputError(`trainFraction = ${trainFraction}: a number strictly between 0 and 1 is needed`);
  const variant = options.variant ?? LMI_DEFAULTS.variant;
  if (variant !== 1 && variant !== 2) throw new InputError(`variant = ${String(variant)}: KSG's variant is 1 or 2`);
  const codeActivation = options.codeActivation ?? LMI_DEFAULTS.codeActivation;
  if (codeActivation !== 'leaky' && codeActivation !== 'linear') throw new InputError(`codeActivation = '${String(codeActivation)}': expected leaky or linear`);
  const clip = options.clip ?? LMI_DEFAULTS.clip;
  if (!(clip > 0)) throw new InputError(`clip = ${clip}: a number > 0 is needed (Infinity: no clipping)`);
  // the backend's name is checked by ensureTrainingBackend against tfjs-runtime's list of them
  return {
    codeActivation,
    latentDim: integer('latentDim', options.latentDim, LMI_DEFAULTS.latentDim, 1),
    hidden,
    maxHidden: integer('maxHidden', options.maxHidden, LMI_DEFAULTS.maxHidden, 4),
    epochs: integer('epochs', options.epochs, LMI_DEFAULTS.epochs, 1),
    patience: integer('patience', options.patience, LMI_DEFAULTS.patience, 0),
    batchSize: integer('batchSize', options.batchSize, LMI_DEFAULTS.batchSize, 1),
    learningRate,
    alpha,
    lambda,
    trainFraction,
    k: integer('k', options.k, LMI_DEFAULTS.k, 1),
    variant,
    jitter: nonNegative('jitter', options.jitter, LMI_DEFAULTS.jitter),
    clip,
    seed: integer('seed', options.seed, LMI_DEFAULTS.seed, 0),
    backend: options.backend,
  };
}

/** Latent dimensions of a side of d values: latentDim, or d where that is smaller. */
export const latentDimOf = (d: number, o: ResolvedLmiOptions): number => Math.min(o.latentDim, d);

/** The first hidden width L of a side of d values (see the module notes); the networks then narrow to L/2 and L/4. */
export function hiddenWidthOf(d: number, o: ResolvedLmiOptions): number {
  if (o.hidden !== undefined) return o.hidden;
  const paperWidth = 2 ** Math.floor(Math.log2(d));
  return Math.min(o.maxHidden, Math.max(paperWidth, 4 * o.latentDim));
}

/** Checks the data against the resolved options (shapes, values, split sizes); throws InputError naming the cause. */
export function checkLmiInput(data: PairedSamples, o: ResolvedLmiOptions): void {
  checkPairedSamples(data, 2);
  const { train, test } = splitSizes(data.n, o.trainFraction);
  if (train < 2)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${train} for training the autoencoders: at least 2 are needed; give more samples or raise trainFraction`,
    );
  if (test <= o.k)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${test} held out for the KSG estimate, which needs more than k = ${o.k}; ` +
        'give more samples, lower trainFraction or k',
    );
}
