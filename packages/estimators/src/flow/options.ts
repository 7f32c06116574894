/**
 * MIENF's options, their defaults, and the checks that refuse bad input before any tensor is
 * made: a wrong option or a data set too small for the split is an `InputError` naming the
 * cause, never a failure minutes into training.
 *
 * Rows: a seeded split puts ⌊n·trainFraction⌋ rows in training; the held-out rest is cut in two
 * halves. With early stopping (patience > 0) the first half (monitor rows) chooses the step
 * whose flows are kept, by their mean log-likelihood, and the second (estimate rows) is read by
 * the estimate (readout 'latents': the Gaussian MI of their latents) and the held-out mean
 * pointwise MI, so no row both chooses the model and measures it. Without early stopping every
 * held-out row is an estimate row (the monitor rows then only draw the curve).
 */
import { InputError } from '@mmmi/cli-kit';
import { BACKEND_CHOICES } from '@mmmi/tfjs-runtime';
import { checkPairedSamples, type PairedSamples } from '../estimator.js';

/** Where training starts: the sides in canonical coordinates with ρ at the canonical correlations (./cca.ts), or identity flows with ρ = 0. */
export type MienfStart = 'canonical' | 'identity';
export const MIENF_STARTS: readonly MienfStart[] = ['canonical', 'identity'];

/** Where the estimate is read: the fitted base's closed form, or a Gaussian fit to the held-out latents. */
export type MienfReadout = 'base' | 'latents';
export const MIENF_READOUTS: readonly MienfReadout[] = ['base', 'latents'];

/** One point of the training curve. */
export interface FlowCurvePoint {
  step: number;
  /** Mean negative log-likelihood of the training minibatches since the previous point, nats per row (standardised data). */
  trainNll: number;
  /** Mean negative log-likelihood of the monitor rows with the flows at this step. */
  heldOutNll: number;
  /** The base's closed-form MI at this step, −½ Σ log(1 − ρ_j²). */
  mi: number;
  seconds: number;
}

export interface MienfOptions {
  /** Blocks of each side's flow (default 3). */
  blocks?: number;
  /** Width of the coupling conditioners' hidden layers (default 32). */
  hidden?: number;
  /** Hidden layers of each conditioner (default 2). */
  layers?: number;
  /** Adam steps at most (default 1500). */
  steps?: number;
  /** Rows per training minibatch (default: all training rows, at most 1024). */
  batchSize?: number;
  /** Adam's learning rate (default 5e-3). */
  learningRate?: number;
  /** Seeds the split, the minibatches, the permutations and the initial weights (default 0). */
  seed?: number;
  /** Share of the rows that train the flows (default 0.5). */
  trainFraction?: number;
  /** A curve point (and an early-stopping check) every this many steps (default 25, and the last step). */
  evalEvery?: number;
  /** Stop after this many curve points without a better held-out log-likelihood and keep the best flows (default 4); 0 trains all steps. */
  patience?: number;
  /** 'base' (default): −½ Σ log(1 − ρ_j²) of the fitted base; 'latents': the Gaussian MI of the held-out rows' latents (bias-corrected). */
  readout?: MienfReadout;
  /** 'canonical' (default): start at the Gaussian fit (canonical coordinates, ρ = the canonical correlations); 'identity': identity flows, ρ = 0. */
  start?: MienfStart;
  /** tfjs backend to select ('auto', 'wasm', 'cpu', …); default: keep the active one, or select wasm once if none is. */
  backend?: string;
  /** Receives each curve point as it is made. */
  onProgress?: (point: FlowCurvePoint) => void;
  /** Receives one line per backend decision (default: none). */
  log?: (line: string) => void;
}

export interface ResolvedMienfOptions {
  blocks: number;
  hidden: number;
  layers: number;
  steps: number;
  /** null: all training rows, at most MIENF_DEFAULTS.maxBatchSize ({@link batchSizeFor}). */
  batchSize: number | null;
  learningRate: number;
  seed: number;
  trainFraction: number;
  evalEvery: number;
  patience: number;
  readout: MienfReadout;
  start: MienfStart;
  backend: string | undefined;
}

/**
 * The defaults: flows small enough for a CPU (about 10 ms a step for 1-D sides and 50 ms for
 * 5-D ones on the shared 2-core machine: tfjs launches some two thousand small kernels a step,
 * and that, not arithmetic, is the cost). Minibatches of all training rows up to 1024, since a
 * larger batch costs hardly more per step and gives a less noisy gradient, with a learning rate
 * of 5e-3. Early stopping on, because a flow fitted by maximum likelihood to a few thousand rows
 * over-fits (its training likelihood keeps rising while the held-out one falls).
 */
export const MIENF_DEFAULTS = {
  blocks: 3,
  hidden: 32,
  layers: 2,
  steps: 1500,
  maxBatchSize: 1024,
  learningRate: 5e-3,
  seed: 0,
  trainFraction: 0.5,
  evalEvery: 25,
  patience: 4,
  readout: 'base',
  start: 'canonical',
} as const;

function integer(name: string, v: number | undefined, fallback: number, min: number): number {
  const value = v ?? fallback;
  if (!Number.isInteger(value) || value < min) throw new InputError(`${name} = ${value}: an integer ≥ ${min} is needed`);
  return value;
}

/** Fills in the defaults and checks every option on its own; throws InputError naming the option. */
export function resolveMienfOptions(options: MienfOptions = {}): ResolvedMienfOptions {
  const learningRate = options.learningRate ?? MIENF_DEFAULTS.learningRate;
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new InputError(`learningRate = ${learningRate}: a finite number > 0 is needed`);
  const trainFraction = options.trainFraction ?? MIENF_DEFAULTS.trainFraction;
  if (!(trainFraction > 0 && trainFraction < 1)) throw new InputError(`trainFraction = ${trainFraction}: a number strictly between 0 and 1 is needed`);
  const readout = options.readout ?? MIENF_DEFAULTS.readout;
  if (!MIENF_READOUTS.includes(readout)) throw new InputError(`readout = '${readout}': expected one of ${MIENF_READOUTS.join(', ')}`);
  // checked here as well as by ensureTrainingBackend, so that a misspelt backend is refused before any work
  if (options.backend !== undefined && !BACKEND_CHOICES.includes(options.backend))
    throw new InputError(`backend = '${options.backend}': expected one of ${BACKEND_CHOICES.join(', ')}`);
  const start = options.start ?? MIENF_DEFAULTS.start;
  if (!MIENF_STARTS.includes(start)) throw new InputError(`start = '${start}': expected one of ${MIENF_STARTS.join(', ')}`);
  return {
    blocks: integer('blocks', options.blocks, MIENF_DEFAULTS.blocks, 1),
    hidden: integer('hidden', options.hidden, MIENF_DEFAULTS.hidden, 1),
    layers: integer('layers', options.layers, MIENF_DEFAULTS.layers, 1),
    steps: integer('steps', options.steps, MIENF_DEFAULTS.steps, 1),
    batchSize: options.batchSize === undefined ? null : integer('batchSize', options.batchSize, 0, 2),
    learningRate,
    seed: integer('seed', options.seed, MIENF_DEFAULTS.seed, 0),
    trainFraction,
    evalEvery: integer('evalEvery', options.evalEvery, MIENF_DEFAULTS.evalEvery, 1),
    patience: integer('patience', options.patience, MIENF_DEFAULTS.patience, 0),
    readout,
    start,
    backend: options.backend,
  };
}

/** Training, monitor and estimate row counts of n rows (see the module notes). */
export function mienfRowCounts(n: number, o: Pick<ResolvedMienfOptions, 'trainFraction' | 'patience'>): { train: number; monitor: number; estimate: number } {
  const train = Math.floor(n * o.trainFraction + 1e-9); // 0.29·100 is 28.999…96 in floating point
  const heldOut = n - train;
  const monitor = Math.floor(heldOut / 2);
  return { train, monitor, estimate: o.patience > 0 ? heldOut - monitor : heldOut };
}

/** Rows per minibatch: the option, or all training rows up to MIENF_DEFAULTS.maxBatchSize. */
export function batchSizeFor(o: Pick<ResolvedMienfOptions, 'batchSize'>, trainRows: number): number {
  return o.batchSize ?? Math.min(MIENF_DEFAULTS.maxBatchSize, trainRows);
}

/** Checks the data against the resolved options; throws InputError naming the cause. */
export function checkMienfInput(data: PairedSamples, o: ResolvedMienfOptions): void {
  checkPairedSamples(data, 4);
  const { train, monitor, estimate } = mienfRowCounts(data.n, o);
  // the canonical start (and any flow) needs a regular covariance of each side's training rows
  if (train <= data.dx + data.dy + 1)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${train} training rows for ${data.dx} + ${data.dy} dimensions: more than ${data.dx + data.dy + 1} are needed`,
    );
  const batch = batchSizeFor(o, Math.max(train, 2));
  if (train < batch)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${train} for training, fewer than one batch of ${batch}: lower batchSize or give more samples`,
    );
  if (monitor < 2)
    throw new InputError(
      `${data.n} samples with trainFraction ${o.trainFraction} leave ${monitor} monitor rows: at least 2 are needed; lower trainFraction or give more samples`,
    );
  // the Gaussian fit of the latents needs a regular joint covariance: more rows than dx + dy + 1
  if (o.readout === 'latents' && estimate <= data.dx + data.dy + 1)
    throw new InputError(
      `readout 'latents' fits a Gaussian to ${estimate} held-out rows of ${data.dx} + ${data.dy} latent dimensions: more than ${data.dx + data.dy + 1} are needed; ` +
        "give more samples, lower trainFraction or use readout 'base'",
    );
}
