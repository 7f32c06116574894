export * from './estimator.js';
export { mulberry32 } from './random.js';
export { digamma, EULER_GAMMA } from './special.js';
export { bruteForceNeighbours, KdTree, ksgNeighbours, type KsgNeighbours, type KsgVariant } from './neighbours.js';
export { ksg, ksg1, ksg2, ksgFromNeighbours, type KsgOptions } from './ksg.js';
export { covariance, topEigen } from './linear-algebra.js';
export type { BlockOperator, TopEigen, TopEigenOptions } from './linear-algebra.js';
export { gaussian, gaussianBias, gaussianMi, SINGULAR_PIVOT, type GaussianOptions } from './gaussian.js';
export { fitPca, pcaFeatures, project, reconstruct, type Pca, type PcaFeatures, type PcaFeaturesOptions, type PcaOptions } from './pca.js';
export { binned, binnedMi, defaultBins, quantileBins, type BinnedOptions } from './binned.js';
export { externalEstimator, parseExternalOutput, type ExternalOptions } from './external.js';
export * from './variational/index.js';
export {
  checkMienfInput,
  fitMienf,
  mienf,
  MIENF_DEFAULTS,
  mienfRowCounts,
  resolveMienfOptions,
  type FittedMienf,
  type FlowCurvePoint,
  type MienfOptions,
  type MienfReadout,
} from './flow/index.js';
export {
  checkLmiInput,
  fitLmi,
  lmi,
  LMI_DEFAULTS,
  pointwiseKsg,
  resolveLmiOptions,
  type CodeActivation,
  type FittedLmi,
  type LatentCodes,
  type LmiCurvePoint,
  type LmiOptions,
} from './latent/index.js';
export {
  checkMindeInput,
  estimateMinde,
  minde,
  MINDE_DEFAULTS,
  mindeReadout,
  resolveMindeOptions,
  type DiffusionCurvePoint,
  type DiffusionRows,
  type MindeDirection,
  type MindeOptions,
  type NoisePredictor,
} from './diffusion/index.js';
