/**
 * Flow checkpoints: one safetensors file that PyTorch can load as a state_dict.
 *
 *   <name>                      model weights, PyTorch names, shapes and layout (OIHW)
 *   ema.<name>                  EMA weights (training checkpoints with --use_ema)
 *   optimizer.exp_avg.<name>    AdamW state, PyTorch's names for it
 *   optimizer.exp_avg_sq.<name>
 *   __metadata__.mmmi           JSON: model configuration, training arguments, sampling
 *                               settings, progress (epoch, iteration, steps, images seen,
 *                               wall time), provenance (data, code version)
 *
 * A weights-only export (what the registry ships) holds the weights to sample with (EMA
 * when there is one) and no optimizer state; `weights` in the metadata says which.
 *
 * Also reads the paper's PyTorch checkpoints (`torch.save` of {model, optimizer, epoch,
 * scaler, args}, with the model possibly wrapped by the EMA module: `model.<name>` and
 * `shadow_params.<i>` in parameter order).
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { describeFsError, isErrnoError } from '@mmmi/cli-kit';
import {
  float16ToFloat32,
  float32ToFloat16,
  loadTorchCheckpoint,
  parseSafetensors,
  stateDictTensors,
  writeSafetensors,
  type SafetensorsTensor,
  type TorchTensor,
} from '@mmmi/formats';
import { buildArchitecture, type UNetArchitecture } from './unet/architecture.js';
import { unetConfig, validateUNetConfig, type UNetConfig } from './unet/config.js';
import { fromTorchLayout, toTorchLayout, type ParamValues } from './unet/params.js';

export const CHECKPOINT_FORMAT = 'mmmi-flow-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** How to integrate the flow with these weights (recorded at training time). */
export interface SamplingSettings {
  odeMethod: string;
  /** `nfe` (grid steps), `step_size`, `atol`, `rtol`, as the trainer's --ode_options. */
  odeOptions: Record<string, number>;
  cfgScale: number;
  edmSchedule: boolean;
}

export interface TrainingProgress {
  /** Epoch to continue with and iteration inside it (0 at an epoch boundary). */
  epoch: number;
  iteration: number;
  optimizerSteps: number;
  emaUpdates: number;
  imagesSeen: number;
  wallSeconds: number;
  lastLoss?: number;
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  config: UNetConfig;
  parameters: number;
  /** Which weights the un-prefixed tensors are. */
  weights: 'live' | 'ema';
  sampling: SamplingSettings;
  trainArgs: Record<string, unknown>;
  progress?: TrainingProgress;
  provenance: Record<string, unknown>;
}

export interface FlowCheckpoint {
  meta: CheckpointMeta;
  /** Our layout (see unet/architecture). */
  weights: ParamValues;
  ema?: ParamValues;
  optimizer?: { expAvg: ParamValues; expAvgSq: ParamValues };
  /** Where it was read from and its sha256 (when read from a file). */
  file?: string;
  sha256?: string;
  kind: 'mmmi' | 'pytorch';
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

function toTensors(arch: UNetArchitecture, prefix: string, values: ParamValues, half: boolean, out: Map<string, SafetensorsTensor>) {
  for (const p of arch.params) {
    const data = toTorchLayout(p, values.get(p.name)!);
    out.set(`${prefix}${p.name}`, half ? { dtype: 'F16', shape: p.torchShape, data: float32ToFloat16(data) } : { dtype: 'F32', shape: p.torchShape, data });
  }
}

export interface WriteCheckpointOptions {
  /** Store the weights as float16 (half the size; the loader widens them to float32). */
  float16?: boolean;
}

/** Writes atomically (temp file + rename). */
export async function writeCheckpoint(
  path: string,
  ckpt: Omit<FlowCheckpoint, 'kind' | 'file' | 'sha256'>,
  options: WriteCheckpointOptions = {},
): Promise<void> {
  const arch = buildArchitecture(ckpt.meta.config);
  const tensors = new Map<string, SafetensorsTensor>();
  toTensors(arch, '', ckpt.weights, Boolean(options.float16), tensors);
  if (ckpt.ema) toTensors(arch, 'ema.', ckpt.ema, false, tensors);
  if (ckpt.optimizer) {
    toTensors(arch, 'optimizer.exp_avg.', ckpt.optimizer.expAvg, false, tensors);
    toTensors(arch, 'optimizer.exp_avg_sq.', ckpt.optimizer.expAvgSq, false, tensors);
  }
  await writeSafetensors(path, tensors, { mmmi: JSON.stringify(ckpt.meta) });
}

function readGroup(arch: UNetArchitecture, tensors: Map<string, SafetensorsTensor>, prefix: string, file: string, required: boolean): ParamValues | undefined {
  if (!required && !tensors.has(`${prefix}${arch.params[0].name}`)) return undefined;
  const out: ParamValues = new Map();
  for (const p of arch.params) {
    const t = tensors.get(`${prefix}${p.name}`);
    if (!t) throw new CheckpointError(`${file}: tensor ${prefix}${p.name} is missing (model configuration '${arch.config.name}')`);
    if (t.shape.join(',') !== p.torchShape.join(',')) {
      throw new CheckpointError(`${file}: tensor ${prefix}${p.name} has shape [${t.shape}], configuration '${arch.config.name}' expects [${p.torchShape}]`);
    }
    const data = t.dtype === 'F32' ? t.data : t.dtype === 'F16' ? float16ToFloat32(t.data) : undefined;
    if (!data) throw new CheckpointError(`${file}: tensor ${prefix}${p.name} has dtype ${t.dtype}, expected F32 or F16`);
    out.set(p.name, fromTorchLayout(p, data));
  }
  return out;
}

export function parseCheckpoint(bytes: Uint8Array, file = 'checkpoint'): FlowCheckpoint {
  let contents;
  try {
    contents = parseSafetensors(bytes, file);
  } catch (e) {
    throw new CheckpointError(
      `${file} is not a readable checkpoint (${(e as Error).message}); train one with \`mmmi-train train\` or use a registry name (\`mmmi-train info\` lists them)`,
    );
  }
  const raw = contents.metadata.mmmi;
  if (!raw) throw new CheckpointError(`${file}: a safetensors file without mmmi metadata (not a checkpoint written by mmmi-train)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(raw) as CheckpointMeta;
  } catch (e) {
    throw new CheckpointError(`${file}: its mmmi metadata is not JSON (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT || typeof meta.version !== 'number' || meta.version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `${file}: metadata format ${String(meta.format)} v${String(meta.version)} is not a checkpoint this version reads (${CHECKPOINT_FORMAT} v${CHECKPOINT_VERSION})`,
    );
  }
  try {
    validateUNetConfig(meta.config);
  } catch (e) {
    throw new CheckpointError(`${file}: ${(e as Error).message}`);
  }
  const arch = buildArchitecture(meta.config);
  const weights = readGroup(arch, contents.tensors, '', file, true)!;
  const ema = readGroup(arch, contents.tensors, 'ema.', file, false);
  const expAvg = readGroup(arch, contents.tensors, 'optimizer.exp_avg.', file, false);
  const expAvgSq = expAvg ? readGroup(arch, contents.tensors, 'optimizer.exp_avg_sq.', file, true) : undefined;
  return { meta, weights, ema, optimizer: expAvg && expAvgSq ? { expAvg, expAvgSq } : undefined, kind: 'mmmi' };
}

const PAPER_DATASET_CONFIGS: Record<string, string> = { cifar10: 'cifar10' };

/** A key of an unpickled dict (a Map) or object (e.g. an argparse.Namespace). */
function pyField(obj: unknown, key: string): unknown {
  if (obj instanceof Map) return obj.get(key);
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Unpickled values as JSON-able data: dicts (Maps) → objects, big ints → numbers. */
function toPlain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlain(x)]));
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

function torchValues(t: TorchTensor, name: string, file: string): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  if (t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bfloat16') return Float32Array.from(t.data as ArrayLike<number>);
  throw new CheckpointError(`${file}: tensor ${name} has dtype ${t.dtype}, expected a float type`);
}

/**
 * A checkpoint of the paper's PyTorch trainer. The model configuration comes from
 * `args.dataset` (or `config`); the EMA weights are used for sampling when `args.use_ema`.
 */
export function parseTorchCheckpoint(bytes: Uint8Array, file = 'checkpoint.pth', config?: UNetConfig): FlowCheckpoint {
  let obj: unknown;
  try {
    obj = loadTorchCheckpoint(bytes, file);
  } catch (e) {
    throw new CheckpointError(`${file} is not a readable PyTorch checkpoint (${(e as Error).message})`);
  }
  // torch.save's dict unpickles as a Map (see @mmmi/formats' pickle), args as an object
  if (pyField(obj, 'model') === undefined)
    throw new CheckpointError(`${file}: expected a dict with a 'model' state_dict (the paper's trainer saves {model, optimizer, epoch, scaler, args})`);
  const plainArgs = toPlain(pyField(obj, 'args'));
  const args = (plainArgs && typeof plainArgs === 'object' && !Array.isArray(plainArgs) ? plainArgs : {}) as Record<string, unknown>;
  const epoch = pyField(obj, 'epoch');
  let cfg = config;
  if (!cfg) {
    const dataset = String(args.dataset ?? '');
    const name = PAPER_DATASET_CONFIGS[dataset];
    if (!name)
      throw new CheckpointError(
        `${file}: args.dataset is '${dataset}'; give the model configuration explicitly (known: ${Object.keys(PAPER_DATASET_CONFIGS).join(', ')})`,
      );
    cfg = unetConfig(name);
  }
  const arch = buildArchitecture(cfg);
  const sd = stateDictTensors(pyField(obj, 'model'));
  const wrapped = sd.has(`model.${arch.params[0].name}`);
  const read = (key: string, p: (typeof arch.params)[number]) => {
    const t = sd.get(key);
    if (!t) throw new CheckpointError(`${file}: state_dict has no ${key} (configuration '${cfg!.name}'${wrapped ? ', EMA-wrapped' : ''})`);
    if (t.shape.join(',') !== p.torchShape.join(','))
      throw new CheckpointError(`${file}: ${key} has shape [${t.shape}], configuration '${cfg!.name}' expects [${p.torchShape}]`);
    return fromTorchLayout(p, torchValues(t, key, file));
  };
  const weights: ParamValues = new Map();
  for (const p of arch.params) weights.set(p.name, read(wrapped ? `model.${p.name}` : p.name, p));
  let ema: ParamValues | undefined;
  if (wrapped && sd.has('shadow_params.0')) {
    ema = new Map();
    arch.params.forEach((p, i) => ema!.set(p.name, read(`shadow_params.${i}`, p)));
  }
  const useEma = Boolean(args.use_ema) && ema !== undefined;
  const odeOptions = Object.fromEntries(
    Object.entries((args.ode_options && typeof args.ode_options === 'object' ? args.ode_options : {}) as Record<string, unknown>).map(([k, v]) => [
      k,
      Number(v),
    ]),
  );
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: cfg,
    parameters: arch.parameterCount,
    weights: useEma ? 'ema' : 'live',
    sampling: {
      odeMethod: String(args.ode_method ?? 'midpoint'),
      odeOptions,
      cfgScale: Number(args.cfg_scale ?? 0),
      edmSchedule: Boolean(args.edm_schedule),
    },
    trainArgs: JSON.parse(JSON.stringify(args)) as Record<string, unknown>,
    progress:
      typeof epoch === 'number' || typeof epoch === 'bigint'
        ? { epoch: Number(epoch), iteration: 0, optimizerSteps: 0, emaUpdates: 0, imagesSeen: 0, wallSeconds: 0 }
        : undefined,
    provenance: { source: 'pytorch', file },
  };
  return { meta, weights: useEma ? ema! : weights, ema: useEma ? undefined : ema, kind: 'pytorch' };
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Whether the bytes are a PyTorch checkpoint rather than our safetensors. safetensors starts
 * with its u64 header length and the header's '{' at byte 8 (a zip has its compression
 * method there, a torch pickle its magic number); the first byte alone does not tell:
 * header lengths ≡ 0x80 mod 256 look like a pickle's PROTO opcode.
 */
function isTorchCheckpoint(bytes: Uint8Array, path: string): boolean {
  if (bytes.length > 8 && bytes[8] === 0x7b) return false;
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  const isPickle = bytes[0] === 0x80;
  return isZip || isPickle || ['.pth', '.pt'].includes(extname(path));
}

/**
 * Reads our safetensors checkpoint or a PyTorch one (.pth/.pt, or by content). `config`:
 * the model configuration of a PyTorch checkpoint (default: from its args.dataset); ours
 * carry theirs.
 */
export async function readCheckpointFile(path: string, expectedSha256?: string, config?: UNetConfig): Promise<FlowCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT'
        ? `checkpoint ${path} does not exist: train one with \`nx run flow-train:train\`, or use a registry name (\`mmmi-train info --registry\` lists them)`
        : isErrnoError(e)
          ? describeFsError(e, { what: 'checkpoint', path })
          : `checkpoint ${path} cannot be read: ${(e as Error).message}`,
    );
  }
  const sha256 = sha256Hex(bytes);
  if (expectedSha256 && sha256 !== expectedSha256) {
    throw new CheckpointError(`checkpoint ${path} is corrupt or was replaced: sha256 ${sha256}, the registry expects ${expectedSha256}`);
  }
  const ckpt = isTorchCheckpoint(bytes, path) ? parseTorchCheckpoint(bytes, path, config) : parseCheckpoint(bytes, path);
  return { ...ckpt, file: path, sha256 };
}
