/**
 * Options of a generation job: the reference's flags (SPEC §4) and this toolkit's, parsed
 * and checked before any model is built or any file is written.
 */
import { InputError, type OptionTable } from '@mmmi/cli-kit';
import { LATENT_EXTENSION_FLAGS, MAX_JOB_STREAMS, REFERENCE_FLAGS, parseArgs, type ParsedArgs } from '@mmmi/latents';
import { ENGINES, EXECUTION_PROVIDERS, ODE_METHODS, type EngineChoice, type ExecutionProvider } from '@mmmi/flow-train';
import { BACKEND_CHOICES } from '@mmmi/tfjs-runtime';
import { TRANSFORMS, type TransformName } from './maps/transforms.js';
import { SCALINGS, type ScalingName } from './scaling.js';

/** The names of a table of named things, typed as its keys. */
const namesOf = <T extends object>(table: T): (keyof T & string)[] => Object.keys(table).filter((k): k is keyof T & string => k in table);

export const GENERATION_FLAGS = {
  ...REFERENCE_FLAGS,
  ...LATENT_EXTENSION_FLAGS,
  transform: {
    kind: 'choice',
    choices: namesOf(TRANSFORMS),
    help: 'model-free invertible map applied to each modality instead of a flow checkpoint',
  },
  scaling: {
    kind: 'choice',
    choices: namesOf(SCALINGS),
    help: "output scaling: affine (x/2 + 1/2, float32; the default with a flow: MI exact), float (x unchanged; the default with --transform), minmax-batch (the reference's per-batch min–max and 8 bits: MI approximate), clamp (x/2 + 1/2 clamped, 8 bits: MI approximate)",
  },
  whiten: {
    kind: 'choice',
    choices: ['on', 'off'],
    help: "feed the map each modality's latent whitened, w_i = Σ_ii^(−1/2)·z_i, exactly the unit noise a flow was trained on (SPEC §3b; MI unchanged): on (default with a flow), off (the reference; default with --transform)",
  },
  ode_method: { kind: 'choice', choices: ODE_METHODS, help: "ODE solver of the flow map (default: the checkpoint's)" },
  ode_nfe: { kind: 'int', min: 1, help: "time-grid steps of the flow map (default: the checkpoint's; the reference uses 9)" },
  ode_grid: {
    kind: 'choice',
    choices: ['reference', 'uniform', 'edm', 'checkpoint'],
    help: "time grid of the flow map: the reference's 10 points, uniform or EDM with --ode_nfe steps, or the checkpoint's",
  },
  cfg_scale: { kind: 'float', min: 0, help: "classifier-free guidance scale of the flow map (default: the checkpoint's)" },
  engine: {
    kind: 'choice',
    choices: ENGINES,
    help: 'what evaluates the flow model: onnx (ONNX Runtime), tfjs, or auto (default: onnx where onnxruntime-node loads, else tfjs)',
  },
  ep: { kind: 'choice', choices: EXECUTION_PROVIDERS, help: 'ONNX Runtime execution provider of the flow map (default cpu)' },
  backend: {
    kind: 'choice',
    choices: BACKEND_CHOICES,
    help: 'tfjs backend of the flow map with --engine tfjs (default auto: tensorflow-gpu, webgpu on a hardware adapter, tensorflow, wasm, cpu)',
  },
  threads: {
    kind: 'int',
    min: 0,
    help: 'threads of the flow map: ONNX Runtime intra-op threads, or tfjs data-parallel threads on the one-threaded wasm and cpu backends; 0 (default) = one per core',
  },
  registry: { kind: 'string', help: 'model registry folder (default $MMMI_REGISTRY or ~/.cache/mmmi/registry; then the built-in one)' },
  sigma_max_mb: { kind: 'float', min: 0, help: 'store Σ densely up to this size (MiB, default 64); beyond, only its exact description' },
  preview: { kind: 'int', min: 0, help: 'samples in the preview PNG grid (default 8; 0: none)' },
  num_jobs: {
    kind: 'int',
    min: 1,
    help: 'jobs in the array: the job that completes the last of shards 0 … num_jobs − 1 writes the dataset index (<dataset_name>.index.json)',
  },
  overwrite: {
    kind: 'boolean',
    help: "replace a shard of the same name made with other arguments, and set aside (renamed, kept) another run's unfinished workspace of it (neither is done otherwise)",
  },
  shared_sample_stream: {
    kind: 'boolean',
    help: "every job id draws the same latents from the sample seed (the reference's behaviour: the shards of a job array then repeat one another); default: each job id its own stream",
  },
  help: { kind: 'boolean', help: 'show this help' },
} as const satisfies OptionTable;

export type GenerationFlags = typeof GENERATION_FLAGS;

export interface GenerationOptions {
  datasetSize: number;
  /** Draws per batch: the reference's batch_size counts images, N_mod per draw. */
  drawsPerBatch: number;
  batchSize: number;
  datasetName: string;
  datasetLoc: string;
  jobId: number;
  sampleSeed: number;
  /** The job's sample stream (latents' batchStream): its job id, or 0 for every job with --shared_sample_stream. */
  jobStream: number;
  timestepSize: number;
  calculateMi: 'numerical' | 'analytical' | null;
  checkpointPath: string | null;
  transform: TransformName | null;
  flow: {
    odeMethod?: string;
    nfe?: number;
    grid?: 'reference' | 'uniform' | 'edm' | 'checkpoint';
    cfgScale?: number;
    backend?: string;
    engine?: EngineChoice;
    ep?: ExecutionProvider;
    registry?: string;
    threads?: number;
  };
  scaling: ScalingName;
  /** Feed the map whitened latents (SPEC §3b). */
  whiten: boolean;
  sigmaMaxBytes: number;
  preview: number;
  labels: number[];
}

const DEFAULTS = {
  dataset_size: 10,
  batch_size: 32,
  dataset_name: 'dataset_test',
  dataset_loc: './output_dir/datasets/test/',
  job_id: 0,
  timestep_size: 1000,
  sigma_max_mb: 64,
  preview: 8,
};

export function generationOptions(parsed: ParsedArgs<GenerationFlags>, nMod: number, labels: number[] | null): GenerationOptions {
  const v = parsed.values;
  const jobId = v.job_id ?? DEFAULTS.job_id;
  const batchSize = v.batch_size ?? DEFAULTS.batch_size;
  const transform = v.transform ?? null;
  const checkpointPath = v.checkpoint_path ?? null;
  if (transform && checkpointPath) {
    throw new InputError(`--transform ${transform} and --checkpoint_path ${checkpointPath}: choose one map (a flow checkpoint, or a model-free transform)`);
  }
  const numJobs = v.num_jobs;
  if (numJobs !== undefined && jobId >= numJobs)
    throw new InputError(`--job_id ${jobId} with --num_jobs ${numJobs}: job ids of an array of ${numJobs} run from 0 to ${numJobs - 1}`);
  const sharedStream = v.shared_sample_stream === true;
  if (!sharedStream && jobId >= MAX_JOB_STREAMS)
    throw new InputError(`--job_id ${jobId}: each job id draws its own stream of the sample seed, for job ids below ${MAX_JOB_STREAMS}`);
  if (!labels)
    throw new InputError(
      `--labels is required for N_mod = ${nMod}: one class per modality, e.g. [${Array.from({ length: nMod }, (_, i) => i % 10).join(',')}]`,
    );
  return {
    datasetSize: v.dataset_size ?? DEFAULTS.dataset_size,
    batchSize,
    drawsPerBatch: Math.max(1, Math.floor(batchSize / nMod)),
    datasetName: v.dataset_name ?? DEFAULTS.dataset_name,
    datasetLoc: v.dataset_loc ?? DEFAULTS.dataset_loc,
    jobId,
    sampleSeed: v.sample_seed ?? jobId,
    jobStream: sharedStream ? 0 : jobId,
    timestepSize: v.timestep_size ?? DEFAULTS.timestep_size,
    calculateMi: v.calculate_MI ?? null,
    checkpointPath: transform ? null : (checkpointPath ?? 'default'),
    transform,
    flow: {
      odeMethod: v.ode_method,
      nfe: v.ode_nfe,
      grid: v.ode_grid,
      cfgScale: v.cfg_scale,
      backend: v.backend,
      engine: v.engine,
      ep: v.ep,
      registry: v.registry,
      // the thread count changes only float rounding, so every core is used unless told otherwise
      threads: v.threads ?? 0,
    },
    // exact by default: a flow's [−1, 1] images by one fixed affine map, a transform's values as they are
    scaling: v.scaling ?? (transform ? 'float' : 'affine'),
    whiten: v.whiten === undefined ? !transform : v.whiten === 'on',
    sigmaMaxBytes: (v.sigma_max_mb ?? DEFAULTS.sigma_max_mb) * 2 ** 20,
    preview: v.preview ?? DEFAULTS.preview,
    labels,
  };
}

export function parseGenerationArgs(tokens: readonly string[]): ParsedArgs<GenerationFlags> {
  return parseArgs(tokens, GENERATION_FLAGS);
}
