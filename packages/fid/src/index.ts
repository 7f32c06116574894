export { symmetricEigen, type SymmetricEigen } from './eigen.js';
export { frechetDistance, psdSqrt, traceSqrtProduct, type FrechetOptions } from './frechet.js';
export { readStats, StatsAccumulator, writeStats, type GaussianStats } from './stats.js';
