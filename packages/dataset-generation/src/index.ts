export { generate, prepareJob, type GenerateResult } from './generate.js';
export { GENERATION_FLAGS, generationOptions, parseGenerationArgs, type GenerationOptions } from './options.js';
export { TRANSFORMS, applyTransform, transformMap, type TransformName } from './maps/transforms.js';
export { SCALINGS, scaleBatch, type ScalingName } from './scaling.js';
export { verifyFolder, type ShardReport } from './verify.js';
export { MANIFEST_FORMAT, type Manifest } from './manifest.js';
export * as figures from './figures/index.js';
export { ShardReader, type ShardBatch, type ShardCheck } from './loader.js';
export { buildIndex, IndexError, INDEX_FORMAT, indexPath, type DatasetIndex } from './dataset-index.js';
export { DatasetReader } from './dataset-reader.js';
export { openFlowMap, type FlowMap, type FlowMapInfo, type FlowOverrides } from './maps/flow-map.js';
export {
  MAP_KINDS,
  openModalityMap,
  resolveModalityMap,
  type MapChoice,
  type MapKind,
  type MapRequest,
  type ModalityMap,
  type ResolvedMap,
} from './maps/modality-map.js';
