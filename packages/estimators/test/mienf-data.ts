/**
 * Helpers of the MIENF tests: a pair with unequal sides, the agreement of a fitted model's
 * pointwise MI with the exact PMI, and a line of the printed table.
 */
import type { MiEstimate, PairedSamples } from '../src/estimator.js';
import type { FittedMienf } from '../src/flow/index.js';
import { gaussianPairs, gaussianPmi, pearson } from './variational-data.js';

/**
 * Unequal sides: x 2-D, y 1-D. (u, v) standard bivariate normal with correlation ρ, e an
 * independent standard normal, x = R (u, e) for a fixed rotation R by 0.6 rad, y = v: I(X; Y) =
 * I(u; v) = −½ log(1 − ρ²), and no x feature alone carries all of it.
 */
export function unequalPairs(n: number, rho: number, seed: number): PairedSamples {
  const pairs = gaussianPairs(n, [rho], seed);
  const noise = gaussianPairs(n, [0], seed + 1000);
  const [c, s] = [Math.cos(0.6), Math.sin(0.6)];
  const x = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    x[i * 2] = c * pairs.x[i] - s * noise.x[i];
    x[i * 2 + 1] = s * pairs.x[i] + c * noise.x[i];
  }
  return { n, x, dx: 2, y: pairs.y, dy: 1 };
}

/** Pearson r and mean |error| of the model's pointwise MI against the exact PMI of 2000 fresh 1-D pairs (shown to the model through `shown`). */
export function pmiAgreement(fitted: FittedMienf, rho: number, shown: (p: PairedSamples) => PairedSamples): { r: number; meanAbsError: number } {
  const fresh = gaussianPairs(2000, [rho], 99);
  const exact = Float64Array.from({ length: fresh.n }, (_, i) => gaussianPmi(fresh.x[i], fresh.y[i], rho));
  const seen = shown(fresh);
  const model = fitted.pointwiseMi(seen.x, seen.y, seen.n);
  const meanAbsError = model.reduce((s, v, i) => s + Math.abs(v - exact[i]), 0) / fresh.n;
  return { r: pearson(model, exact), meanAbsError };
}

/** One line of the printed table: the estimate, both readouts, the kept step, the seconds. */
export function tableLine(name: string, e: MiEstimate, truth: number): string {
  const d = e.details as Record<string, unknown>;
  const latents = d.latentGaussian as { estimate?: number };
  const base = d.baseEstimate as { estimate: number };
  const meanPmi = d.heldOutMeanPmi as { estimate: number };
  return (
    `  ${name.padEnd(26)} ${e.estimate.toFixed(3)} ± ${e.standardError?.toFixed(3)} (I = ${truth.toFixed(3)}; latents ${latents.estimate?.toFixed(3)}, ` +
    `base ${base.estimate.toFixed(3)}, held-out mean pmi ${meanPmi.estimate.toFixed(3)}; kept step ${d.keptStep} of ${d.steps}, ${e.seconds.toFixed(1)} s)`
  );
}
