/**
 * One interface for every mutual-information estimator: paired samples in, an estimate with
 * its standard error, the samples it used and the seconds it took out. The datasets know
 * the exact MI of every query, so any estimator behind this interface can be held against
 * the truth by the same harness.
 */
import { InputError } from '@mmmi/cli-kit';

/** n paired samples: row i of x (dx values) goes with row i of y (dy values), row-major, float64. */
export interface PairedSamples {
  n: number;
  x: Float64Array;
  dx: number;
  y: Float64Array;
  dy: number;
}

export interface MiEstimate {
  /** The estimator's name, e.g. 'ksg1'. */
  estimator: string;
  /** Estimated I(X; Y), nats. */
  estimate: number;
  /** Standard error of the estimate, nats; null where the estimator has no honest one. */
  standardError: number | null;
  /** Samples the estimate used. */
  samples: number;
  /** Wall-clock seconds of the estimate. */
  seconds: number;
  /** Estimator-specific facts (k, bins, the rank kept, …). */
  details?: Record<string, unknown>;
}

export interface MiEstimator<Options = Record<string, unknown>> {
  name: string;
  estimate(data: PairedSamples, options?: Options): MiEstimate | Promise<MiEstimate>;
}

/** Checks the shapes of paired samples, naming what is wrong. */
export function checkPairedSamples(data: PairedSamples, minSamples = 2): void {
  const { n, x, dx, y, dy } = data;
  if (!Number.isInteger(n) || n < minSamples) throw new InputError(`${n} paired samples: at least ${minSamples} are needed`);
  if (!Number.isInteger(dx) || dx < 1 || !Number.isInteger(dy) || dy < 1)
    throw new InputError(`dimensions ${dx} and ${dy}: each side needs at least one value per sample`);
  if (x.length !== n * dx) throw new InputError(`x holds ${x.length} values, ${n} samples × ${dx} need ${n * dx}`);
  if (y.length !== n * dy) throw new InputError(`y holds ${y.length} values, ${n} samples × ${dy} need ${n * dy}`);
  for (const [name, a] of [
    ['x', x],
    ['y', y],
  ] as const) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new InputError(`${name}[${i}] = ${a[i]}: samples must be finite`);
  }
}

/** Runs `f` and returns its result with the seconds it took. */
export function timed<T>(f: () => T): { value: T; seconds: number } {
  const t0 = performance.now();
  const value = f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}
