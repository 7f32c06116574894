export { symmetricEigen, type SymmetricEigen } from '@mmmi/latents';
export { frechetDistance, psdSqrt, traceSqrtProduct, type FrechetOptions } from './frechet.js';
export { readStats, StatsAccumulator, writeStats, type GaussianStats } from './stats.js';
export {
  checkInceptionWeights,
  createInceptionFeatureExtractor,
  INCEPTION_FEATURE_DIM,
  INCEPTION_FEATURE_PARAMETER_COUNT,
  INCEPTION_STATE_DICT_SHAPES,
  inceptionFeatureKeys,
  loadInceptionFeatureExtractor,
  type ImageLayout,
  type InceptionFeatures,
} from './inception/index.js';
export { resizeBilinearTF1, tf1AxisWeights, type AxisWeights, type ResizeShape } from './resize.js';
export {
  INCEPTION_SIZE,
  normalizeInceptionInPlace,
  preprocessForInception,
  preprocessUint8ForInception,
  quantizeUnitToUint8,
  type ImageBatchShape,
} from './preprocess.js';
export { downloadFile, DownloadError, md5File, stderrDownloadProgress, type DownloadOptions, type DownloadProgress, type DownloadResult } from './download.js';
export {
  DOWNLOAD_COMMAND,
  ensureWeights,
  FID_WEIGHTS_BYTES,
  FID_WEIGHTS_FILE_NAME,
  FID_WEIGHTS_FILES,
  FID_WEIGHTS_SHA256,
  FID_WEIGHTS_SHA256_PREFIX,
  fidCacheDir,
  loadWeights,
  locateWeights,
  verifyWeights,
  WeightsNotFoundError,
  type EnsureWeightsOptions,
  type KnownWeightsFile,
  type LocateOptions,
} from './weights.js';
export {
  folderImageSource,
  isStatsFile,
  listImageFiles,
  listNpzKeys,
  npzImageSource,
  openImageSource,
  type ImageBatch,
  type ImageSource,
  type OpenSourceOptions,
} from './sources.js';
export {
  CIFAR10_BINARY_FILE,
  CIFAR10_BINARY_MD5,
  CIFAR10_BINARY_URL,
  cifar10DataDir,
  cifar10ImageSource,
  cifar10ReferenceStats,
  ensureCifar10Data,
  locateCifar10Data,
  NAMED_SOURCES,
  namedSourceSplit,
  referenceStatsCachePath,
  type Cifar10Data,
  type EnsureCifar10Options,
  type NamedSource,
  type ReferenceStatsOptions,
  type ReferenceStatsResult,
} from './cifar10.js';
export { computeSourceStats, main as fidCliMain, type CliIo, type FeatureFn, type StatsRunOptions } from './cli.js';
export * from './realism/index.js';
