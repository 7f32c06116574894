/**
 * The trainer's command-line flags, named and defaulted as the paper's trainer
 * (flow_matching examples/image/train_arg_parser.py) with the paper's CIFAR-10 recipe as
 * defaults, plus our own (model configuration, backend, registry, CPU-run controls).
 * Accepts `--flag value`, `--flag=value`, `--optimizer_betas 0.9 0.95`, JSON for
 * `--ode_options`; every error names the flag, the value and what was expected.
 */
import { BACKEND_CHOICES } from './backend/index.js';
import { ODE_METHODS } from './solvers/index.js';

type Kind = 'string' | 'int' | 'float' | 'bool' | 'floats' | 'json';

interface FlagSpec {
  kind: Kind;
  default: unknown;
  help: string;
  choices?: readonly string[];
}

export const TRAIN_FLAGS = {
  dataset: { kind: 'string', default: 'cifar10', choices: ['cifar10', 'imagefolder'], help: 'training data: CIFAR-10 (official binary release, downloaded when missing) or an image folder <data_path>/<class>/*.png|jpg' },
  data_path: { kind: 'string', default: '', help: 'where the data are (CIFAR-10: a folder or archive; default ~/.cache/mmmi/cifar10 or $MMMI_CACHE/cifar10)' },
  batch_size: { kind: 'int', default: 32, help: 'images per micro-batch' },
  accum_iter: { kind: 'int', default: 1, help: 'micro-batches per optimizer step (gradient accumulation)' },
  epochs: { kind: 'int', default: 3000, help: 'epochs (passes over the data)' },
  lr: { kind: 'float', default: 1e-4, help: 'AdamW learning rate' },
  optimizer_betas: { kind: 'floats', default: [0.9, 0.95], help: 'AdamW betas' },
  decay_lr: { kind: 'bool', default: false, help: 'decay the learning rate linearly to ~0 over the epochs' },
  class_drop_prob: { kind: 'float', default: 0.2, help: 'probability that a batch is trained without labels (classifier-free guidance)' },
  skewed_timesteps: { kind: 'bool', default: false, help: 'sample t with ln σ ~ N(−1.2, 1.2²), t = 1/(1+σ)' },
  edm_schedule: { kind: 'bool', default: false, help: 'sample with the EDM time grid' },
  use_ema: { kind: 'bool', default: false, help: 'keep an EMA of the weights and evaluate with it' },
  cfg_scale: { kind: 'float', default: 0.2, help: 'classifier-free guidance scale w for evaluation samples' },
  ode_method: { kind: 'string', default: 'heun2', choices: ODE_METHODS, help: 'ODE solver for evaluation samples' },
  ode_options: { kind: 'json', default: { nfe: 50 }, help: 'solver options as JSON: nfe (grid steps), step_size, atol, rtol' },
  eval_frequency: { kind: 'int', default: 100, help: 'checkpoint, sample grid (and FID) every this many epochs' },
  compute_fid: { kind: 'bool', default: false, help: 'compute the FID against CIFAR-10 train statistics at each evaluation' },
  fid_samples: { kind: 'int', default: 50_000, help: 'generated images per FID evaluation' },
  seed: { kind: 'int', default: 0, help: 'seed of every random draw' },
  resume: { kind: 'string', default: '', help: 'continue from this checkpoint (a file, or "latest" = <output_dir>/checkpoint.safetensors, a fresh start when it does not exist yet)' },
  init_from: { kind: 'string', default: '', help: 'start from these weights (a checkpoint or registry name; its EMA weights when it has them) with a fresh optimizer, instead of random initialisation' },
  start_epoch: { kind: 'int', default: 0, help: 'first epoch of a fresh run' },
  eval_only: { kind: 'bool', default: false, help: 'only evaluate the --resume checkpoint' },
  test_run: { kind: 'bool', default: false, help: 'one step per epoch, one epoch (smoke test)' },
  output_dir: { kind: 'string', default: './output_dir', help: 'log.txt, args.json, checkpoints, sample grids' },
  // ours
  config: { kind: 'string', default: '', help: 'model configuration (default: the dataset\'s, cifar10 → the paper\'s; `mmmi-train info` lists them)' },
  backend: { kind: 'string', default: 'auto', choices: BACKEND_CHOICES, help: 'tfjs backend: auto = tensorflow-gpu, webgpu (a hardware adapter), tensorflow, wasm, cpu, the first that works' },
  registry: { kind: 'string', default: '', help: 'model registry folder (default $MMMI_REGISTRY or ~/.cache/mmmi/registry)' },
  name: { kind: 'string', default: '', help: 'registry name of this run\'s checkpoints (default: the output folder\'s name)' },
  max_images: { kind: 'int', default: 0, help: 'stop after this many training images in this run, saving a checkpoint (0 = no limit)' },
  checkpoint_minutes: { kind: 'float', default: 0, help: 'also checkpoint inside epochs every this many minutes (0 = only at evaluations)' },
  grid_per_class: { kind: 'int', default: 8, help: 'samples per class in the evaluation grid' },
  threads: { kind: 'int', default: 1, help: 'threads computing each batch\'s gradients (data parallel, for the one-threaded wasm and cpu backends; 0 = one per core there, 1 on the others)' },
  eval_engine: { kind: 'string', default: 'auto', choices: ['auto', 'onnx', 'tfjs'], help: 'what evaluates the model for the evaluation grid and FID samples: onnx (ONNX Runtime), tfjs, or auto (onnx where it loads)' },
  limit_images: { kind: 'int', default: 0, help: 'use only the first N training images (0 = all)' },
  print_args: { kind: 'bool', default: false, help: 'print the parsed arguments as JSON and exit' },
  device: { kind: 'string', default: '', help: 'accepted for compatibility; the backend is chosen by --backend' },
} as const satisfies Record<string, FlagSpec>;

export type TrainFlag = keyof typeof TRAIN_FLAGS;
export type TrainArgs = { [K in TrainFlag]: (typeof TRAIN_FLAGS)[K]['default'] extends boolean ? boolean : (typeof TRAIN_FLAGS)[K]['default'] extends number ? number : (typeof TRAIN_FLAGS)[K]['default'] extends readonly number[] ? number[] : (typeof TRAIN_FLAGS)[K]['default'] extends string ? string : Record<string, number> };

export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgsError';
  }
}

function parseValue(flag: string, spec: FlagSpec, raw: string): unknown {
  const fail = (what: string) => new ArgsError(`--${flag} ${JSON.stringify(raw)}: ${what}`);
  switch (spec.kind) {
    case 'int': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(v)) throw fail('expected an integer');
      return v;
    }
    case 'float': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw fail('expected a number');
      return v;
    }
    case 'json': {
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        throw fail('expected a JSON object such as \'{"nfe": 50}\'');
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw fail('expected a JSON object');
      for (const [k, x] of Object.entries(v)) if (typeof x !== 'number' || !Number.isFinite(x)) throw fail(`"${k}" must be a number`);
      return v;
    }
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) throw fail(`expected one of ${spec.choices.join(', ')}`);
      return raw;
    default:
      throw fail('unexpected value');
  }
}

const BOOL_WORDS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false };

/** Parses the flags (later ones win). Unknown flags are errors. */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(TRAIN_FLAGS)) out[k] = structuredClone(spec.default);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('--')) throw new ArgsError(`unexpected argument '${token}' (flags start with --; see \`mmmi-train train --help\`)`);
    const eq = token.indexOf('=');
    const flag = (eq >= 0 ? token.slice(2, eq) : token.slice(2)).replace(/-/g, '_');
    const inline = eq >= 0 ? token.slice(eq + 1) : undefined;
    const spec = (TRAIN_FLAGS as Record<string, FlagSpec>)[flag];
    if (!spec) throw new ArgsError(`unknown flag --${flag} (see \`mmmi-train train --help\`)`);
    if (spec.kind === 'bool') {
      if (inline !== undefined) {
        if (!(inline in BOOL_WORDS)) throw new ArgsError(`--${flag}=${inline}: expected true or false`);
        out[flag] = BOOL_WORDS[inline];
      } else out[flag] = true;
      continue;
    }
    if (spec.kind === 'floats') {
      const values: string[] = inline !== undefined ? inline.split(/[ ,]+/).filter(Boolean) : [];
      while (inline === undefined && i + 1 < argv.length && !argv[i + 1].startsWith('--')) values.push(argv[++i]);
      if (values.length === 0) throw new ArgsError(`--${flag}: expected numbers`);
      out[flag] = values.map((v) => {
        const x = Number(v);
        if (!Number.isFinite(x)) throw new ArgsError(`--${flag} ${JSON.stringify(v)}: expected a number`);
        return x;
      });
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      // a flag right after a flag that takes a value means the value is missing (JSON and negative numbers do not start with --)
      if (next === undefined || (next.startsWith('--') && next.slice(2).split('=')[0].replace(/-/g, '_') in TRAIN_FLAGS)) throw new ArgsError(`--${flag} needs a value`);
      raw = argv[++i];
    }
    out[flag] = parseValue(flag, spec, raw);
  }
  const a = out as TrainArgs;
  const positive = (flag: TrainFlag) => {
    if (!((a[flag] as number) > 0)) throw new ArgsError(`--${flag} ${String(a[flag])}: must be positive`);
  };
  positive('batch_size');
  positive('accum_iter');
  positive('epochs');
  positive('lr');
  positive('eval_frequency');
  positive('grid_per_class');
  if (a.optimizer_betas.length !== 2 || a.optimizer_betas.some((b) => !(b >= 0 && b < 1))) throw new ArgsError(`--optimizer_betas ${a.optimizer_betas.join(' ')}: expected two numbers in [0, 1)`);
  if (!(a.class_drop_prob >= 0 && a.class_drop_prob <= 1)) throw new ArgsError(`--class_drop_prob ${a.class_drop_prob}: expected a probability in [0, 1]`);
  if (a.cfg_scale < 0) throw new ArgsError(`--cfg_scale ${a.cfg_scale}: must be ≥ 0`);
  if (a.max_images < 0 || a.limit_images < 0 || a.start_epoch < 0 || a.checkpoint_minutes < 0) throw new ArgsError('--max_images, --limit_images, --start_epoch and --checkpoint_minutes must be ≥ 0');
  if (a.threads < 0) throw new ArgsError(`--threads ${a.threads}: must be ≥ 0 (0 = one per core)`);
  if (a.eval_only && !a.resume) throw new ArgsError('--eval_only needs --resume <checkpoint>');
  if (a.dataset === 'imagefolder' && !a.data_path) throw new ArgsError('--dataset imagefolder needs --data_path <root>/<class>/*.png|jpg');
  return a;
}

/** `--help` text. */
export function trainHelp(): string {
  const lines = ['usage: mmmi-train train [flags]', ''];
  for (const [k, spec] of Object.entries(TRAIN_FLAGS) as [string, FlagSpec][]) {
    const def = spec.kind === 'bool' ? '' : ` (default ${JSON.stringify(spec.default)})`;
    lines.push(`  --${k.padEnd(20)} ${spec.help}${def}`);
  }
  return lines.join('\n');
}
