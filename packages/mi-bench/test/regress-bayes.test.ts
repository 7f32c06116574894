/**
 * The Bayes bound. For Gaussian latents the least possible MSE of θ from X_S is
 * Var(θ)·exp(−2 I(X_S; θ)), so no regressor's test R² can exceed 1 − exp(−2I) beyond sampling
 * error, and linear regression on the identity-map latents approaches it as n grows.
 *
 * Sampling error of a test R² (m test draws, R² against the test set's own variance): with
 * a = mean e², b = Var_test(θ), R̂² = 1 − a/b, and the delta method gives
 * Var(R̂²) ≈ Var(e² − (1 − R²)(θ − μ)²) / (m σ_θ⁴). For jointly Gaussian (e, θ) with
 * Cov(e, θ) = c, Var(e² − r θ²) = 2σ_e⁴ + 2r²σ_θ⁴ − 4 r c², and for the Bayes predictor the error
 * is independent of the prediction, so c = σ_e² = r σ_θ²: the variance is 4σ_e⁴ R², i.e.
 *
 *   SE(R̂²) ≈ 2 (1 − R²) √R² / √m       (0.0027 for R² = 0.78 and 0.0015 for R² = 0.89 at m = 20 000).
 *
 * A fitted predictor adds its own excess error, of order (1 − R²)·p/n for least squares on p
 * features (1.8·10⁻⁴ at p = 32, n = 20 000), far below that.
 */
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { latentModelFromTokens, sampleBatch, type LatentStructure } from '@mmmi/latents';
import { beforeAll, describe, expect, it } from 'vitest';
import { bayesOptimum, evaluateRegression, fitRidge } from '../src/regress/index.js';
import { latentFeatures, linearPredictions, oraclePredictor, r2StandardErrorGaussian } from './regress-helpers.js';

const ARGS = fileURLToPath(new URL('../../../generation_arguments', import.meta.url));
let structure: LatentStructure;

beforeAll(async () => {
  // the default job's model (Fig. 1a's DAG, random per-pixel θ templates, aligned scale) at d = 16:
  // I(X_1; θ) ≈ 0.76, I(X_1, X_2; θ) ≈ 1.09 nats — modest, so the bound is far from 1
  ({ structure } = await latentModelFromTokens([`@${ARGS}/default.txt`, '--mod_dim', '16']));
});

describe('bayesOptimum', () => {
  it('equals the conditional variance of θ computed from the dense covariance', () => {
    for (const mods of [[0], [1], [0, 1]]) {
      const b = bayesOptimum(structure, mods);
      const oracle = oraclePredictor(structure, mods);
      expect(b.mse).toBeCloseTo(oracle.conditionalVariance, 10);
      expect(b.r2).toBeCloseTo(1 - oracle.conditionalVariance / b.thetaVariance, 10);
      expect(b.mse).toBeCloseTo(b.thetaVariance * Math.exp(-2 * b.mi), 14);
    }
    // the scale is applied: Var θ = s²·v
    expect(bayesOptimum(structure, [0]).thetaVariance).toBeCloseTo(structure.scale ** 2 * structure.thetaVar, 14);
    expect(structure.scale).not.toBe(1);
    // more modalities never know less
    expect(bayesOptimum(structure, [1, 0]).r2).toBeGreaterThan(bayesOptimum(structure, [0]).r2);
  });

  it('refuses an empty, out-of-range or repeated subset', () => {
    expect(() => bayesOptimum(structure, [])).toThrow(InputError);
    expect(() => bayesOptimum(structure, [2])).toThrow(/modality index 2 .* 0 … 1/);
    expect(() => bayesOptimum(structure, [0, 0])).toThrow(/X_1 named twice/);
  });
});

describe('the sampling error of a test R²', () => {
  it('is 2(1 − R²)√R²/√m for the Bayes predictor, as evaluateRegression estimates it', () => {
    const mods = [0, 1];
    const { h } = oraclePredictor(structure, mods);
    const r2 = bayesOptimum(structure, mods).r2;
    const m = 2000;
    const values: number[] = [];
    const reported: number[] = [];
    for (let rep = 0; rep < 200; rep++) {
      const batch = sampleBatch(structure, 5000 + rep, 0, m);
      const s = evaluateRegression(batch.theta, linearPredictions(h, latentFeatures(batch, mods), m));
      values.push(s.r2);
      reported.push(s.r2StandardError);
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
    const formula = r2StandardErrorGaussian(r2, m);
    // 200 replicates: the sd itself is known to about ±5 %
    expect(sd / formula).toBeGreaterThan(0.8);
    expect(sd / formula).toBeLessThan(1.2);
    expect(Math.abs(mean - r2)).toBeLessThan((4 * formula) / Math.sqrt(values.length) + 1e-3);
    const meanReported = reported.reduce((a, b) => a + b, 0) / reported.length;
    expect(meanReported / formula).toBeGreaterThan(0.9);
    expect(meanReported / formula).toBeLessThan(1.1);
  });
});

describe('ridge on identity latents against the Bayes bound', () => {
  it('approaches 1 − exp(−2I) as n grows and never beats it beyond sampling error', () => {
    const sizes = [200, 2000, 20000];
    const seeds = [1, 2, 3, 4, 5];
    const m = 20000;
    const table: string[] = [];
    for (const mods of [[0], [0, 1]]) {
      const bayes = bayesOptimum(structure, mods);
      const { h } = oraclePredictor(structure, mods);
      const p = mods.length * structure.modDim;
      const se = r2StandardErrorGaussian(bayes.r2, m);
      const gaps: number[] = [];
      for (const n of sizes) {
        let gapSum = 0;
        for (const seed of seeds) {
          const train = sampleBatch(structure, seed, 0, n);
          // each seed its own test set, independent of every training set
          const test = sampleBatch(structure, 1000 + seed, 0, m);
          const xt = latentFeatures(test, mods);
          const model = fitRidge(latentFeatures(train, mods), train.theta, n, p);
          const pred = model.predict(xt, m);
          const score = evaluateRegression(test.theta, pred);
          const best = linearPredictions(h, xt, m);
          const oracle = evaluateRegression(test.theta, best);
          // paired with the Bayes predictor on the same draws, the test set's own luck cancels:
          // R²_oracle − R² = mean(d) / Var_test(θ) with d_i the difference of squared errors
          const diff = Float64Array.from({ length: m }, (_, i) => (test.theta[i] - pred[i]) ** 2 - (test.theta[i] - best[i]) ** 2);
          const varTest = score.mse / (1 - score.r2);
          const dMean = diff.reduce((a, b) => a + b, 0) / m;
          const pairedSe = Math.sqrt(diff.reduce((a, b) => a + (b - dMean) ** 2, 0) / (m - 1) / m) / varTest;
          const gap = oracle.r2 - score.r2;
          gapSum += gap;
          table.push(
            `${mods.map((i) => `X_${i + 1}`).join(',')}\tn=${n}\tseed=${seed}\tR²=${score.r2.toFixed(4)}\tBayes=${bayes.r2.toFixed(4)}\t±${se.toFixed(4)}\toracle=${oracle.r2.toFixed(4)}\tgap=${gap.toExponential(2)}±${pairedSe.toExponential(1)}\tλ/u=${(model.lambda / model.validation!.unit).toExponential(1)}`,
          );
          // never beats the bound beyond error: neither the exact bound (± the test set's SE) …
          expect(score.r2).toBeLessThanOrEqual(bayes.r2 + 3 * se);
          // … nor the Bayes predictor scored on the very same draws (± the paired SE)
          expect(score.r2).toBeLessThanOrEqual(oracle.r2 + 3 * pairedSe);
          // the oracle itself sits on the exact bound within the test set's error
          expect(Math.abs(oracle.r2 - bayes.r2)).toBeLessThanOrEqual(4 * se);
          if (n === sizes[sizes.length - 1]) {
            // at the largest n, the fitted R² lies within sampling error of the bound
            expect(Math.abs(score.r2 - bayes.r2)).toBeLessThanOrEqual(3 * se);
            // and its excess error over the Bayes predictor is of the least-squares order (1 − R²)·p/n
            expect(gap).toBeLessThan((3 * (1 - bayes.r2) * p) / n + 3 * pairedSe);
          }
        }
        gaps.push(gapSum / seeds.length);
      }
      // the gap to the bound shrinks as n grows
      expect(gaps[0]).toBeGreaterThan(gaps[1]);
      expect(gaps[1]).toBeGreaterThan(gaps[2]);
      // least squares' excess (1 − R²)·p/(n − p − 1): the n = 200 gap is of that size
      expect(gaps[0]).toBeGreaterThan((0.2 * ((1 - bayes.r2) * p)) / (200 - p - 1));
    }
    console.log(`Bayes bound, ridge on identity latents (default.txt, d = 16; test m = ${m}):\n${table.join('\n')}`);
  });
});
