/**
 * How a regression of θ is scored on held-out draws.
 */
import { InputError } from '@mmmi/cli-kit';
import { checkFinite, checkVaries } from './check.js';

export interface RegressionScore {
  /** Mean squared error (1/m) Σ (y − ŷ)². */
  mse: number;
  /**
   * R² = 1 − MSE / Var_test(y), relative to the **test set's own variance** (divisor m, its own
   * mean): 0 for predicting the test mean, 1 for a perfect fit, negative for worse than the
   * mean. (Against the population variance instead, the Bayes bound reads 1 − exp(−2I) exactly.)
   */
  r2: number;
  /**
   * Delta-method standard error of R² from the test draws themselves (treating the predictor
   * as fixed): with a = mean e², b = Var_test(y), R² = 1 − a/b and
   *
   *   Var(R²) ≈ (1/m) · Var_i( (e_i² − (a/b)(y_i − ȳ)²) / b ).
   *
   * For Gaussian θ and the Bayes-optimal predictor (error e ⊥ prediction) this is
   * 2(1 − R²)·√R² / √m.
   */
  r2StandardError: number;
  /** Test draws. */
  m: number;
}

/** Scores predictions `yPred` of `yTrue` (same length ≥ 2, finite, yTrue not constant). */
export function evaluateRegression(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionScore {
  const m = yTrue.length;
  if (yPred.length !== m) throw new InputError(`${m} test θ values but ${yPred.length} predictions`);
  if (m < 2) throw new InputError(`${m} test draws: at least 2 are needed to score a regression`);
  checkFinite(yTrue, 'test θ', 1);
  checkFinite(yPred, 'predicted θ', 1);
  checkVaries(yTrue, 'test θ');
  let mean = 0;
  for (let i = 0; i < m; i++) mean += yTrue[i];
  mean /= m;
  let sse = 0;
  let sst = 0;
  for (let i = 0; i < m; i++) {
    sse += (yTrue[i] - yPred[i]) ** 2;
    sst += (yTrue[i] - mean) ** 2;
  }
  const a = sse / m;
  const b = sst / m;
  const ratio = a / b;
  // influence of each draw on a/b: (e² − ratio·(y − ȳ)²) / b, whose mean is 0
  let v = 0;
  for (let i = 0; i < m; i++) v += (((yTrue[i] - yPred[i]) ** 2 - ratio * (yTrue[i] - mean) ** 2) / b) ** 2;
  return { mse: a, r2: 1 - ratio, r2StandardError: Math.sqrt(v / (m - 1) / m), m };
}
