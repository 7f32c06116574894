/**
 * Latent MI (LMI) against independent truth, 5-D: five Gaussian coordinate pairs of correlation
 * ρ = 0.5 (I = −(5/2) log 0.75 = 0.719) embedded linearly in 40 dimensions per side
 * (./lmi-data.ts), with the authors' code activation and with a linear code; five independent
 * pairs (I = 0). Settings: the defaults with the faster TEST_SCHEDULE (./lmi-data.ts), n = 4000.
 *
 * Where the tolerances come from: a sweep over seeds 11–13 (not these tests' seeds), n = 4000,
 * gave (estimate ± KSG's standard error, nats; Pearson r of the per-point terms with the exact PMI):
 *
 *   5-D, test schedule            0.301, 0.321, 0.327 ± 0.017; r 0.39–0.43
 *   5-D, default schedule         0.318, 0.273, 0.315 ± 0.017; r 0.36–0.42
 *   5-D, linear code              0.383, 0.387, 0.417 ± 0.018; r 0.46–0.48
 *   independent, test schedule    −0.013, 0.003, 0.008 ± 0.013
 *   independent, default          0.019, 0.008, −0.023 ± 0.014
 *   KSG alone on the true 5 + 5 latents (2000 pairs, what the held-out half holds): 0.557, 0.525;
 *   on 8-D linear images of them: 0.523, 0.468; after the code's LeakyReLU: 0.354, 0.378
 *
 * (This file's own seed read 0.268 and 0.373.) So in 5-D LMI reads 37–45 % of I here (the linear
 * code 52–58 %). Of the gap, about 0.18 nats is KSG's own bias in five intrinsic dimensions per side
 * at 2000 held-out pairs, which no code can remove (KSG reads 0.53–0.56 on the true latents); on
 * ideal codes the 8-D embedding costs another 0.03–0.06 and the code's LeakyReLU fold 0.09–0.17;
 * training the rest. The checks: at least 25 % of I (0.18 nats, five standard errors below the
 * lowest reading; a code that lost the shared information reads 0) and at most I + 0.1 (a code
 * cannot hold more than the data, by the data processing inequality, plus four standard errors);
 * independence within 0.06 of 0 (four standard errors); r > 0.25 for the per-point terms.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTrainingBackend } from '../src/variational/index.js';
import { disposeChecked, embeddedGaussian, fitChecked } from './lmi-data.js';
import { pearson } from './variational-data.js';

const N = 4000;
const RHOS = [0.5, 0.5, 0.5, 0.5, 0.5];
/** Least share of I the 5-D estimate must reach (measured 37–45 %; 52–58 % with the linear code). */
const MIN_SHARE = 0.25;
/** Largest excess over I, nats: four of KSG's standard errors (0.017), rounded up. */
const ABOVE = 0.1;
/** Largest |estimate| for independent sides, nats: four standard errors (0.014), rounded up. */
const INDEPENDENT = 0.06;
/** Least Pearson r of the 5-D per-point terms with the exact PMI (measured 0.36–0.43). */
const MIN_PMI_R = 0.25;
const table: string[] = [];

beforeAll(async () => {
  await ensureTrainingBackend();
});
afterAll(() => {
  console.info(`lmi, 5-D (n = ${N}):\n${table.join('\n')}`);
});

describe('five Gaussian pairs embedded in 40 dimensions', () => {
  const g = embeddedGaussian(N, RHOS, 40, 2);

  for (const codeActivation of ['leaky', 'linear'] as const) {
    it(`${codeActivation} code: at least ${MIN_SHARE * 100} % of I = ${g.truth.toFixed(3)}, at most I + ${ABOVE}; per-point terms follow the exact PMI`, async () => {
      const before = tf.memory().numTensors;
      const fit = await fitChecked(table, `5-D ρ = 0.5, D = 40, ${codeActivation} code`, g, g.data, { codeActivation });
      expect(fit.estimate.details?.latentDims).toEqual([8, 8]);
      expect(fit.estimate.estimate).toBeGreaterThan(MIN_SHARE * g.truth);
      expect(fit.estimate.estimate).toBeLessThan(g.truth + ABOVE);
      const r = pearson(
        fit.heldOutPmi,
        Float64Array.from(fit.heldOutRows, (row) => g.pmi[row]),
      );
      table.push(`    per-point terms vs exact PMI (held-out rows): Pearson r ${r.toFixed(3)}`);
      expect(r).toBeGreaterThan(MIN_PMI_R);
      disposeChecked(fit, before);
    });
  }

  it(`independent sides: |estimate| < ${INDEPENDENT}`, async () => {
    const independent = embeddedGaussian(N, [0, 0, 0, 0, 0], 40, 3);
    const before = tf.memory().numTensors;
    const fit = await fitChecked(table, 'independent 5-D, D = 40', independent);
    expect(Math.abs(fit.estimate.estimate)).toBeLessThan(INDEPENDENT);
    disposeChecked(fit, before);
  });
});
