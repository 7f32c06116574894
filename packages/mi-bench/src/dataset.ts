/**
 * A dataset as the harness sees it: its draws (streamed through dataset-generation's checked
 * loader) and the exact latent structure its manifest records, from which every truth the
 * harness compares against is computed. Accepts what a user has at hand: a dataset folder,
 * a dataset index (`<name>.index.json`) or one shard (`.npz` with its manifest beside it).
 * Every shard read is held to the record the truth comes from: through an index, its size and
 * sha256 against the index (DatasetReader); a lone shard, its sha256 against its manifest.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError, unreachableReason } from '@mmmi/cli-kit';
import { DatasetReader, ShardReader, type Manifest, type ShardBatch } from '@mmmi/dataset-generation';
import { structureFromDescription, type LatentStructure, type StructureDescription } from '@mmmi/latents';

export interface BenchDataset {
  /** The dataset's name (`dataset_name`). */
  name: string;
  /** What the user named: folder, index or shard. */
  source: string;
  count: number;
  nMod: number;
  modDim: number;
  /** The exact latent structure (the manifest's `latent.structure`). */
  structure: LatentStructure;
  /** The modality map's name as the manifest records it (a transform's name, or the flow model's). */
  map: string;
  /** The manifest's word that the images keep the latents' MI exactly (invertible map and scaling). */
  miExactInImages: boolean;
  /** Whether the shards store the exact latents (`Noise`). */
  hasNoise: boolean;
  /** Batches over all draws in order; `noise` adds the exact latents. */
  batches(size: number, options?: { noise?: boolean }): AsyncGenerator<ShardBatch>;
  close(): Promise<void>;
}

function readManifest(path: string): Manifest {
  if (!existsSync(path)) throw new InputError(`${path}: no manifest beside the shard; the exact truth comes from it (regenerate the shard with mmmi-generate)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (e) {
    throw new InputError(`${path}: not a readable manifest (${(e as Error).message})`, { cause: e });
  }
}

function structureOf(m: Manifest, path: string): LatentStructure {
  try {
    return structureFromDescription(m.latent.structure as StructureDescription);
  } catch (e) {
    throw new InputError(`${path}: the manifest's latent structure cannot be read (${(e as Error).message})`, { cause: e });
  }
}

function mapName(m: Manifest): string {
  return m.map.kind === 'flow' ? `flow:${m.map.name}` : m.map.name;
}

/** Resolves a folder to the one index or the one shard in it, naming what to do otherwise. */
function resolveSource(path: string): { kind: 'index' | 'shard'; file: string } {
  if (!existsSync(path)) throw new InputError(unreachableReason(path, { what: '--data' }) ?? `${path}: no such dataset folder, index or shard`);
  if (statSync(path).isFile()) {
    if (path.endsWith('.index.json')) return { kind: 'index', file: path };
    if (path.endsWith('.npz')) return { kind: 'shard', file: path };
    throw new InputError(`${path}: expected a dataset folder, a <name>.index.json or a .npz shard`);
  }
  const files = readdirSync(path);
  const indexes = files.filter((f) => f.endsWith('.index.json'));
  if (indexes.length === 1) return { kind: 'index', file: join(path, indexes[0]) };
  if (indexes.length > 1) throw new InputError(`${path} holds several dataset indexes (${indexes.join(', ')}): name one`);
  const shards = files.filter((f) => f.endsWith('.npz') && files.includes(f.replace(/\.npz$/, '.manifest.json')));
  if (shards.length === 1) return { kind: 'shard', file: join(path, shards[0]) };
  if (shards.length > 1)
    throw new InputError(
      `${path} holds ${shards.length} shards and no index: run \`mmmi-generate index ${path}\` to read them as one dataset, or name one shard`,
    );
  throw new InputError(`${path}: no dataset shard (.npz with its .manifest.json) or index in this folder`);
}

/** Opens a dataset folder, index or shard; bad input is an InputError before any reading. */
export async function openDataset(path: string): Promise<BenchDataset> {
  const { kind, file } = resolveSource(path);
  if (kind === 'shard') {
    const manifestPath = file.replace(/\.npz$/, '.manifest.json');
    const manifest = readManifest(manifestPath);
    const structure = structureOf(manifest, manifestPath);
    let reader: ShardReader;
    try {
      // 'full': the shard's sha256 against the manifest the truth comes from, before a draw is read
      reader = await ShardReader.open(file, { check: 'full' });
    } catch (e) {
      throw new InputError(`${file}: ${(e as Error).message}`, { cause: e });
    }
    return {
      name: String(manifest.arguments.dataset_name ?? basename(file, '.npz')),
      source: path,
      count: reader.count,
      nMod: reader.nMod,
      modDim: reader.modDim,
      structure,
      map: mapName(manifest),
      miExactInImages: manifest.mi_exact_in_images,
      hasNoise: reader.hasNoise,
      batches: (size, options) => reader.batches(size, 0, options),
      close: () => reader.close(),
    };
  }
  let data: DatasetReader;
  try {
    data = await DatasetReader.open(file);
  } catch (e) {
    throw new InputError((e as Error).message, { cause: e });
  }
  const first = data.index.shards[0];
  if (!first) throw new InputError(`${file}: the index lists no shards`);
  const manifestPath = join(file, '..', first.manifest);
  const manifest = readManifest(manifestPath);
  const structure = structureOf(manifest, manifestPath);
  // the first shard is held to the index here (size, sha256), before any estimate; the others on their first use
  let hasNoise: boolean;
  try {
    hasNoise = await data.hasNoise();
  } catch (e) {
    await data.close();
    throw e instanceof InputError ? e : new InputError(`${file}: ${(e as Error).message}`, { cause: e });
  }
  return {
    name: data.index.dataset,
    source: path,
    count: data.count,
    nMod: data.index.n_mod,
    modDim: data.index.mod_dim,
    structure,
    map: mapName(manifest),
    miExactInImages: manifest.mi_exact_in_images,
    hasNoise,
    batches: (size, options) => data.batches(size, options),
    close: () => data.close(),
  };
}
