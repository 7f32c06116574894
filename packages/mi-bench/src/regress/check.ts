/**
 * Input checks shared by the regressors: every shape, count and value problem is refused with
 * an InputError naming it, before any work starts (a CLI run then exits with the usage code
 * and a one-line message instead of a stack from deep inside a solver).
 */
import { InputError } from '@mmmi/cli-kit';

/** Row-major feature matrices as the datasets give them (pixels as float32, latents as float64). */
export type FeatureArray = Float64Array | Float32Array;

/** Throws unless `n` is an integer ≥ `min`; `what` names the samples (e.g. 'training draws'). */
export function checkCount(n: number, min: number, what: string): void {
  if (!Number.isInteger(n) || n < min) throw new InputError(`${n} ${what}: at least ${min} are needed`);
}

/** Throws unless `features` holds n rows of `dim` finite values. */
export function checkFeatures(features: FeatureArray, n: number, dim: number, what: string): void {
  if (!Number.isInteger(dim) || dim < 1) throw new InputError(`${what}: feature dimension ${dim} must be a positive integer`);
  if (features.length !== n * dim) {
    throw new InputError(`${what}: ${features.length} feature values do not make ${n} rows of ${dim} (${n * dim} needed)`);
  }
  checkFinite(features, `${what} features`, dim);
}

/** Throws unless `y` holds n finite values. */
export function checkTargets(y: ArrayLike<number>, n: number, what: string): void {
  if (y.length !== n) throw new InputError(`${what}: ${y.length} θ values for ${n} rows of features`);
  checkFinite(y, what, 1);
}

/** Throws at the first value that is NaN or infinite, naming its row (and column when rows are vectors). */
export function checkFinite(values: ArrayLike<number>, what: string, dim: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const where = dim === 1 ? `row ${i}` : `row ${Math.floor(i / dim)}, feature ${i % dim}`;
      throw new InputError(`${what}: ${where} is ${values[i]}; values must be finite`);
    }
  }
}

/** Throws unless the values are not all equal (a constant θ leaves R² undefined). */
export function checkVaries(y: ArrayLike<number>, what: string): void {
  for (let i = 1; i < y.length; i++) if (y[i] !== y[0]) return;
  throw new InputError(`${what}: all ${y.length} values are ${y[0]}; θ must vary`);
}
