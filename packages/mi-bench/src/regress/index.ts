/**
 * Regression of θ from modalities, measured against the Bayes-optimal error the exact MI
 * gives: ridge (primal or dual, penalty by validation) on any features, a small CNN on raw
 * images, and the per-run entry point the `regress` command calls.
 */
export { bayesOptimum, type BayesOptimum } from './bayes.js';
export { evaluateRegression, type RegressionScore } from './metrics.js';
export { fitRidge, RidgeModel, type RidgeForm, type RidgeOptions, type RidgeValidation } from './ridge.js';
export { DEFAULT_EXPONENTS, type LambdaTrial } from './lambda-search.js';
export { trainCnn, CnnModel, type CnnEpoch, type CnnOptions } from './cnn.js';
export { IMAGE_VALUES, imageChannels } from './image-layout.js';
export {
  regressRow,
  regressTheta,
  REGRESS_MODELS,
  type CnnDetails,
  type RegressInput,
  type RegressModelName,
  type RegressResult,
  type RegressRowContext,
  type RidgeDetails,
} from './regress.js';
export type { FeatureArray } from './check.js';
