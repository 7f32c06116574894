/** The offline realism score: a small CIFAR-10 classifier, its shipped reference features, and the score. */
export {
  BN_EPSILON as REALISM_BN_EPSILON,
  disposeFolded as disposeRealismNetwork,
  foldBatchNorm as foldRealismBatchNorm,
  forward as realismForward,
  forwardFolded as realismForwardFolded,
  initialParameters as realismInitialParameters,
  INPUT_MEAN as REALISM_INPUT_MEAN,
  INPUT_STD as REALISM_INPUT_STD,
  parameterCount as realismParameterCount,
  parameterSpecs as realismParameterSpecs,
  type FoldedNetwork as RealismFoldedNetwork,
  type ParamSpec as RealismParamSpec,
  type RealismArchitecture,
} from './model.js';
export {
  clampUnit,
  defaultRealismModelDir,
  goldenDeviation,
  loadRealismClassifier,
  REALISM_FILES,
  RealismModelError,
  saveRealismWeights,
  type ClassifierOutput,
  type LoadRealismOptions,
  type RealismClassifier,
} from './classifier.js';
export { readRealismReference, writeReferenceFiles, type RealismReference, type ReferenceInput } from './reference.js';
export {
  REALISM_CLASSES,
  REALISM_IMAGE_VALUES,
  RealismReferenceScorer,
  RealismScorer,
  weightedStats,
  type ClassScore,
  type RealismFloor,
  type RealismScore,
  type ScoreOptions,
  type Spread,
} from './score.js';
export { classFolderLabel, openLabelledImages, type LabelledChunk, type LabelledImageSource } from './input.js';
export {
  openRealismScorer,
  realismScore,
  scoreLabelledImages,
  type OpenScorerOptions,
  type RealismScoreOptions,
  type ScoreSourceOptions,
  type SourceScore,
} from './api.js';
export { realismMain, type RealismCliIo } from './cli.js';
