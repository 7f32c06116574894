/** The variational estimators (MINE, NWJ, InfoNCE, SMILE) and their parts; see the package README. */
export { infonce, mine, nwj, smile, VARIATIONAL_ESTIMATORS } from './estimators.js';
export { fitCritic, type FitCriticOptions, type FittedCritic } from './fit.js';
export type { CurvePoint } from './curve.js';
export {
  BOUND_NAMES,
  checkVariationalInput,
  DEFAULTS as VARIATIONAL_DEFAULTS,
  IMAGE_VALUES,
  resolveOptions,
  type BoundName,
  type CriticKind,
  type EncoderKind,
  type VariationalOptions,
} from './options.js';
export { ensureTrainingBackend } from './backend.js';
export {
  diagonal,
  dvBound,
  infonceBound,
  infonceRowTerms,
  jsBound,
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
export { combineBatches, combineDv, combineRowMeans, evaluateBound, type BatchSummary, type HeldOutValue } from './evaluate.js';
