/// <reference types="@webgpu/types" />
/**
 * tfjs on WebGPU in Node: Dawn's Node bindings (`webgpu`, which ship their binary) find and
 * open the adapter, `@tensorflow/tfjs-backend-webgpu` supplies the kernels. Any current GPU
 * with a Vulkan driver (Metal on macOS, D3D12 on Windows) can then train and sample, with no
 * CUDA or libtensorflow of a particular version.
 *
 * Adapter search (first success wins, a hardware adapter before a software one):
 *
 *   1. Dawn's default backend (Vulkan on Linux), WebGPU core, high-performance preference;
 *   2. Dawn's OpenGL ES backend, then desktop OpenGL, in WebGPU's compatibility mode, over
 *      EGL without a display (`EGL_PLATFORM=surfaceless` unless the user set it).
 *
 * `MMMI_WEBGPU_BACKENDS` (a comma list of default, opengles, opengl) restricts the search,
 * e.g. to `default` where a broken EGL stack should not be touched.
 *
 * A software adapter (Mesa's llvmpipe or lavapipe, SwiftShader) computes correctly but more
 * slowly than the wasm backend: `auto` never takes one; `--backend webgpu` takes one only
 * where no hardware adapter exists, and says so. That is how CI tests this backend.
 *
 * Known limit: tfjs's webgpu backend reads tensors synchronously (`dataSync`) only through
 * an OffscreenCanvas, which Node lacks; code that runs on it must read with `data()`.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';

const execFileAsync = promisify(execFile);

export interface WebGpuAdapterDescription {
  /** Dawn backend that gave the adapter: 'default' (Vulkan/Metal/D3D12), 'opengles' or 'opengl'. */
  dawnBackend: string;
  featureLevel: 'core' | 'compatibility';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader): correct, slow. */
  software: boolean;
}

export interface OpenWebGpuOptions {
  /** Accept a software adapter when no hardware one exists (default false). */
  allowSoftware?: boolean;
}

/** No usable WebGPU adapter here; the message says what was tried and what to install. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

export interface Probe {
  dawnBackend: string;
  flags: string[];
  featureLevel: 'core' | 'compatibility';
}

const PROBES: readonly Probe[] = [
  { dawnBackend: 'default', flags: [], featureLevel: 'core' },
  { dawnBackend: 'opengles', flags: ['backend=opengles'], featureLevel: 'compatibility' },
  { dawnBackend: 'opengl', flags: ['backend=opengl'], featureLevel: 'compatibility' },
];

/** The probes `MMMI_WEBGPU_BACKENDS` allows (all when unset), in the search order. */
export function webGpuProbes(env: NodeJS.ProcessEnv = process.env): readonly Probe[] {
  const wanted = env.MMMI_WEBGPU_BACKENDS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!wanted?.length) return PROBES;
  const unknown = wanted.filter((w) => !PROBES.some((p) => p.dawnBackend === w));
  if (unknown.length)
    throw new WebGpuUnavailableError(
      `MMMI_WEBGPU_BACKENDS: unknown Dawn backend ${unknown.map((u) => `'${u}'`).join(', ')} (expected a comma list of ${PROBES.map((p) => p.dawnBackend).join(', ')})`,
    );
  return PROBES.filter((p) => wanted.includes(p.dawnBackend));
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|software rasteri[sz]er/i;

/** Whether an adapter is a CPU rasteriser (by the spec's fallback flag or the driver's name). */
export function isSoftwareAdapter(info: {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}): boolean {
  if (info.isFallbackAdapter === true) return true;
  return SOFTWARE_NAMES.test([info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' '));
}

const INSTALL_HINT =
  "a GPU needs its Vulkan driver and the loader (Debian: libvulkan1 plus the vendor ICD, e.g. NVIDIA's driver or mesa-vulkan-drivers); " +
  "without a GPU, Mesa's software renderer (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri libgles2) serves --backend webgpu for tests only";

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

let dawn: DawnModule | undefined;

async function loadDawn(): Promise<DawnModule> {
  if (dawn) return dawn;
  const name = 'webgpu';
  let mod: DawnModule;
  try {
    mod = (await import(name)) as DawnModule;
  } catch (e) {
    throw new WebGpuUnavailableError(`the Dawn bindings (npm package 'webgpu') do not load: ${errText(e)}; reinstall with \`npm ci\``);
  }
  // GPUBufferUsage, GPUMapMode, … : tfjs's webgpu kernels use them as browser globals
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  dawn = mod;
  return mod;
}

const errText = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0] : String(e));

/** What one probe found (by the child process of {@link discoverAdapters}). */
export interface ProbeResult {
  dawnBackend: string;
  /** The adapter, or why there is none. */
  adapter?: Omit<WebGpuAdapterDescription, 'dawnBackend' | 'featureLevel' | 'software'> & { isFallbackAdapter?: boolean };
  reason?: string;
}

/**
 * Runs the probes in a child process and stops at the first hardware adapter. A child,
 * because Dawn prints its warnings (no libvulkan, reduced limits) straight to the process's
 * stderr, where a user of `auto` on a CPU-only machine should not see them, and because a
 * driver that crashes while probing must not take the caller with it.
 */
const PROBE_SCRIPT = `
const [dawnPath, probesJson, softwareSource] = process.argv.slice(1);
const { create } = await import(new URL('file://' + dawnPath).href);
const software = new RegExp(softwareSource, 'i');
const found = [];
for (const probe of JSON.parse(probesJson)) {
  if (probe.dawnBackend.startsWith('opengl')) process.env.EGL_PLATFORM ??= 'surfaceless';
  try {
    const adapter = await create(probe.flags).requestAdapter({ featureLevel: probe.featureLevel, powerPreference: 'high-performance' });
    if (!adapter) { found.push({ dawnBackend: probe.dawnBackend, reason: 'no adapter' }); continue; }
    const i = adapter.info;
    const a = { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '', isFallbackAdapter: i.isFallbackAdapter ?? adapter.isFallbackAdapter };
    found.push({ dawnBackend: probe.dawnBackend, adapter: a });
    if (!a.isFallbackAdapter && !software.test([a.vendor, a.architecture, a.device, a.description].join(' '))) break;
  } catch (e) {
    found.push({ dawnBackend: probe.dawnBackend, reason: String(e && e.message || e).split('\\n')[0] });
  }
}
process.stdout.write(JSON.stringify(found));
process.exit(0);
`;

const discoveries = new Map<string, Promise<ProbeResult[]>>();

/** Every probe's result up to the first hardware adapter (once per process and list of probes). */
export function discoverAdapters(probes: readonly Probe[] = webGpuProbes()): Promise<ProbeResult[]> {
  const key = JSON.stringify(probes);
  let discovery = discoveries.get(key);
  if (discovery) return discovery;
  discovery = (async () => {
    let dawnPath: string;
    try {
      dawnPath = createRequire(import.meta.url).resolve('webgpu');
    } catch (e) {
      throw new WebGpuUnavailableError(`the Dawn bindings (npm package 'webgpu') are not installed: ${errText(e)}; reinstall with \`npm ci\``);
    }
    try {
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--input-type=module', '-e', PROBE_SCRIPT, dawnPath, JSON.stringify(probes), SOFTWARE_NAMES.source],
        { timeout: 120_000, maxBuffer: 1 << 20 },
      );
      return JSON.parse(stdout) as ProbeResult[];
    } catch (e) {
      const err = e as Error & { stderr?: string; signal?: string };
      const detail = err.signal ? `killed by ${err.signal}` : (err.stderr ?? '').trim().split('\n').pop() || errText(e);
      throw new WebGpuUnavailableError(`probing for a WebGPU adapter failed (${detail})`);
    }
  })();
  discoveries.set(key, discovery);
  discovery.catch(() => discoveries.delete(key));
  return discovery;
}

export interface OpenedAdapter {
  gpu: GPU;
  adapter: GPUAdapter;
  description: WebGpuAdapterDescription;
}

/**
 * Finds a WebGPU adapter (see the module comment for the order) and opens it in this
 * process. Throws WebGpuUnavailableError naming each attempt when none fits.
 */
export async function openWebGpuAdapter(options: OpenWebGpuOptions = {}): Promise<OpenedAdapter> {
  const found = await discoverAdapters();
  if (!found.length) throw new WebGpuUnavailableError(`no WebGPU adapter (MMMI_WEBGPU_BACKENDS allows no probe); ${INSTALL_HINT}`);
  const describe = (r: ProbeResult): WebGpuAdapterDescription => {
    const probe = PROBES.find((p) => p.dawnBackend === r.dawnBackend)!;
    const { isFallbackAdapter: _fallback, ...names } = r.adapter!;
    return { dawnBackend: r.dawnBackend, featureLevel: probe.featureLevel, ...names, software: isSoftwareAdapter(r.adapter!) };
  };
  const usable = found.filter((r) => r.adapter).map(describe);
  const chosen = usable.find((d) => !d.software) ?? (options.allowSoftware ? usable[0] : undefined);
  if (!chosen) {
    const tried = found.map((r) => `${r.dawnBackend}: ${r.adapter ? `software adapter ${adapterName(describe(r))}` : r.reason}`);
    throw new WebGpuUnavailableError(`${usable.length ? 'no hardware WebGPU adapter' : 'no WebGPU adapter'} (${tried.join('; ')}); ${INSTALL_HINT}`);
  }
  const { create } = await loadDawn();
  const probe = PROBES.find((p) => p.dawnBackend === chosen.dawnBackend)!;
  if (probe.dawnBackend.startsWith('opengl')) process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create(probe.flags);
  const adapter = await gpu.requestAdapter({ featureLevel: probe.featureLevel, powerPreference: 'high-performance' } as GPURequestAdapterOptions);
  if (!adapter) throw new WebGpuUnavailableError(`the WebGPU adapter ${adapterName(chosen)} was found by the probe but does not open in this process`);
  return { gpu, adapter, description: chosen };
}

export function adapterName(d: WebGpuAdapterDescription): string {
  const name = [d.vendor, d.device || d.architecture].filter(Boolean).join(' ') || d.description || 'unnamed adapter';
  return `${name} via ${d.dawnBackend === 'default' ? "Dawn's default backend" : d.dawnBackend}${d.featureLevel === 'compatibility' ? ', compatibility mode' : ''}`;
}

/** GPUAdapter.info (newer than the @webgpu/types that tfjs pins). */
const adapterInfo = (adapter: GPUAdapter): GPUAdapterInfo => (adapter as GPUAdapter & { info: GPUAdapterInfo }).info;

let active: WebGpuAdapterDescription | undefined;

/** The adapter tfjs's 'webgpu' backend runs on, once registered by {@link registerWebGpuBackend}. */
export function activeWebGpuAdapter(): WebGpuAdapterDescription | undefined {
  return active;
}

/**
 * Opens an adapter and device and registers them as tfjs's 'webgpu' backend (replacing the
 * factory tfjs-backend-webgpu registers for browsers). Idempotent once it succeeded.
 * The device's uncaptured errors (invalid shaders, out of memory) are reported to `log`
 * rather than lost.
 */
export async function registerWebGpuBackend(options: OpenWebGpuOptions & { log?: (message: string) => void } = {}): Promise<WebGpuAdapterDescription> {
  if (active && tf.findBackendFactory('webgpu')) {
    if (active.software && !options.allowSoftware)
      throw new WebGpuUnavailableError(`no hardware WebGPU adapter (the registered one is the software adapter ${adapterName(active)}); ${INSTALL_HINT}`);
    return active;
  }
  const { gpu, adapter, description } = await openWebGpuAdapter(options);
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  let backendModule: { WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => tf.KernelBackend };
  try {
    backendModule = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as typeof backendModule;
  } catch (e) {
    throw new WebGpuUnavailableError(`@tensorflow/tfjs-backend-webgpu does not load: ${errText(e)}; reinstall with \`npm ci\``);
  }
  // the backend checks navigator.gpu when constructed (Node 20 has no navigator; 21+ has one without gpu)
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    // tfjs's own factory asks for the adapter's limits, not WebGPU's lower defaults
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  device.addEventListener('uncapturederror', (event) => log(`webgpu: device error: ${(event as GPUUncapturedErrorEvent).error.message}`));
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') log(`webgpu: device lost: ${info.message}`);
  });
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new backendModule.WebGPUBackend(device, adapterInfo(adapter)), 0);
  active = description;
  return description;
}
