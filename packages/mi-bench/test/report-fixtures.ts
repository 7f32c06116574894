/**
 * Synthetic rows shaped like a real run's (several pairs, estimators, feature kinds, sample
 * sizes and seeds; biases that shrink with n), for the report tests and for looking at the
 * figures by eye.
 */
import { SeededRandom } from '@mmmi/test-utils';
import type { EstimateRow, PmiRow, RegressRow } from '../src/results.js';
import type { PmiPoints } from '../src/report/index.js';

const PAIRS: [string, number][] = [
  ['I(X_2; X_1)', 0.12],
  ['I(X_1; θ)', 0.35],
  ['I(X_1,X_2; θ)', 0.9],
  ['I(X_1,X_2,X_3,X_4; θ)', 2.1],
];

export function syntheticEstimates(seed = 1): EstimateRow[] {
  const rng = new SeededRandom(seed);
  const rows: EstimateRow[] = [];
  for (const [pair, truth] of PAIRS)
    for (const estimator of ['ksg', 'gaussian', 'infonce'])
      for (const features of ['latents', 'pca16'])
        for (const n of [500, 2000, 10000])
          for (let s = 0; s < 3; s++) {
            const shrink = Math.sqrt(500 / n);
            const bias =
              estimator === 'ksg'
                ? -0.25 * truth * shrink
                : estimator === 'gaussian'
                  ? -0.06 * truth + 0.02
                  : Math.min(truth, Math.log(n) - 4.5) - truth - 0.05 * shrink;
            const featureLoss = features === 'pca16' ? -0.08 * truth : 0;
            const estimate = truth + bias + featureLoss + 0.03 * shrink * rng.normal();
            rows.push({
              dataset: 'decay4_tiny',
              map: 'identity',
              pair,
              truth,
              estimator,
              features,
              n,
              seed: s,
              estimate,
              standardError: estimator === 'infonce' ? null : 0.03 * shrink,
              bias: estimate - truth,
              seconds: (estimator === 'infonce' ? 2.5 : 0.04) * (n / 500) * (1 + 0.1 * rng.uniform()),
            });
          }
  return rows;
}

const SUBSETS: [string, number][] = [
  ['X_4', 0.08],
  ['X_1', 0.35],
  ['X_1,X_2', 0.62],
  ['X_1,X_2,X_3,X_4', 1.4],
];

export function syntheticRegressions(seed = 2): RegressRow[] {
  const rng = new SeededRandom(seed);
  const varTheta = 2.5;
  const rows: RegressRow[] = [];
  for (const [subset, mi] of SUBSETS)
    for (const model of ['ridge', 'cnn'])
      for (const n of [1000, 5000])
        for (let s = 0; s < 3; s++) {
          const bayesR2 = -Math.expm1(-2 * mi);
          const r2 = bayesR2 - (model === 'ridge' ? 0.15 * bayesR2 : 0.04 * bayesR2) * Math.sqrt(1000 / n) + 0.01 * rng.normal();
          rows.push({
            dataset: 'decay4_tiny',
            map: 'identity',
            subset,
            mi,
            model,
            features: model === 'ridge' ? 'latents' : 'pixels',
            n,
            seed: s,
            testMse: varTheta * (1 - r2),
            r2,
            bayesMse: varTheta * Math.exp(-2 * mi),
            bayesR2,
            seconds: model === 'cnn' ? 30 + rng.uniform() : 0.2 + 0.01 * rng.uniform(),
          });
        }
  return rows;
}

export function syntheticPmi(seed = 3): { rows: PmiRow[]; points: PmiPoints[] } {
  const rng = new SeededRandom(seed);
  const rows: PmiRow[] = [];
  const points: PmiPoints[] = [];
  for (const [pair, mi] of PAIRS.slice(1, 3))
    for (let s = 0; s < 2; s++) {
      const count = 5000;
      const pmi = new Float64Array(count);
      const score = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        pmi[i] = mi + Math.sqrt(2 * mi) * rng.normal();
        score[i] = 0.8 * pmi[i] + 0.5 + 0.35 * rng.normal();
      }
      const meanPmi = pmi.reduce((a, b) => a + b, 0) / count;
      rows.push({
        dataset: 'decay4_tiny',
        map: 'identity',
        pair,
        features: 'latents',
        n: count,
        seed: s,
        pearson: 0.9,
        spearman: 0.88,
        meanPmi,
        estimate: 0.9 * mi,
        seconds: 12,
      });
      if (s === 0) points.push({ label: `${pair} · seed ${s}`, pmi, score });
    }
  return { rows, points };
}
