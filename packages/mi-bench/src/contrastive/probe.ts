/**
 * The linear probe: how much of θ a frozen representation keeps. Ridge regression of θ on the
 * representation of the training draws (standardised features, intercept, λ by 5-fold
 * validation: the regress command's `fitRidge`), scored on the test draws.
 *
 * Against the truth: θ and the latents of the views S are jointly Gaussian, so no function of
 * X_S predicts θ with less mean squared error than E[θ | X_S], whose error is
 *
 *   MSE_Bayes = Var(θ) · exp(−2 I(θ; X_S)),   R²_Bayes = 1 − exp(−2 I(θ; X_S))
 *
 * (regress/bayes.ts derives it). A representation is a function of the images, the images of
 * the latents (invertible maps per modality), so a probe on it can only do worse, up to the
 * sampling error of its test R² (the delta-method standard error `r2StandardError`, and R² is
 * taken against the test draws' own variance, which a finite test set over- or understates).
 */
import type { FeatureArray } from '../regress/check.js';
import { bayesOptimum, evaluateRegression, fitRidge, type BayesOptimum } from '../regress/index.js';
import type { LatentStructure } from '@mmmi/latents';

export interface ProbeData {
  /** count × p features, row-major. */
  x: FeatureArray;
  p: number;
  theta: ArrayLike<number>;
}

export interface ProbeResult {
  mse: number;
  r2: number;
  r2StandardError: number;
  /** The ridge penalty the validation chose. */
  lambda: number;
  bayes: BayesOptimum;
}

/** Fits on `train`, scores on `test`, beside the Bayes optimum of θ from the modalities `mods` (0-based). */
export function linearProbe(structure: LatentStructure, mods: readonly number[], train: ProbeData, test: ProbeData): ProbeResult {
  const bayes = bayesOptimum(structure, mods);
  const model = fitRidge(train.x, train.theta, train.theta.length, train.p);
  const score = evaluateRegression(test.theta, model.predict(test.x, test.theta.length));
  return { mse: score.mse, r2: score.r2, r2StandardError: score.r2StandardError, lambda: model.lambda, bayes };
}

/** The representations of several views side by side: row i is [h_a(i), h_b(i), …]. */
export function concatenateRows(parts: readonly { data: Float32Array; width: number }[], count: number): { data: Float32Array; width: number } {
  const width = parts.reduce((s, p) => s + p.width, 0);
  const data = new Float32Array(count * width);
  for (let i = 0; i < count; i++) {
    let at = i * width;
    for (const p of parts) {
      data.set(p.data.subarray(i * p.width, (i + 1) * p.width), at);
      at += p.width;
    }
  }
  return { data, width };
}
