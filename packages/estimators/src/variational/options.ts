/**
 * The options of the variational estimators, their defaults, and the checks that refuse bad
 * input before any tensor is made: a wrong option or a data set too small for the split and
 * the batches is an `InputError` naming the cause, never a failure minutes into training.
 *
 * Sizes: the samples are split (seeded) into ⌊n·trainFraction⌋ training rows and the rest
 * held out. Training draws minibatches of K = batchSize training rows. The held-out rows are
 * cut into disjoint batches of evalBatchSize (the remainder is left out): with early stopping
 * (patience > 0, the default) the first `monitorBatches` of them choose when to stop and the
 * others give the estimate, so that no row both chooses the critic and measures it; without,
 * the monitor batches only draw the curve and every batch gives the estimate. Hence n_train ≥ K
 * and n_test ≥ (monitorBatches + 1)·evalBatchSize (early stopping) or ≥ evalBatchSize (none)
 * are required; two estimate batches or more give a standard error.
 *
 * Protocols (`protocol`): 'held-out' (the default) is the above. 'training-mean' is the protocol of
 * the benchmark fork behind arXiv 2510.21686 (after Song & Ermon's smile-mi-estimator code): no
 * split, every step a minibatch of K rows drawn with replacement from all n, no early stopping,
 * and the estimate is the mean of the per-step training values over all steps. It has no held-out
 * rows, so the options that only shape them (trainFraction, evalBatchSize, monitorBatches, a
 * non-zero patience) are refused rather than ignored; it needs n ≥ K.
 */
import { InputError } from '@mmmi/cli-kit';
import { checkPairedSamples, type PairedSamples } from '../estimator.js';
import type { CurvePoint } from './curve.js';

/** The f-DIME estimators (./dime.ts): trained on one derangement of the batch, read out as a mean log density ratio. */
export type DimeName = 'kl-dime' | 'gan-dime' | 'hd-dime';
export const DIME_NAMES: readonly DimeName[] = ['kl-dime', 'gan-dime', 'hd-dime'];
/** The bounds and f-DIME estimators; each is also the name of its estimator. */
export type BoundName = 'infonce' | 'nwj' | 'mine' | 'smile' | 'js' | 'dv' | DimeName;
export const BOUND_NAMES: readonly BoundName[] = ['infonce', 'nwj', 'mine', 'smile', 'js', 'dv', ...DIME_NAMES];
export const isDime = (bound: BoundName): bound is DimeName => (DIME_NAMES as readonly string[]).includes(bound);

/** 'held-out': train on a split, report the held-out value (ours); 'training-mean': the fork's mean of the training values (module notes). */
export type Protocol = 'held-out' | 'training-mean';
export const PROTOCOLS: readonly Protocol[] = ['held-out', 'training-mean'];

/** separable: f(x, y) = g(x)·h(y)/√E + c (one matmul per batch); concat: an MLP on [x, y] (K² evaluations per batch). */
export type CriticKind = 'separable' | 'concat';
/** mlp: on the side's features; cnn: on 3·k × 32 × 32 images (k stacked CHW modalities, dimension k·3072). */
export type EncoderKind = 'mlp' | 'cnn';

/** Values of one 32×32 RGB image, CHW. */
export const IMAGE_VALUES = 3 * 32 * 32;

export interface VariationalOptions {
  /** Critic form (default 'separable'). */
  critic?: CriticKind;
  /** Encoder of x and of y in a separable critic (default 'mlp' each). */
  xEncoder?: EncoderKind;
  yEncoder?: EncoderKind;
  /** Width of the hidden dense layers (default 32). */
  hidden?: number;
  /** Hidden dense layers of each MLP (default 2). */
  layers?: number;
  /** Embedding size E of a separable critic (default 16). */
  embedding?: number;
  /** Output channels of the CNN's stride-2 3×3 convolutions (default [16, 32, 32]: 32² → 4² pixels). */
  channels?: readonly number[];
  /** Adam steps (default 1000). */
  steps?: number;
  /** Pairs per training minibatch, K (default 128). */
  batchSize?: number;
  /** Pairs per held-out evaluation batch (default batchSize; InfoNCE's value is capped by log of it). */
  evalBatchSize?: number;
  /** Adam's learning rate (default 1e-3). */
  learningRate?: number;
  /** Seeds the split, the minibatches and the initial weights (default 0). */
  seed?: number;
  /** Share of the samples used for training, the rest held out (default 0.5). */
  trainFraction?: number;
  /** A training-curve point every this many steps (default 50, and the last step). */
  evalEvery?: number;
  /** Held-out batches evaluated for each curve point (default 4); with early stopping they are kept out of the estimate. */
  monitorBatches?: number;
  /**
   * Early stopping: stop when the bound on the monitor batches has not improved for this many
   * curve points and restore the best weights (default 4); 0 trains all `steps`.
   */
  patience?: number;
  /** SMILE's clip: e^f of the negative pairs is clipped to [e^−τ, e^τ] (default 5); Infinity: no clip (the value is then DV, the gradient still JS's). */
  tau?: number;
  /**
   * MINE's moving-average rate α of the denominator E_q[e^f]: ḿ ← (1 − α)ḿ + α·m (default 0.01).
   * The fork's "moving average 0.9" (ḿ ← 0.9ḿ + 0.1m) is emaRate 0.1.
   */
  emaRate?: number;
  /** 'held-out' (default) or 'training-mean' (the fork's protocol; see the module notes). */
  protocol?: Protocol;
  /** tfjs backend to select ('auto', 'wasm', 'cpu', …); default: keep the active one, or select wasm once if none is. */
  backend?: string;
  /** Receives each training-curve point as it is made. */
  onProgress?: (point: CurvePoint) => void;
  /** Receives one line per backend decision (default: none). */
  log?: (line: string) => void;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  critic: CriticKind;
  xEncoder: EncoderKind;
  yEncoder: EncoderKind;
  hidden: number;
  layers: number;
  embedding: number;
  channels: number[];
  steps: number;
  batchSize: number;
  evalBatchSize: number;
  learningRate: number;
  seed: number;
  trainFraction: number;
  evalEvery: number;
  monitorBatches: number;
  patience: number;
  tau: number;
  emaRate: number;
  protocol: Protocol;
  backend: string | undefined;
}

/**
 * The defaults. The critic is small on purpose: at a few thousand training rows a wider one
 * over-fits before it has learnt (5-D rotated Gaussians, n = 4000, the four bounds with early
 * stopping: hidden 64 and embedding 32 reached 66–80 % of I, hidden 32 and embedding 16 70–84 %;
 * one hidden layer did better on those but worse on 1-D pairs behind x³ and tanh maps). Give
 * larger data a wider critic.
 */
export const DEFAULTS = {
  critic: 'separable',
  encoder: 'mlp',
  hidden: 32,
  layers: 2,
  embedding: 16,
  channels: [16, 32, 32],
  steps: 1000,
  batchSize: 128,
  learningRate: 1e-3,
  seed: 0,
  trainFraction: 0.5,
  evalEvery: 50,
  monitorBatches: 4,
  patience: 4,
  tau: 5,
  emaRate: 0.01,
} as const;

function integer(name: string, v: number | undefined, fallback: number, min: number): number {
  const value = v ?? fallback;
  if (!Number.isInteger(value) || value < min) throw new InputError(`${name} = ${value}: an integer ≥ ${min} is needed`);
  return value;
}

function positive(name: string, v: number | undefined, fallback: number): number {
  const value = v ?? fallback;
  if (!(Number.isFinite(value) && value > 0)) throw new InputError(`${name} = ${value}: a finite number > 0 is needed`);
  return value;
}

function oneOf<T extends string>(name: string, v: T | undefined, fallback: T, choices: readonly T[]): T {
  const value = v ?? fallback;
  if (!choices.includes(value)) throw new InputError(`${name} = '${value}': expected one of ${choices.join(', ')}`);
  return value;
}

/** Fills in the defaults and checks every option on its own; throws InputError naming the option. */
export function resolveOptions(options: VariationalOptions = {}): ResolvedOptions {
  const critic = oneOf('critic', options.critic, DEFAULTS.critic, ['separable', 'concat']);
  const xEncoder = oneOf('xEncoder', options.xEncoder, DEFAULTS.encoder, ['mlp', 'cnn']);
  const yEncoder = oneOf('yEncoder', options.yEncoder, DEFAULTS.encoder, ['mlp', 'cnn']);
  if (critic === 'concat' && (xEncoder === 'cnn' || yEncoder === 'cnn'))
    throw new InputError("a CNN encoder needs the separable critic: the concat critic is an MLP on [x, y] (use critic: 'separable')");
  const batchSize = integer('batchSize', options.batchSize, DEFAULTS.batchSize, 2);
  const channels = [...(options.channels ?? DEFAULTS.channels)];
  if (channels.length < 1 || channels.length > 5 || !channels.every((c) => Number.isInteger(c) && c >= 1))
    throw new InputError(`channels = [${channels.join(', ')}]: 1 to 5 positive integers are needed (each a stride-2 convolution of 32×32 images)`);
  const trainFraction = options.trainFraction ?? DEFAULTS.trainFraction;
  if (!(trainFraction > 0 && trainFraction < 1)) throw new InputError(`trainFraction = ${trainFraction}: a number strictly between 0 and 1 is needed`);
  const protocol = oneOf('protocol', options.protocol, 'held-out', PROTOCOLS);
  if (protocol === 'training-mean') refuseHeldOutOptions(options);
  const tau = options.tau ?? DEFAULTS.tau;
  if (!(tau > 0)) throw new InputError(`tau = ${tau}: a number > 0 is needed (Infinity for no clip)`);
  // the backend's name is checked by ensureTrainingBackend against tfjs-runtime's list of them
  const backend = options.backend;
  return {
    critic,
    xEncoder,
    yEncoder,
    hidden: integer('hidden', options.hidden, DEFAULTS.hidden, 1),
    layers: integer('layers', options.layers, DEFAULTS.layers, 0),
    embedding: integer('embedding', options.embedding, DEFAULTS.embedding, 1),
    channels,
    steps: integer('steps', options.steps, DEFAULTS.steps, 1),
    batchSize,
    evalBatchSize: integer('evalBatchSize', options.evalBatchSize, batchSize, 2),
    learningRate: positive('learningRate', options.learningRate, DEFAULTS.learningRate),
    seed: integer('seed', options.seed, DEFAULTS.seed, 0),
    trainFraction,
    evalEvery: integer('evalEvery', options.evalEvery, DEFAULTS.evalEvery, 1),
    monitorBatches: integer('monitorBatches', options.monitorBatches, DEFAULTS.monitorBatches, 1),
    patience: integer('patience', options.patience, protocol === 'training-mean' ? 0 : DEFAULTS.patience, 0),
    tau,
    emaRate: (() => {
      const a = options.emaRate ?? DEFAULTS.emaRate;
      if (!(a > 0 && a <= 1)) throw new InputError(`emaRate = ${a}: a number in (0, 1] is needed`);
      return a;
    })(),
    protocol,
    backend,
  };
}

/** The 'training-mean' protocol has no held-out rows: options that would only shape them are refused, not ignored. */
function refuseHeldOutOptions(options: VariationalOptions): void {
  const why = "the 'training-mean' protocol trains on all n rows and reports the mean training value, with no held-out rows";
  for (const name of ['trainFraction', 'evalBatchSize', 'monitorBatches'] as const)
    if (options[name] !== undefined) throw new InputError(`${name} = ${options[name]}: ${why}; leave ${name} out or use protocol: 'held-out'`);
  if (options.patience !== undefined && options.patience !== 0)
    throw new InputError(`patience = ${options.patience}: ${why} to stop on (it trains all steps); leave patience out or set it to 0`);
}

/** Training and held-out row counts of n samples. */
export function splitSizes(n: number, trainFraction: number): { train: number; test: number } {
  const train = Math.floor(n * trainFraction + 1e-9); // 0.29·100 is 28.999…96 in floating point
  return { train, test: n - train };
}

/** Checks the data against the resolved options (shapes, image sides, sizes); throws InputError naming the cause. */
export function checkVariationalInput(data: PairedSamples, o: ResolvedOptions): void {
  checkPairedSamples(data, 4);
  for (const [side, kind, d] of [
    ['x', o.xEncoder, data.dx],
    ['y', o.yEncoder, data.dy],
  ] as const) {
    if (kind === 'cnn' && d % IMAGE_VALUES !== 0)
      throw new InputError(
        `${side} has ${d} values per sample: the CNN encoder reads k stacked 3×32×32 images (a multiple of ${IMAGE_VALUES}); use ${side}Encoder: 'mlp' (on features, e.g. PCA)`,
      );
  }
  if (o.protocol === 'training-mean') {
    if (data.n < o.batchSize)
      throw new InputError(
        `${data.n} samples are fewer than one training batch of ${o.batchSize} (protocol 'training-mean'): lower batchSize or give more samples`,
      );
    return;
  }
  const { train, test } = splitSizes(data.n, o.trainFraction);
  if (train < o.batchSize)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${train} for training, fewer than one batch of ${o.batchSize}: lower batchSize or give more samples`,
    );
  if (o.patience > 0 && test < (o.monitorBatches + 1) * o.evalBatchSize)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${test} held out: early stopping needs ${o.monitorBatches} monitor batches ` +
        `and at least one more for the estimate, each of ${o.evalBatchSize} (${(o.monitorBatches + 1) * o.evalBatchSize} rows); ` +
        'lower monitorBatches, evalBatchSize or trainFraction, turn early stopping off (patience: 0), or give more samples',
    );
  if (test < o.evalBatchSize)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${test} held out, fewer than one evaluation batch of ${o.evalBatchSize}: lower evalBatchSize or trainFraction, or give more samples`,
    );
}

/**
 * The held-out rows' roles (see the module notes): `monitor` for the curve (and early stopping),
 * `estimate` for the final value, as row ranges [from, to) of the held-out split.
 */
export function heldOutRoles(test: number, o: ResolvedOptions): { monitor: [number, number]; estimate: [number, number] } {
  const monitorRows = Math.min(o.monitorBatches * o.evalBatchSize, Math.floor(test / o.evalBatchSize) * o.evalBatchSize);
  return { monitor: [0, monitorRows], estimate: o.patience > 0 ? [monitorRows, test] : [0, test] };
}
