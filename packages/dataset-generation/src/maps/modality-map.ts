/**
 * A modality map: what turns each modality's latent into that modality's data. The exact MI
 * of the latents is the MI of the data when the map is invertible on each modality alone
 * (SPEC §3), so every map says whether it is; the job records its description in the
 * manifest.
 *
 * A job meets its map twice: resolved before any work (`MapKind.resolve`: checked and
 * checksummed, with the identity its fingerprint records and the words its log says), then
 * opened (`ResolvedMap.open`) when the job runs. A new kind of map is one file in this folder
 * implementing `MapKind` (and `ModalityMap`), and one line in `MAP_KINDS`.
 */
import type { InversionReport } from '@mmmi/flow-train';
import type { Manifest } from '../manifest.js';
import type { FlowMemory } from '../memory-need.js';
import type { GenerationOptions } from '../options.js';
import { flowMapKind, openFlowMap, type OpenFlowMapOptions } from './flow-map.js';
import { transformMap, transformMapKind, type TransformName } from './transforms.js';

export interface ModalityMap {
  /** The manifest's description of the map (kind, name, formula; the flow's settings). */
  readonly description: Manifest['map'];
  /** True when the map is invertible on each modality alone, so it keeps every MI exactly. */
  readonly keepsMiExact: boolean;
  /** Classes of a label-conditioned map (labels 0 … numClasses − 1; numClasses = no label). */
  readonly numClasses?: number;
  /** The map's own memory (weights, per image of a batch), for the job's memory estimate. */
  readonly memory?: FlowMemory;
  /** x: [count, nMod, modDim] latents → the data, same layout. */
  apply(x: Float64Array, count: number, nMod: number, labels: readonly number[]): Promise<Float32Array | Float64Array>;
  /**
   * The inverse, where the map has one: the map's outputs y ([count, nMod, modDim], as `apply`
   * returns them) → its inputs, with how the solve went (`verify --invert`, the manifest's
   * `inversion`).
   */
  invert?(y: Float32Array | Float64Array, count: number, nMod: number, labels: readonly number[]): Promise<MapInversion>;
  dispose(): Promise<void>;
}

/** What a map's inverse gives back. */
export interface MapInversion {
  /** The map's inputs, [count, nMod, modDim]. */
  x: Float64Array;
  /** False when an iterative solve did not meet its tolerance (true for a closed-form inverse). */
  converged: boolean;
  /** Maps inverted by a solver: its report for each modality (index i = modality i + 1). */
  solver?: InversionReport[];
}

/** What a job asks of its map: the options that name one, and the flow's settings. */
export type MapRequest = Pick<GenerationOptions, 'checkpointPath' | 'transform' | 'flow'>;

/** A map a job asked for, resolved before any work. */
export interface ResolvedMap {
  /** What the job's fingerprint records of the map: the checkpoint's sha256 and the registry's recipe (null for a model-free map). */
  readonly identity: { checkpoint: string | null; recipe: object | null };
  /** The log's words for the map. */
  readonly summary: string;
  /** True when the opened map holds memory of its own (`ModalityMap.memory`); a map without is checked against memory before it opens. */
  readonly holdsMemory: boolean;
  open(context: { log: (message: string) => void }): Promise<ModalityMap>;
}

/** What reopening a recorded map gives: the map, or why it cannot be the one recorded. */
export type ReopenedMap = { map: ModalityMap } | { problem: string };

/** A kind of map: resolves the request when it names this kind (else null). */
export interface MapKind {
  resolve(request: MapRequest, latent: { modDim: number }): Promise<ResolvedMap> | null;
  /**
   * The map a manifest records, when it is of this kind (else null), reopened exactly as it
   * made the data (`verify --invert`): the same transform, or the same checkpoint (by sha256)
   * with the recorded solver, grid and guidance. The whitening in front is the caller's.
   */
  reopen(manifest: Manifest, context: { log: (message: string) => void }): Promise<ReopenedMap> | null;
}

/** Every kind of map; the first that a request names is the job's. */
export const MAP_KINDS: readonly MapKind[] = [transformMapKind, flowMapKind];

/** The map a manifest records (without its whitening), reopened by the kind that made it. */
export async function reopenRecordedMap(manifest: Manifest, context: { log: (message: string) => void }): Promise<ReopenedMap> {
  for (const kind of MAP_KINDS) {
    const reopened = kind.reopen(manifest, context);
    if (reopened) return reopened;
  }
  return { problem: `the manifest's map kind '${manifest.map.kind}' is not one this version reopens` };
}

/** The map a job's options name, resolved (checked, checksummed) before any work. */
export async function resolveModalityMap(request: MapRequest, latent: { modDim: number }): Promise<ResolvedMap> {
  for (const kind of MAP_KINDS) {
    const resolved = kind.resolve(request, latent);
    if (resolved) return resolved;
  }
  throw new Error('no map was asked for (neither a flow checkpoint nor a transform)');
}

export type MapChoice = { transform: TransformName } | { checkpoint: string; flow: OpenFlowMapOptions };

/** The map a job asked for: a model-free transform, or a flow checkpoint (opened, checked). */
export async function openModalityMap(choice: MapChoice): Promise<ModalityMap> {
  return 'transform' in choice ? transformMap(choice.transform) : openFlowMap(choice.checkpoint, choice.flow);
}
