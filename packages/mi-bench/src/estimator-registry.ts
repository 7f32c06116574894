/**
 * The estimators a study can name, and what each needs of its input, so that a combination
 * that cannot work (a 3073-dimensional Gaussian fit on 500 draws, a binned estimate of a
 * 16-dimensional side) is refused before any draw is read.
 */
import { InputError } from '@mmmi/cli-kit';
import {
  binned,
  checkLmiInput,
  checkMienfInput,
  checkMindeInput,
  checkVariationalInput,
  externalEstimator,
  gaussian,
  IMAGE_VALUES,
  ksg1,
  ksg2,
  lmi,
  mienf,
  minde,
  resolveLmiOptions,
  resolveMienfOptions,
  resolveMindeOptions,
  resolveOptions,
  VARIATIONAL_ESTIMATORS,
  type MiEstimator,
  type VariationalOptions,
} from '@mmmi/estimators';

export interface EstimatorEntry {
  name: string;
  estimator: MiEstimator<Record<string, unknown>>;
  /** Options passed on every call. */
  options: Record<string, unknown>;
  /** Why this estimator cannot take samples of n draws with side dimensions dx and dy, or null. */
  refuses(n: number, dx: number, dy: number): string | null;
  /** Whether it needs the raw image values (a CNN critic) rather than any features. */
  needsImages?: boolean;
  /** Options that depend on the sample size and sides (a critic's batch size, its encoders). */
  optionsFor?(n: number, dx: number, dy: number): Record<string, unknown>;
}

const anyEstimator = (e: MiEstimator<never>) => e as unknown as MiEstimator<Record<string, unknown>>;

/** The classical estimators, by the name a user writes. */
export const CLASSICAL: Record<string, Omit<EstimatorEntry, 'name'>> = {
  gaussian: {
    estimator: anyEstimator(gaussian),
    options: { biasCorrected: true },
    refuses: (n, dx, dy) =>
      n > dx + dy + 1
        ? null
        : `${dx + dy} dimensions need more than ${dx + dy + 1} draws for a regular covariance (n = ${n}); reduce them, e.g. --features pca16`,
  },
  ksg1: {
    estimator: anyEstimator(ksg1),
    options: { k: 3 },
    refuses: (n, dx, dy) =>
      dx + dy > 64 ? `k-NN in ${dx + dy} dimensions measures nothing useful; reduce them, e.g. --features pca8` : n < 8 ? `n = ${n} is too few` : null,
  },
  ksg2: {
    estimator: anyEstimator(ksg2),
    options: { k: 3 },
    refuses: (n, dx, dy) =>
      dx + dy > 64 ? `k-NN in ${dx + dy} dimensions measures nothing useful; reduce them, e.g. --features pca8` : n < 8 ? `n = ${n} is too few` : null,
  },
  binned: {
    estimator: anyEstimator(binned),
    options: {},
    refuses: (n, dx, dy) =>
      dx !== 1 || dy !== 1 ? `bins one-dimensional sides only (here ${dx} and ${dy}); use --features pca1 or a θ pair` : n < 8 ? `n = ${n} is too few` : null,
  },
};

/**
 * A variational estimator's options for n samples: minibatches of min(128, n/10) pairs, so that
 * half the draws train and the held-out half holds the monitor batches of early stopping and
 * the estimate's own batches at every size the harness takes. InfoNCE is capped at log K of
 * its batch K: at small n the cap shows in the estimates, as it should.
 */
export const criticBatchSize = (n: number): number => Math.max(2, Math.min(128, Math.floor(n / 10)));

function variationalOptions(n: number, dx: number, dy: number, cnn: boolean): VariationalOptions {
  const batchSize = criticBatchSize(n);
  const encoder = (d: number) => (cnn && d % IMAGE_VALUES === 0 ? 'cnn' : 'mlp');
  return { batchSize, xEncoder: encoder(dx), yEncoder: encoder(dy) };
}

function variationalEntry(bound: keyof typeof VARIATIONAL_ESTIMATORS, cnn: boolean): Omit<EstimatorEntry, 'name'> {
  return {
    estimator: anyEstimator(VARIATIONAL_ESTIMATORS[bound]),
    options: {},
    needsImages: cnn,
    optionsFor: (n, dx, dy) => ({ ...variationalOptions(n, dx, dy, cnn) }),
    refuses: (n, dx, dy) => {
      if (cnn && dx % IMAGE_VALUES !== 0 && dy % IMAGE_VALUES !== 0) return `its CNN critic reads 3×32×32 images; neither side is one (${dx} and ${dy} values)`;
      try {
        const o = resolveOptions(variationalOptions(n, dx, dy, cnn));
        checkVariationalInput({ n, dx, dy, x: new Float64Array(n * dx), y: new Float64Array(n * dy) }, o);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  };
}

/** The variational estimators: an MLP critic on features, or (name-cnn) a CNN critic on raw images. */
export const VARIATIONAL: Record<string, Omit<EstimatorEntry, 'name'>> = Object.fromEntries(
  (Object.keys(VARIATIONAL_ESTIMATORS) as (keyof typeof VARIATIONAL_ESTIMATORS)[]).flatMap((b) => [
    [b, variationalEntry(b, false)],
    [`${b}-cnn`, variationalEntry(b, true)],
  ]),
);

/** The largest side MIENF takes here: its flows are small (a CPU trains them in tens of seconds), and a few thousand draws cannot fit a flow to image-sized sides. */
export const MIENF_MAX_SIDE = 32;

/** MIENF (Butakov et al. 2024): a normalizing flow per side and a tridiagonal Gaussian base, on feature vectors. */
export const FLOW: Record<string, Omit<EstimatorEntry, 'name'>> = {
  mienf: {
    estimator: anyEstimator(mienf),
    options: {},
    refuses: (n, dx, dy) => {
      if (Math.max(dx, dy) > MIENF_MAX_SIDE)
        return `its flows take at most ${MIENF_MAX_SIDE} values per side (here ${dx} and ${dy}); reduce them to features first, e.g. --features pca16`;
      try {
        checkMienfInput({ n, dx, dy, x: new Float64Array(n * dx), y: new Float64Array(n * dy) }, resolveMienfOptions());
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
};

/** The largest side MINDE's MLP denoiser takes here (the authors read images with a UNet, which is not built). */
export const MINDE_MAX_SIDE = 64;

/** MINDE-C (Franzese et al. 2024): the Girsanov gap of a conditional denoiser's scores, on feature vectors. */
export const DIFFUSION: Record<string, Omit<EstimatorEntry, 'name'>> = {
  minde: {
    estimator: anyEstimator(minde),
    options: {},
    refuses: (n, dx, dy) => {
      if (Math.max(dx, dy) > MINDE_MAX_SIDE)
        return `its MLP denoiser takes at most ${MINDE_MAX_SIDE} values per side (here ${dx} and ${dy}); reduce them to features first, e.g. --features pca16`;
      try {
        checkMindeInput({ n, dx, dy, x: new Float64Array(n * dx), y: new Float64Array(n * dy) }, resolveMindeOptions());
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
};

/**
 * LMI's minibatch for n draws: a quarter of its training half, within [16, 512], so that every epoch
 * takes at least four Adam steps, as the authors' 512 does from n = 4096 on (at n = 500 their 512
 * would be one step per epoch, 300 steps in all).
 */
export const lmiBatchSize = (n: number): number => Math.max(16, Math.min(512, Math.floor(n / 8)));

/**
 * The largest side LMI takes: two stacked 3×32×32 images. Its networks grow with the side (width up
 * to 256, see the estimators README): one 3072-value side cost 2 s per epoch at n = 2000 on one wasm
 * thread (bench/lmi.bench.ts), so two at n = 10 000 take about 20 s per epoch, up to 300 epochs.
 */
export const LMI_MAX_SIDE = 2 * IMAGE_VALUES;

/** LMI (Gowri et al. 2024): KSG on 8-dimensional codes from paired autoencoders with cross-prediction; any features, pixels too. */
export const LATENT: Record<string, Omit<EstimatorEntry, 'name'>> = {
  lmi: {
    estimator: anyEstimator(lmi),
    options: {},
    optionsFor: (n) => ({ batchSize: lmiBatchSize(n) }),
    refuses: (n, dx, dy) => {
      if (Math.max(dx, dy) > LMI_MAX_SIDE)
        return `its networks take at most ${LMI_MAX_SIDE} values per side on a CPU (here ${dx} and ${dy}); reduce them to features first, e.g. --features pca16`;
      try {
        checkLmiInput({ n, dx, dy, x: new Float64Array(n * dx), y: new Float64Array(n * dy) }, resolveLmiOptions({ batchSize: lmiBatchSize(n) }));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
};

/** What a command's flags set of the trained estimators; a flag left out leaves each estimator its own default. */
export interface TrainingFlags {
  /** Adam steps: a variational critic's, MIENF's flows' and MINDE's denoiser's. */
  steps?: number;
  /** LMI's most passes over its training rows. */
  epochs?: number;
  /** tfjs backend of every trained estimator. */
  backend?: string;
}

/** The per-estimator options the flags give: each trained estimator receives the flags that mean something to it, and only those given. */
export function trainingOptions(f: TrainingFlags): Record<string, Record<string, unknown>> {
  const given = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const trainedBySteps = given({ steps: f.steps, backend: f.backend });
  return {
    ...Object.fromEntries(Object.keys(VARIATIONAL).map((name) => [name, trainedBySteps])),
    mienf: trainedBySteps,
    minde: trainedBySteps,
    lmi: given({ epochs: f.epochs, backend: f.backend }),
  };
}

export const ESTIMATOR_NAMES: readonly string[] = [
  ...Object.keys(CLASSICAL),
  ...Object.keys(VARIATIONAL),
  ...Object.keys(FLOW),
  ...Object.keys(DIFFUSION),
  ...Object.keys(LATENT),
];

/** The entries for the names given (and an external command, named 'external'), unknown names refused with the list. */
export function resolveEstimators(names: readonly string[], externalCommand?: readonly string[]): EstimatorEntry[] {
  const out: EstimatorEntry[] = [];
  for (const name of names) {
    if (name === 'external') {
      if (!externalCommand?.length)
        throw new InputError('--estimators external needs --external_command "<program> <args…>" (it is run as <program> <args…> <x.npy> <y.npy>)');
      out.push({
        name,
        estimator: anyEstimator(externalEstimator(externalCommand, 'external')),
        options: {},
        refuses: (n) => (n < 2 ? `n = ${n} is too few` : null),
      });
      continue;
    }
    const entry = CLASSICAL[name] ?? VARIATIONAL[name] ?? FLOW[name] ?? DIFFUSION[name] ?? LATENT[name];
    if (!entry) throw new InputError(`--estimators: unknown estimator '${name}' (known: ${[...ESTIMATOR_NAMES, 'external'].join(', ')})`);
    out.push({ name, ...entry });
  }
  if (out.length === 0) throw new InputError('--estimators: name at least one estimator');
  return out;
}
