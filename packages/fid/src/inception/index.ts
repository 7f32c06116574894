export {
  BLOCKS,
  BN_EPS,
  INCEPTION_CONVS,
  INCEPTION_FC_CLASSES,
  INCEPTION_FEATURE_DIM,
  inceptionFeatureKeys,
  inceptionFeatureParameterCount,
  STEM,
  type BlockKind,
  type BlockSpec,
  type ConvSpec,
} from './architecture.js';
export { checkInceptionWeights, createInceptionFeatureExtractor, loadInceptionFeatureExtractor, type ImageLayout, type InceptionFeatures } from './model.js';
export { INCEPTION_FEATURE_PARAMETER_COUNT, INCEPTION_STATE_DICT_SHAPES } from './state-dict-shapes.js';
