/**
 * Correlated Gaussian pairs for the benches: d coordinate pairs (x_j, y_j), each with
 * correlation ρ and independent of the others, so I(X; Y) = −(d/2)·log(1 − ρ²).
 */
import { SeededRandom } from '@mmmi/test-utils';
import type { PairedSamples } from '../src/estimator.js';

export function correlated(n: number, d: number, rho: number, seed: number): PairedSamples {
  const rng = new SeededRandom(seed);
  const x = new Float64Array(n * d);
  const y = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) {
    x[i] = rng.normal();
    y[i] = rho * x[i] + Math.sqrt(1 - rho * rho) * rng.normal();
  }
  return { n, x, dx: d, y, dy: d };
}
