/** MIENF: mutual information via a normalizing flow per side and a tridiagonal Gaussian base; see the package README. */
export { mienf } from './estimator.js';
export { fitMienf, type FittedMienf } from './fit.js';
export {
  checkMienfInput,
  MIENF_DEFAULTS,
  MIENF_READOUTS,
  MIENF_STARTS,
  mienfRowCounts,
  resolveMienfOptions,
  type FlowCurvePoint,
  type MienfOptions,
  type MienfReadout,
  type MienfStart,
  type ResolvedMienfOptions,
} from './options.js';
export { correlationsOf, standardNormalLogDensity, tridiagonalBase, tridiagonalMi, tridiagonalMiOf, type TridiagonalBase } from './base.js';
export { makeMienfModel, type MienfModel, type MienfModelSpec } from './model.js';
export { makeSideFlow, stackLayers, type FlowSpec, type SideFlow } from './flow.js';
export { ParameterPack } from './parameters.js';
export { actNorm } from './actnorm.js';
export { sinhArcsinh, logCosh } from './sinh-arcsinh.js';
export { luLinear } from './lu-linear.js';
export { affineCoupling, LOG_SCALE_BOUND, type CouplingSpec } from './affine-coupling.js';
export { constantParameter, truncatedNormalParameter, type FlowLayer, type LayerOutput, type ParameterSpec, type Uniforms } from './layer.js';
export { canonicalForm, type CanonicalForm } from './cca.js';
export { applySideMap, type SideMap } from './data.js';
