/**
 * Exported ONNX graphs cached on disk, keyed by the checkpoint's sha256, the weights used
 * (EMA or live) and the exporter version. Each graph has a sidecar with its own sha256; a
 * graph whose bytes do not match it (truncated, corrupt, edited), that has no sidecar, that
 * cannot be read, or that ONNX Runtime refused (`refused`) is rebuilt, never used. Both
 * files are written atomically.
 *
 * The cache only saves time, so it never stops a run: where the cache folder cannot be
 * written (read-only, full, a file in the way) the graph goes to a temporary folder instead,
 * said once per folder and process in the log, and the caller removes it once loaded.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFsError, isErrnoError } from '@mmmi/cli-kit';
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
  /** The cache could not be written: the graph is in this temporary folder, to be removed (`discardTemporary`) once loaded. */
  temporary?: string;
}

export interface GraphSource {
  arch: UNetArchitecture;
  values: ParamValues;
  /** sha256 of the checkpoint file the values came from. */
  checkpointSha256: string;
  weights: 'ema' | 'live';
}

export interface CacheOptions {
  /** Where the one line about an unwritable cache goes (default: stderr). */
  log?: (message: string) => void;
  /**
   * ONNX Runtime refused the cached graph (this reason): rebuild it even though its checksum
   * holds. When the export gives the same bytes, nothing is written and `built` is false.
   */
  refused?: string;
}

export function cachedGraphPath(source: Pick<GraphSource, 'checkpointSha256' | 'weights'>, dir = join(cacheRoot(), 'onnx')): string {
  if (!/^[0-9a-f]{64}$/.test(source.checkpointSha256)) throw new Error(`ONNX cache: '${source.checkpointSha256}' is not a sha256`);
  return join(dir, `${source.checkpointSha256}-${source.weights}-v${ONNX_EXPORTER_VERSION}.onnx`);
}

/** Cache folders already said to be unwritable in this process: the fallback is said once, not per engine opened. */
const saidUnwritable = new Set<string>();

/** The sha256 of the cached graph if it may be used, else why not. */
function checkCached(path: string): { sha256: string } | { reason: string } | undefined {
  const sidecar = `${path}.sha256`;
  try {
    if (!existsSync(path)) return undefined;
    if (!existsSync(sidecar)) return { reason: 'its checksum file is missing' };
    const expected = readFileSync(sidecar, 'utf8').trim();
    const actual = sha256Hex(readFileSync(path));
    if (actual === expected) return { sha256: actual };
    return { reason: `its sha256 ${actual.slice(0, 12)}… is not the recorded ${expected.slice(0, 12)}…` };
  } catch (e) {
    if (!isErrnoError(e)) throw e;
    return { reason: `it cannot be read: ${describeFsError(e)}` };
  }
}

/** Writes the graph and its sidecar into `dir`. */
function writeGraph(dir: string, path: string, bytes: Uint8Array, graphSha256: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomicSync(path, [bytes]);
  writeFileAtomicSync(`${path}.sha256`, [new TextEncoder().encode(`${graphSha256}\n`)]);
}

/** The cached graph of `source`, exported now if missing or not to be trusted (see the module comment). */
export function cachedOnnxGraph(source: GraphSource, dir = join(cacheRoot(), 'onnx'), options: CacheOptions = {}): CachedGraph {
  const path = cachedGraphPath(source, dir);
  const cached = checkCached(path);
  if (cached && 'sha256' in cached && !options.refused) return { path, graphSha256: cached.sha256, built: false };
  const reason = options.refused ? `ONNX Runtime refused it: ${options.refused}` : cached && 'reason' in cached ? cached.reason : undefined;
  const bytes = exportUNetOnnx(source.arch, source.values, { checkpoint_sha256: source.checkpointSha256, weights: source.weights });
  const graphSha256 = sha256Hex(bytes);
  // refused, yet the export gives the same bytes: the graph is not what ONNX Runtime refuses
  if (cached && 'sha256' in cached && cached.sha256 === graphSha256) return { path, graphSha256, built: false };
  try {
    writeGraph(dir, path, bytes, graphSha256);
    return { path, graphSha256, built: true, reason };
  } catch (e) {
    if (!isErrnoError(e)) throw e;
    const temporary = mkdtempSync(join(tmpdir(), 'mmmi-onnx-'));
    const tempPath = join(temporary, 'unet.onnx');
    try {
      writeFileAtomicSync(tempPath, [bytes]);
    } catch (inner) {
      rmSync(temporary, { recursive: true, force: true });
      throw inner;
    }
    if (!saidUnwritable.has(dir)) {
      saidUnwritable.add(dir);
      const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
      log(
        `ONNX graph cache: ${describeFsError(e, { fix: 'set MMMI_CACHE_DIR to a writable folder to keep the graph' })}; until then each run exports it again, to a temporary folder`,
      );
    }
    return { path: tempPath, graphSha256, built: true, reason, temporary };
  }
}

/** Removes the temporary folder of a graph that could not be cached (ONNX Runtime holds the graph once loaded). */
export function discardTemporary(graph: CachedGraph): void {
  if (graph.temporary) rmSync(graph.temporary, { recursive: true, force: true });
}
