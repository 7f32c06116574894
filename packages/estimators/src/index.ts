export * from './estimator.js';
export { digamma, EULER_GAMMA } from './special.js';
export { bruteForceNeighbours, KdTree, ksgNeighbours, type KsgNeighbours, type KsgVariant } from './neighbours.js';
export { ksg, ksg1, ksg2, ksgFromNeighbours, type KsgOptions } from './ksg.js';
export { cholesky, covariance, symmetricEigen, topEigen } from './linear-algebra.js';
export type { BlockOperator, Cholesky, SymmetricEigen, TopEigen, TopEigenOptions } from './linear-algebra.js';
export { gaussian, gaussianBias, gaussianMi, SINGULAR_PIVOT, type GaussianOptions } from './gaussian.js';
export { fitPca, pcaFeatures, project, reconstruct, type Pca, type PcaFeatures, type PcaFeaturesOptions, type PcaOptions } from './pca.js';
export { binned, binnedMi, defaultBins, quantileBins, type BinnedOptions } from './binned.js';
