/**
 * The paper's v2 estimator benchmark (arXiv 2510.21686 v2: the authors' fork of Lee et al.'s
 * suite, itself from Song & Ermon's SMILE code), as the `paper-v2` preset of `mmmi-bench study`.
 *
 * Data: `simple_fig1_DAG` (two modalities sharing one θ proto-latent, one local proto-latent
 * each) with only ρ_θ swept over 0.001 … 0.1; the pair is I(X_1; X_2), whose exact value each
 * dataset's manifest gives (the paper's table: 0.0085 … 3.211 nats, kept here to cross-check).
 *
 * Estimators: the fork's eight — NWJ, JS, InfoNCE, DV, MINE (moving average 0.9, i.e. our
 * emaRate 0.1), SMILE with clip τ = 1, 5 and ∞ — each with the fork's critic: one MLP on the
 * concatenated pair (2·3072 → 256 → 256 → 256 → 1, ReLU), Adam at 5e-4, batches of 64 pairs,
 * 20 000 steps. Inputs: the pixels X or the exact latents Noise.
 *
 * Protocols: `fork` is theirs (no held-out split, minibatches drawn with replacement from all
 * draws, the estimate = the mean of every step's training value); `held-out` is ours (a seeded
 * half trains, early stopping on held-out monitor batches, the bound evaluated on the other
 * held-out rows). Both run on the same data with the same critic, so the difference is the
 * protocol's alone.
 */
import type { Source } from '../../pool.js';

export const V2_PRESET = 'paper-v2';

/** The argument file the preset varies (generation_arguments/, relative to the repository). */
export const V2_ARGUMENT_FILE = 'simple_fig1_DAG.txt';

/** ρ_θ of the sweep, and the paper's I(X_1; X_2) at each, nats. */
export const V2_RHO_THETA: readonly number[] = [0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1];
export const V2_PAPER_TRUTHS: readonly number[] = [0.0085, 0.069, 0.178, 0.436, 0.972, 1.618, 2.52, 3.211];

/** The full-size study: draws per dataset, training steps per estimate, the critic's hidden width. */
export const V2_FULL_SIZE = { draws: 10_000, steps: 20_000, criticHidden: 256 } as const;

/** One of the fork's estimators: our estimator and the options that make it theirs. */
export interface V2Variant {
  /** The name in rows and tables. */
  name: string;
  estimator: string;
  options: Readonly<Record<string, unknown>>;
}

export const V2_VARIANTS: readonly V2Variant[] = [
  { name: 'nwj', estimator: 'nwj', options: {} },
  { name: 'js', estimator: 'js', options: {} },
  { name: 'infonce', estimator: 'infonce', options: {} },
  { name: 'dv', estimator: 'dv', options: {} },
  // the fork's moving average 0.9 keeps 0.9 of the old denominator: rate 0.1
  { name: 'mine', estimator: 'mine', options: { emaRate: 0.1 } },
  { name: 'smile-1', estimator: 'smile', options: { tau: 1 } },
  { name: 'smile-5', estimator: 'smile', options: { tau: 5 } },
  { name: 'smile-inf', estimator: 'smile', options: { tau: Infinity } },
];

/** The fork's critic and optimiser; `steps` comes from the study's size. */
export const FORK_CRITIC: Readonly<Record<string, unknown>> = { critic: 'concat', hidden: 256, layers: 3, learningRate: 5e-4, batchSize: 64 };

export const V2_PROTOCOLS = ['fork', 'held-out'] as const;
export type V2Protocol = (typeof V2_PROTOCOLS)[number];

/** The estimator option that selects each protocol (the estimators' own name for it). */
export const PROTOCOL_OPTIONS: Readonly<Record<V2Protocol, Readonly<Record<string, unknown>>>> = {
  fork: { protocol: 'training-mean' },
  'held-out': { protocol: 'held-out' },
};

/** X (the images) or Noise (the exact latents), as the harness's feature sources call them. */
export const V2_INPUTS: readonly Source[] = ['pixels', 'latents'];
