/**
 * Exported ONNX graphs cached on disk, keyed by the checkpoint's sha256, the weights used
 * (EMA or live) and the exporter version. Each graph has a sidecar with its own sha256; a
 * graph whose bytes do not match it (truncated, corrupt, edited) or that has no sidecar is
 * rebuilt, never used. Both files are written atomically.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '@mmmi/formats';
import { sha256Hex } from '../checkpoint.js';
import type { UNetArchitecture } from '../unet/architecture.js';
import type { ParamValues } from '../unet/params.js';
import { exportUNetOnnx, ONNX_EXPORTER_VERSION } from '../onnx/export-unet.js';

/** `MMMI_CACHE_DIR`, else `~/.cache/mmmi` (beside the registry and the FID weights). */
export function cacheRoot(): string {
  const v = process.env.MMMI_CACHE_DIR;
  return v && v.trim() !== '' ? v : join(homedir(), '.cache', 'mmmi');
}

export interface CachedGraph {
  path: string;
  /** sha256 of the graph file. */
  graphSha256: string;
  /** The graph was (re)built by this call. */
  built: boolean;
  /** Why it was rebuilt, when a cached file was refused. */
  reason?: string;
}

export interface GraphSource {
  arch: UNetArchitecture;
  values: ParamValues;
  /** sha256 of the checkpoint file the values came from. */
  checkpointSha256: string;
  weights: 'ema' | 'live';
}

export function cachedGraphPath(source: Pick<GraphSource, 'checkpointSha256' | 'weights'>, dir = join(cacheRoot(), 'onnx')): string {
  if (!/^[0-9a-f]{64}$/.test(source.checkpointSha256)) throw new Error(`ONNX cache: '${source.checkpointSha256}' is not a sha256`);
  return join(dir, `${source.checkpointSha256}-${source.weights}-v${ONNX_EXPORTER_VERSION}.onnx`);
}

/** The cached graph of `source`, exported now if missing or not to be trusted. */
export function cachedOnnxGraph(source: GraphSource, dir = join(cacheRoot(), 'onnx')): CachedGraph {
  const path = cachedGraphPath(source, dir);
  const sidecar = `${path}.sha256`;
  let reason: string | undefined;
  if (existsSync(path)) {
    if (!existsSync(sidecar)) reason = 'its checksum file is missing';
    else {
      const expected = readFileSync(sidecar, 'utf8').trim();
      const actual = sha256Hex(readFileSync(path));
      if (actual === expected) return { path, graphSha256: actual, built: false };
      reason = `its sha256 ${actual.slice(0, 12)}… is not the recorded ${expected.slice(0, 12)}…`;
    }
  }
  const bytes = exportUNetOnnx(source.arch, source.values, { checkpoint_sha256: source.checkpointSha256, weights: source.weights });
  const graphSha256 = sha256Hex(bytes);
  mkdirSync(dir, { recursive: true });
  writeFileAtomicSync(path, [bytes]);
  writeFileAtomicSync(sidecar, [new TextEncoder().encode(`${graphSha256}\n`)]);
  return { path, graphSha256, built: true, reason };
}
