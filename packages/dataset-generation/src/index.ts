export { generate, prepareJob, type GenerateResult } from './generate.js';
export { GENERATION_FLAGS, generationOptions, parseGenerationArgs, type GenerationOptions } from './options.js';
export { TRANSFORMS, applyTransform, type TransformName } from './transforms.js';
export { SCALINGS, scaleBatch, type ScalingName } from './scaling.js';
export { verifyFolder, type ShardReport } from './verify.js';
export { MANIFEST_FORMAT, type Manifest } from './manifest.js';
export * as figures from './figures/index.js';
export { ShardReader, type ShardBatch } from './loader.js';
export { openFlowMap, type FlowMap, type FlowMapInfo, type FlowOverrides } from './flow-map.js';
