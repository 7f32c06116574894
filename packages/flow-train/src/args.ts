/**
 * The trainer's command-line flags, named and defaulted as the paper's trainer
 * (flow_matching examples/image/train_arg_parser.py) with the paper's CIFAR-10 recipe as
 * defaults, plus our own (model configuration, backend, registry, CPU-run controls).
 * Accepts `--flag value`, `--flag=value`, `--optimizer_betas 0.9 0.95`, JSON for
 * `--ode_options`; every error names the flag, the value and what was expected.
 */
import { formatOptionHelp, parseOptions, typedCheck, UsageError, type OptionTable, type OptionValues } from '@mmmi/cli-kit';
import { BACKEND_CHOICES } from '@mmmi/tfjs-runtime';
import { ENGINES } from './engine/index.js';
import { ODE_METHODS } from './solvers/index.js';

/** `--ode_options`: a JSON object of numbers (nfe, step_size, atol, rtol). */
function odeOptionsProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'expected a JSON object such as \'{"nfe": 50}\'';
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'number' || !Number.isFinite(x)) return `"${k}" must be a number`;
  return undefined;
}

export const TRAIN_FLAGS = {
  dataset: {
    kind: 'choice',
    default: 'cifar10',
    choices: ['cifar10', 'imagefolder'],
    help: 'training data: CIFAR-10 (official binary release, downloaded when missing) or an image folder <data_path>/<class>/*.png|jpg',
  },
  data_path: { kind: 'string', default: '', help: 'where the data are (CIFAR-10: a folder or archive; default ~/.cache/mmmi/cifar10 or $MMMI_CACHE/cifar10)' },
  batch_size: { kind: 'int', min: 1, default: 32, help: 'images per micro-batch' },
  accum_iter: { kind: 'int', min: 1, default: 1, help: 'micro-batches per optimizer step (gradient accumulation)' },
  epochs: { kind: 'int', min: 1, default: 3000, help: 'epochs (passes over the data)' },
  lr: { kind: 'float', min: 0, minExclusive: true, default: 1e-4, help: 'AdamW learning rate' },
  optimizer_betas: { kind: 'floats', count: 2, min: 0, max: 1, maxExclusive: true, default: [0.9, 0.95], help: 'AdamW betas' },
  decay_lr: { kind: 'boolean', default: false, help: 'decay the learning rate linearly to ~0 over the epochs' },
  class_drop_prob: { kind: 'float', min: 0, max: 1, default: 0.2, help: 'probability that a batch is trained without labels (classifier-free guidance)' },
  skewed_timesteps: { kind: 'boolean', default: false, help: 'sample t with ln σ ~ N(−1.2, 1.2²), t = 1/(1+σ)' },
  edm_schedule: { kind: 'boolean', default: false, help: 'sample with the EDM time grid' },
  use_ema: { kind: 'boolean', default: false, help: 'keep an EMA of the weights and evaluate with it' },
  cfg_scale: { kind: 'float', min: 0, default: 0.2, help: 'classifier-free guidance scale w for evaluation samples' },
  ode_method: { kind: 'choice', default: 'heun2', choices: ODE_METHODS, help: 'ODE solver for evaluation samples' },
  ode_options: {
    kind: 'json',
    default: { nfe: 50 },
    check: typedCheck<Record<string, number>>(odeOptionsProblem),
    help: 'solver options as JSON: nfe (grid steps), step_size, atol, rtol',
  },
  eval_frequency: { kind: 'int', min: 1, default: 100, help: 'checkpoint, sample grid (and FID) every this many epochs' },
  compute_fid: { kind: 'boolean', default: false, help: 'compute the FID against CIFAR-10 train statistics at each evaluation' },
  fid_samples: { kind: 'int', min: 1, default: 50_000, help: 'generated images per FID evaluation' },
  seed: { kind: 'int', default: 0, help: 'seed of every random draw' },
  resume: {
    kind: 'string',
    default: '',
    help: 'continue from this checkpoint (a file, or "latest" = <output_dir>/checkpoint.safetensors, a fresh start when it does not exist yet)',
  },
  init_from: {
    kind: 'string',
    default: '',
    help: 'start from these weights (a checkpoint or registry name; its EMA weights when it has them) with a fresh optimizer, instead of random initialisation',
  },
  overwrite: {
    kind: 'boolean',
    default: false,
    help: 'start afresh in an --output_dir that holds a run (replacing its checkpoint and registry entry; its log.txt is set aside)',
  },
  start_epoch: { kind: 'int', min: 0, default: 0, help: 'first epoch of a fresh run' },
  eval_only: { kind: 'boolean', default: false, help: 'only evaluate the --resume checkpoint' },
  test_run: { kind: 'boolean', default: false, help: 'one step per epoch, one epoch (smoke test)' },
  output_dir: { kind: 'string', default: './output_dir', help: 'log.txt, args.json, checkpoints, sample grids' },
  // ours
  config: { kind: 'string', default: '', help: "model configuration (default: the dataset's, cifar10 → the paper's; `mmmi-train info` lists them)" },
  backend: {
    kind: 'choice',
    default: 'auto',
    choices: BACKEND_CHOICES,
    help: 'tfjs backend: auto = tensorflow-gpu, webgpu (a hardware adapter), tensorflow, wasm, cpu, the first that works',
  },
  registry: { kind: 'string', default: '', help: 'model registry folder (default $MMMI_REGISTRY or ~/.cache/mmmi/registry)' },
  name: { kind: 'name', default: '', help: "registry name of this run's checkpoints (default: the output folder's name)" },
  max_images: { kind: 'int', min: 0, default: 0, help: 'stop after this many training images in this run, saving a checkpoint (0 = no limit)' },
  checkpoint_minutes: { kind: 'float', min: 0, default: 0, help: 'also checkpoint inside epochs every this many minutes (0 = only at evaluations)' },
  grid_per_class: { kind: 'int', min: 1, default: 8, help: 'samples per class in the evaluation grid' },
  threads: {
    kind: 'int',
    min: 0,
    default: 1,
    help: "threads computing each batch's gradients (data parallel, for the one-threaded wasm and cpu backends; 0 = one per core there, 1 on the others)",
  },
  eval_engine: {
    kind: 'choice',
    default: 'auto',
    choices: ENGINES,
    help: 'what evaluates the model for the evaluation grid and FID samples: onnx (ONNX Runtime), tfjs, or auto (onnx where it loads)',
  },
  limit_images: { kind: 'int', min: 0, default: 0, help: 'use only the first N training images (0 = all)' },
  print_args: { kind: 'boolean', default: false, help: 'print the parsed arguments as JSON and exit' },
  device: { kind: 'string', default: '', help: 'accepted for compatibility; the backend is chosen by --backend' },
} as const satisfies OptionTable;

export type TrainFlag = keyof typeof TRAIN_FLAGS;
export type TrainArgs = OptionValues<typeof TRAIN_FLAGS>;

/** Parses the trainer's flags (later ones win); the checks that involve two flags follow. */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const a = parseOptions(argv, TRAIN_FLAGS).values;
  if (a.eval_only && !a.resume) throw new UsageError('--eval_only needs --resume <checkpoint>');
  if (a.dataset === 'imagefolder' && !a.data_path) throw new UsageError('--dataset imagefolder needs --data_path <root>/<class>/*.png|jpg');
  return a;
}

/** `--help` text. */
export function trainHelp(): string {
  return `usage: mmmi-train train [flags]   (or @args.txt: flags from an argument file)\n\n${formatOptionHelp(TRAIN_FLAGS)}`;
}
