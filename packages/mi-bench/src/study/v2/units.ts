/**
 * The v2 study cut into units a job array can spread: one dataset per ρ_θ (stage `generate`),
 * one estimate per (ρ_θ, input, protocol, estimator) (stage `estimate`), then one merge (stage
 * `report`). Task j of an array of N takes the units whose index i has i mod N = j, so any N
 * covers every unit once; each unit's result is a file of its own, written whole (temp file,
 * then rename) and skipped when it exists with the same settings, so a task can be rerun,
 * requeued or run twice at once without losing or mixing a result.
 */
import type { Source } from '../../pool.js';
import type { V2Protocol, V2Variant } from './preset.js';

export interface V2DatasetUnit {
  index: number;
  rho: number;
}

export interface V2EstimateUnit {
  /** File-safe identity, e.g. `rho0.01_pixels_fork_smile-5`. */
  id: string;
  rho: number;
  input: Source;
  protocol: V2Protocol;
  variant: V2Variant;
}

/** Every estimate of the study, in a fixed order (ρ, input, protocol, estimator). */
export function v2EstimateUnits(
  rhos: readonly number[],
  inputs: readonly Source[],
  protocols: readonly V2Protocol[],
  variants: readonly V2Variant[],
): V2EstimateUnit[] {
  return rhos.flatMap((rho) =>
    inputs.flatMap((input) =>
      protocols.flatMap((protocol) => variants.map((variant) => ({ id: `rho${rho}_${input}_${protocol}_${variant.name}`, rho, input, protocol, variant }))),
    ),
  );
}

/** The units task `jobId` of `numJobs` runs: every numJobs-th, from jobId. */
export function unitsOfTask<T>(units: readonly T[], jobId: number, numJobs: number): T[] {
  return units.filter((_, i) => i % numJobs === jobId);
}
