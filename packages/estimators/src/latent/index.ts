/** Latent MI (LMI): KSG on learned low-dimensional codes of each side; see the package README. */
export { lmi } from './estimator.js';
export { fitLmi, type FittedLmi, type LatentCodes } from './fit.js';
export {
  ADAM_EPSILON as LMI_ADAM_EPSILON,
  checkLmiInput,
  hiddenWidthOf,
  latentDimOf,
  LMI_DEFAULTS,
  resolveLmiOptions,
  type CodeActivation,
  type LmiCurvePoint,
  type LmiOptions,
  type ResolvedLmiOptions,
} from './options.js';
export { LEAKY_SLOPE, makePairedAutoencoder, type PairedAutoencoder, type PairedAutoencoderSpec, type SideShape } from './networks.js';
export { pointwiseKsg, type PointwiseKsg, type PointwiseKsgOptions } from './pointwise-ksg.js';
export { pairedAutoencoderLoss, trainPairedAutoencoder, type LmiTrainResult, type LmiTrainSettings } from './train.js';
