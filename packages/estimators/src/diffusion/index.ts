export { minde } from './estimator.js';
export { estimateMinde } from './fit.js';
export { makeDenoiser, type Denoiser, type DenoiserSpec } from './denoiser.js';
export { mindeReadout, type MindeReadout, type NoisePredictor } from './readout.js';
export { noiseRows, type DiffusionRows } from './noising.js';
export { logSnrAt, logSnrRange, normalStream, signalAndNoise, type LogSnrRange, type VpSchedule } from './schedule.js';
export {
  checkMindeInput,
  MINDE_DEFAULTS,
  MINDE_DIRECTIONS,
  mindeHiddenFor,
  resolveMindeOptions,
  type DiffusionCurvePoint,
  type MindeDirection,
  type MindeOptions,
  type ResolvedMindeOptions,
} from './options.js';
