/**
 * One regression of θ, as the harness's `regress` command runs it per (subset, model, n,
 * seed): fit on the training draws, score on the test draws, and the row it reports.
 */
import { InputError } from '@mmmi/cli-kit';
import type { RegressRow } from '../results.js';
import { ensureTrainingBackend } from '@mmmi/estimators';
import type { BayesOptimum } from './bayes.js';
import { checkCount, checkFeatures, checkTargets, checkVaries, type FeatureArray } from './check.js';
import { trainCnn, type CnnEpoch, type CnnOptions } from './cnn.js';
import { imageChannels } from './image-layout.js';
import { evaluateRegression } from './metrics.js';
import { fitRidge, type RidgeForm, type RidgeOptions, type RidgeValidation } from './ridge.js';

export type RegressModelName = 'ridge' | 'cnn';

export const REGRESS_MODELS: readonly RegressModelName[] = ['ridge', 'cnn'];

export interface RegressInput {
  /** Training rows, row-major n × dim. */
  trainFeatures: FeatureArray;
  trainTheta: ArrayLike<number>;
  /** Test rows, row-major m × dim. */
  testFeatures: FeatureArray;
  testTheta: ArrayLike<number>;
  /** Values per row (features, or k·3072 pixels of k stacked images for the CNN). */
  dim: number;
  model: RegressModelName;
  /** The CNN's seed unless `cnn.seed` is given (ridge has no randomness). Default 0. */
  seed?: number;
  ridge?: RidgeOptions;
  cnn?: CnnOptions;
}

export interface RidgeDetails {
  model: 'ridge';
  form: RidgeForm;
  lambda: number;
  /** λ / max(n, varying features): its place on the default grid. */
  relativeLambda: number | null;
  validation: RidgeValidation | null;
}

export interface CnnDetails {
  model: 'cnn';
  backend: string;
  curve: CnnEpoch[];
  bestEpoch: number;
  trainRows: number;
  validationRows: number;
}

export interface RegressResult {
  /** Test mean squared error. */
  testMse: number;
  /** 1 − testMse / Var_test(θ), the test set's own variance (see evaluateRegression). */
  r2: number;
  /** Delta-method standard error of r2 over the test draws. */
  r2StandardError: number;
  /** Wall seconds of fitting and predicting (the one-off backend set-up excluded). */
  seconds: number;
  /** Training draws. */
  n: number;
  /** Test draws. */
  testRows: number;
  predictions: Float64Array;
  details: RidgeDetails | CnnDetails;
}

/** The result of a fit whose test predictions are in: scored against the test θ, timed from `started`. */
function scored(input: RegressInput, started: number, predictions: Float64Array, n: number, details: RidgeDetails | CnnDetails): RegressResult {
  const seconds = (performance.now() - started) / 1000;
  const score = evaluateRegression(input.testTheta, predictions);
  return { testMse: score.mse, r2: score.r2, r2StandardError: score.r2StandardError, seconds, n, testRows: predictions.length, predictions, details };
}

/**
 * Fits the model on the training rows and scores it on the test rows. Every input problem —
 * an unknown model, lengths that do not match, too few draws, non-finite values, a constant
 * θ, a CNN on rows that are not stacked 3072-value images — is an InputError raised before
 * any fitting.
 */
export async function regressTheta(input: RegressInput): Promise<RegressResult> {
  const { dim, model } = input;
  if (!REGRESS_MODELS.includes(model)) throw new InputError(`regression model '${String(model)}': expected one of ${REGRESS_MODELS.join(', ')}`);
  if (model === 'cnn') imageChannels(dim);
  const n = input.trainTheta.length;
  const m = input.testTheta.length;
  checkCount(n, model === 'cnn' ? 10 : 2, 'training draws');
  checkCount(m, 2, 'test draws');
  checkFeatures(input.trainFeatures, n, dim, 'training rows');
  checkTargets(input.trainTheta, n, 'training θ');
  checkFeatures(input.testFeatures, m, dim, 'test rows');
  checkTargets(input.testTheta, m, 'test θ');
  checkVaries(input.testTheta, 'test θ');

  if (model === 'ridge') {
    const started = performance.now();
    const fitted = fitRidge(input.trainFeatures, input.trainTheta, n, dim, input.ridge);
    const predictions = fitted.predict(input.testFeatures, m);
    const v = fitted.validation;
    return scored(input, started, predictions, n, {
      model,
      form: fitted.form,
      lambda: fitted.lambda,
      relativeLambda: v ? fitted.lambda / v.unit : null,
      validation: v,
    });
  }

  const options: CnnOptions = { ...input.cnn, seed: input.cnn?.seed ?? input.seed ?? 0 };
  // the backend's one-off set-up (loading wasm, registering gradients) is not the model's time
  await ensureTrainingBackend(options.backend, options.log);
  const started = performance.now();
  const fitted = await trainCnn(input.trainFeatures, input.trainTheta, n, dim, options);
  try {
    const predictions = fitted.predict(input.testFeatures, m);
    return scored(input, started, predictions, n, {
      model,
      backend: fitted.backend,
      curve: fitted.curve,
      bestEpoch: fitted.bestEpoch,
      trainRows: fitted.trainRows,
      validationRows: fitted.validationRows,
    });
  } finally {
    fitted.dispose();
  }
}

/** What a row says about the run besides the result: which dataset, map, subset, features and seed. */
export interface RegressRowContext {
  dataset: string;
  map: string;
  /** e.g. 'X_1,X_2'. */
  subset: string;
  /** e.g. 'pixels', 'latents', 'pca64'. */
  features: string;
  seed: number;
}

/** The result row of one regression, beside the subset's exact MI and Bayes optimum. */
export function regressRow(context: RegressRowContext, bayes: BayesOptimum, result: RegressResult): RegressRow {
  return {
    dataset: context.dataset,
    map: context.map,
    subset: context.subset,
    mi: bayes.mi,
    model: result.details.model,
    features: context.features,
    n: result.n,
    seed: context.seed,
    testMse: result.testMse,
    r2: result.r2,
    bayesMse: bayes.mse,
    bayesR2: bayes.r2,
    seconds: result.seconds,
  };
}
