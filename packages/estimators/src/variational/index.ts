/** The variational estimators (MINE, NWJ, InfoNCE, SMILE, JS, DV, f-DIME) and their parts; see the package README. */
export { dv, ganDime, hdDime, infonce, js, klDime, mine, nwj, smile, VARIATIONAL_ESTIMATORS } from './estimators.js';
export { fitCritic, type FitCriticOptions, type FittedCritic } from './fit.js';
export type { CurvePoint } from './curve.js';
export {
  BOUND_NAMES,
  checkVariationalInput,
  DEFAULTS as VARIATIONAL_DEFAULTS,
  DIME_NAMES,
  IMAGE_VALUES,
  isDime,
  PROTOCOLS,
  resolveOptions,
  type BoundName,
  type CriticKind,
  type DimeName,
  type EncoderKind,
  type Protocol,
  type VariationalOptions,
} from './options.js';
export { ensureTrainingBackend } from './backend.js';
export {
  diagonal,
  dvBound,
  clipScores,
  infonceBound,
  infonceRowTerms,
  jsBound,
  jsMiBound,
  jsMiRowTerms,
  logSumExp,
  mineSurrogateFromParts,
  mineSurrogateLoss,
  nwjBound,
  nwjRowTerms,
  offDiagonalLogMeanExp,
  smileBound,
  stopGradient,
} from './bounds.js';
export { cnnEncoder, disposeCritic, makeCritic, mlpEncoder, parameterCount, scoreMatrix, type Critic, type CriticSpec, type Encoder } from './critics.js';
export { combineBatches, combineDv, combineRowMeans, evaluateBound, summarisePairs, type BatchSummary, type HeldOutValue } from './evaluate.js';
export { dimeEstimate, dimeLogRatio, dimeObjective, dimeObjectiveRowTerms, logSoftplus, stableSoftplus } from './dime.js';
export { cyclicDerangement, hasFixedPoint, permutationMatrix, randomDerangement } from './derangement.js';
export { drawWithReplacement } from './data.js';
