/**
 * The model registry: the one contract between flow-train and dataset-generation.
 *
 * A registry is a folder with `registry.json`:
 *   { "format": "mmmi-model-registry", "version": 1, "default": "<name>",
 *     "models": { "<name>": { "file": "<path, relative to the folder or absolute>",
 *                            "sha256": "…", "bytes": n, "config": "<configuration name>",
 *                            "parameters": n, "created": "<ISO time>", "description": "…" } } }
 * and the checkpoint files (see checkpoint.ts). Names resolve in the user's registry
 * (`--registry`, else $MMMI_REGISTRY, else ~/.cache/mmmi/registry) and then in the built-in
 * one shipped with this package (`models/`), whose default is the CPU-trained model.
 * registry.json is replaced atomically; the sha256 is checked on every load.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fsError, isErrnoError, sameFile, unreachableReason } from '@mmmi/cli-kit';
import { writeFileAtomic } from '@mmmi/formats';
import { CheckpointError, readCheckpointFile, sha256Hex, type CheckpointMeta, type FlowCheckpoint } from './checkpoint.js';
import { UNET_CONFIGS, unetConfig } from './unet/config.js';

export const REGISTRY_FORMAT = 'mmmi-model-registry';
export const REGISTRY_FILE = 'registry.json';

export interface RegistryEntry {
  file: string;
  sha256: string;
  bytes: number;
  config: string;
  parameters: number;
  created: string;
  description?: string;
  /** Training progress when registered (epoch, images seen). */
  epoch?: number;
  imagesSeen?: number;
  /**
   * The sampling recipe measured for this model (solver, grid steps, grid, guidance), which
   * every caller samples with unless its own flags say otherwise; `measured` says how it was
   * chosen. Absent: the settings recorded in the checkpoint at training.
   */
  sampling?: RegistryRecipe;
}

export interface RegistryRecipe {
  ode_method?: string;
  nfe?: number;
  grid?: 'reference' | 'uniform' | 'edm' | 'checkpoint';
  cfg_scale?: number;
  measured?: string;
}

export interface Registry {
  format: typeof REGISTRY_FORMAT;
  version: 1;
  default?: string;
  models: Record<string, RegistryEntry>;
}

type Env = Record<string, string | undefined>;

/** The user's registry folder: `--registry`, $MMMI_REGISTRY, or ~/.cache/mmmi/registry. */
export function userRegistryDir(explicit?: string, env: Env = process.env): string {
  if (explicit) return resolve(explicit);
  const v = env.MMMI_REGISTRY;
  return v && v.trim() !== '' ? resolve(v) : join(homedir(), '.cache', 'mmmi', 'registry');
}

/** The registry shipped with this package (packages/flow-train/models). */
export const BUILTIN_REGISTRY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'models');

const emptyRegistry = (): Registry => ({ format: REGISTRY_FORMAT, version: 1, models: {} });

/** What a registry name may be: it becomes part of file names and command lines. */
export const REGISTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// a registry.json we cannot read is never replaced: the user moves it or names another folder
const NOT_OURS_FIX = 'it is left as it is: move it aside, or give --registry another folder';

export async function readRegistry(dir: string): Promise<Registry> {
  const path = join(dir, REGISTRY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyRegistry();
    if (isErrnoError(e)) throw fsError(e, { what: 'model registry', path, fix: NOT_OURS_FIX });
    throw e;
  }
  let reg: Registry;
  try {
    reg = JSON.parse(text) as Registry;
  } catch (e) {
    throw new CheckpointError(`${path} is not valid JSON (${(e as Error).message}); ${NOT_OURS_FIX}`);
  }
  if (reg === null || typeof reg !== 'object' || reg.format !== REGISTRY_FORMAT || typeof reg.models !== 'object' || reg.models === null) {
    throw new CheckpointError(`${path} is not a model registry (format '${String(reg?.format)}', expected '${REGISTRY_FORMAT}'); ${NOT_OURS_FIX}`);
  }
  return reg;
}

/** The entry of a checkpoint file just written (`bytes`: its contents, `meta`: its metadata). */
export function registryEntry(
  file: string,
  bytes: Uint8Array,
  meta: Pick<CheckpointMeta, 'config' | 'parameters' | 'progress'>,
  description: string,
): RegistryEntry {
  return {
    file,
    sha256: sha256Hex(bytes),
    bytes: bytes.length,
    config: meta.config.name,
    parameters: meta.parameters,
    created: new Date().toISOString(),
    description,
    epoch: meta.progress?.epoch,
    imagesSeen: meta.progress?.imagesSeen,
  };
}

/** Adds or replaces an entry (and optionally makes it the default), atomically. */
export async function registerModel(dir: string, name: string, entry: RegistryEntry, makeDefault = false): Promise<void> {
  if (!REGISTRY_NAME.test(name)) throw new CheckpointError(`registry name '${name}' must be letters, digits, '.', '_' or '-'`);
  await mkdir(dir, { recursive: true });
  const reg = await readRegistry(dir);
  reg.models[name] = entry;
  if (makeDefault || !reg.default) reg.default = name;
  await writeFileAtomic(join(dir, REGISTRY_FILE), [Buffer.from(`${JSON.stringify(reg, null, 2)}\n`)]);
}

/**
 * Checks, before any work, that `name` may point at `file` in the registry `dir`: a valid name,
 * a readable registry, and no entry of that name for another checkpoint unless `overwrite`
 * (an entry is another run's work). Returns the entry it would replace, if any.
 */
export async function claimRegistryName(
  dir: string,
  name: string,
  file: string,
  options: { overwrite: boolean; nameFlag: string },
): Promise<RegistryEntry | undefined> {
  if (!REGISTRY_NAME.test(name)) {
    throw new CheckpointError(`${options.nameFlag} '${name}': a registry name must be letters, digits, '.', '_' or '-' (starting with a letter or digit)`);
  }
  const entry = (await readRegistry(dir)).models[name];
  if (!entry) return undefined;
  const registered = isAbsolute(entry.file) ? entry.file : join(dir, entry.file);
  if (resolve(registered) === resolve(file) || sameFile(registered, file) || options.overwrite) return entry;
  throw new CheckpointError(
    `model registry ${join(dir, REGISTRY_FILE)} already has '${name}' for another checkpoint (${registered}); give ${options.nameFlag} another name, or pass --overwrite to replace the entry (its file is kept)`,
  );
}

export interface ResolvedModel {
  name?: string;
  path: string;
  entry?: RegistryEntry;
  registry?: string;
}

const looksLikePath = (s: string) => s.includes('/') || s.includes('\\') || /\.(safetensors|pth|pt)$/i.test(s);

/**
 * A checkpoint file or registry name → the file to read. `default` (or an empty string)
 * is the user registry's default, else the built-in default.
 */
export async function resolveModel(ref: string | undefined, options: { registry?: string; env?: Env } = {}): Promise<ResolvedModel> {
  const userDir = userRegistryDir(options.registry, options.env);
  const dirs = [userDir, BUILTIN_REGISTRY_DIR];
  if (ref && looksLikePath(ref)) {
    const s = await stat(ref).catch(() => undefined);
    if (s?.isFile()) return { path: resolve(ref) };
    if (ref.includes('/') || ref.includes('\\')) {
      const unreachable = unreachableReason(ref, { what: 'checkpoint' });
      if (unreachable) throw new CheckpointError(unreachable);
      throw new CheckpointError(
        `checkpoint ${ref} does not exist: train one with \`nx run flow-train:train\`, or give a registry name (\`mmmi-train info registry\` lists them)`,
      );
    }
  }
  const wantDefault = !ref || ref === 'default';
  const known: string[] = [];
  for (const dir of dirs) {
    const reg = await readRegistry(dir);
    known.push(...Object.keys(reg.models));
    const name = wantDefault ? reg.default : ref;
    if (!name) continue;
    const entry = reg.models[name];
    if (!entry) {
      if (wantDefault) throw new CheckpointError(`${join(dir, REGISTRY_FILE)}: the default '${name}' has no entry`);
      continue;
    }
    const path = isAbsolute(entry.file) ? entry.file : join(dir, entry.file);
    return { name, path, entry, registry: dir };
  }
  if (wantDefault) {
    throw new CheckpointError(
      `no default model: neither ${userDir} nor the built-in registry ${BUILTIN_REGISTRY_DIR} names one; train a model with \`nx run flow-train:train\``,
    );
  }
  throw new CheckpointError(
    `'${ref}' is neither a checkpoint file nor a registry name (known: ${known.length ? [...new Set(known)].join(', ') : 'none'}); train one with \`nx run flow-train:train\``,
  );
}

/** Resolves and reads a model, checking the registry's sha256. */
export async function loadModel(
  ref: string | undefined,
  options: { registry?: string; env?: Env } = {},
): Promise<FlowCheckpoint & { resolved: ResolvedModel }> {
  const resolved = await resolveModel(ref, options);
  // a registered PyTorch checkpoint of another configuration than args.dataset's names it in its entry
  const config = resolved.entry && resolved.entry.config in UNET_CONFIGS ? unetConfig(resolved.entry.config) : undefined;
  const ckpt = await readCheckpointFile(resolved.path, resolved.entry?.sha256, config);
  return { ...ckpt, resolved };
}

/** Every entry of the user and built-in registries (for `info`). */
export async function listModels(options: { registry?: string; env?: Env } = {}): Promise<{ dir: string; registry: Registry }[]> {
  const dirs = [userRegistryDir(options.registry, options.env), BUILTIN_REGISTRY_DIR];
  return Promise.all(dirs.map(async (dir) => ({ dir, registry: await readRegistry(dir) })));
}
