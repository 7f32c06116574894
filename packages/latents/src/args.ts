/**
 * The latent model's command-line flags (SPEC §4), with the reference's names, and the one
 * way to read them: `@file` argument files, typed values, clear errors before any work
 * (the shared reader of @mmmi/cli-kit; see its README for the syntax and the refusals).
 */
import { parseOptions, type OptionTable, type ParseOptions, type ParsedOptions } from '@mmmi/cli-kit';

/** The reference's flags (SPEC §4), with the reference's names. */
export const REFERENCE_FLAGS = {
  dataset_size: { kind: 'int', min: 1, help: 'number of samples (draws of all modalities) in this job' },
  batch_size: { kind: 'int', min: 1, help: 'images per batch (each draw is N_mod images)' },
  labels: { kind: 'json', help: 'class of each modality, e.g. [1,6]' },
  dataset_name: { kind: 'name', help: 'output file prefix' },
  dataset_loc: { kind: 'string', help: 'output folder' },
  checkpoint_path: { kind: 'string', help: 'flow checkpoint file or registry name' },
  timestep_size: { kind: 'int', min: 1, help: 'batches between progress log lines' },
  sample_seed: { kind: 'int', min: 0, help: 'seed of the latent draws (default: job_id)' },
  job_id: { kind: 'int', min: 0, help: 'shard index; names the output file' },
  debug: { kind: 'int', min: 0, help: 'debug level (1: radii check)' },
  generation_paradigm: {
    kind: 'choice',
    choices: ['constructive', 'sampling'],
    help: 'constructive (DAG of proto-latents) or sampling (explicit covariance)',
  },
  calculate_MI: {
    kind: 'choice',
    choices: ['numerical', 'analytical'],
    bareValue: 'numerical',
    help: 'compute the MI table with this method (bare flag: numerical)',
  },
  N_mod: { kind: 'int', min: 1, help: 'number of modalities' },
  N_u: { kind: 'int', min: 0, help: 'number of local proto-latents' },
  rho_arg: { kind: 'jsonOrString', help: 'weights of the local proto-latents (list of N_u)' },
  DAG_ul: { kind: 'json', help: 'N_mod×N_u mask: local proto-latent l feeds modality i' },
  N_u_theta: { kind: 'int', min: 1, help: 'number of θ proto-latents' },
  eta_arg: { kind: 'jsonOrString', help: 'weights of the θ proto-latents in θ (list of N_u_theta)' },
  rho_theta_arg: { kind: 'jsonOrString', help: 'weights of the θ proto-latents in the modalities (list of N_u_theta)' },
  DAG_theta: { kind: 'json', help: 'N_mod×N_u_theta mask: θ proto-latent k feeds modality i' },
  T_vectors_method: { kind: 'string', help: 'templates: ones, random, a .npy file or a folder of images' },
  convert_templates: {
    kind: 'boolean',
    help: 'accept template images that are not 8-bit RGB (grey, alpha, 16-bit), converting them: grey replicated, alpha dropped, 16-bit rounded down to 8',
  },
  alpha: { kind: 'float', min: 0, minExclusive: true, help: 'decay of local proto-latents with |i−l|' },
  beta: { kind: 'float', min: 0, minExclusive: true, help: 'decay of θ proto-latents with modality index i' },
  percentile_to_align: {
    kind: 'float',
    min: 0,
    minExclusive: true,
    max: 1,
    help: 'align the latent norm quantile p (a fraction, e.g. 0.95) to the unit Gaussian',
  },
  cov_theta: { kind: 'json', help: 'sampling: covariance of each image with θ (scalar or list of N_mod)' },
  theta_var: { kind: 'float', min: 0, minExclusive: true, help: 'sampling: variance of θ' },
  cov_images: { kind: 'json', help: 'sampling: N_mod×N_mod covariance between images' },
  cov_seed: { kind: 'int', min: 0, help: 'seed of random templates / random cross-covariances' },
  epsilon: { kind: 'float', min: 0, help: 'sampling: added to the diagonal of Σ' },
  delta: { kind: 'float', min: 0, minExclusive: true, help: 'sampling: θ variance margin over max‖σ_iθ‖²' },
} as const satisfies OptionTable;

/** Flags this toolkit adds to the latent model. */
export const LATENT_EXTENSION_FLAGS = {
  mod_dim: { kind: 'int', min: 1, help: 'values per modality (default 3072 = 3·32·32)' },
  align_method: {
    kind: 'choice',
    choices: ['exact', 'sampled'],
    help: 'alignment quantile: exact (generalized chi-square, default) or sampled (reference: 20 000 draws)',
  },
} as const satisfies OptionTable;

/** Every flag of the latent model. */
export const MODEL_FLAGS = { ...REFERENCE_FLAGS, ...LATENT_EXTENSION_FLAGS } as const satisfies OptionTable;

export type ModelFlags = typeof MODEL_FLAGS;

/** Parsed flags of the model's table, or of a larger table that holds it (typed by that table). */
export type ParsedArgs<T extends OptionTable = ModelFlags> = ParsedOptions<T>;

/** Reads tokens (with `@file` expansion) against the model's flag table. */
export function parseArgs(tokens: readonly string[], flags?: undefined, options?: ParseOptions): ParsedArgs;
/** Reads tokens (with `@file` expansion) against a flag table (one that holds the model's, for a model). */
export function parseArgs<T extends OptionTable>(tokens: readonly string[], flags: T, options?: ParseOptions): ParsedArgs<T>;
export function parseArgs(tokens: readonly string[], flags: OptionTable = MODEL_FLAGS, options: ParseOptions = {}): ParsedOptions<OptionTable> {
  return parseOptions(tokens, flags, options);
}
