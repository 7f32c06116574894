export { BACKEND_CHOICES, BACKEND_ORDER, BackendUnavailableError, selectBackend, type BackendName, type SelectBackendOptions } from './select.js';
export { prepareBackend, type PrepareBackendOptions } from './prepare.js';
export { registerTfjsGradients } from './gradients.js';
export { silenceCpuBanner } from './cpu-banner.js';
export {
  conv2DBackpropFilterWasm,
  KernelScope,
  registerFastWasmKernels,
  registerWasmTrainingKernels,
  unsortedSegmentSumWasm,
  WASM_FAST_KERNELS,
  WASM_TRAINING_KERNELS,
  wrapWasmKernel,
  type KernelFix,
  type WasmBackendLike,
} from './wasm/kernels.js';
export {
  activeWebGpuAdapter,
  adapterName,
  discoverAdapters,
  isSoftwareAdapter,
  openWebGpuAdapter,
  registerWebGpuBackend,
  webGpuProbes,
  WebGpuUnavailableError,
  type OpenedAdapter,
  type OpenWebGpuOptions,
  type Probe,
  type ProbeResult,
  type WebGpuAdapterDescription,
} from './webgpu.js';
export { BestWeights } from './best-weights.js';
