/**
 * A generation job's memory need, estimated before any sampling, against the memory this
 * process may still use: a batch that cannot fit is refused with the sizes and the fix
 * instead of dying hours later in an allocation failure or the kernel's OOM killer.
 *
 * Per batch of b draws with V = b·N_mod·d latent values:
 * - latents: θ and X in float64 (8·V bytes);
 * - the map's output: float32 images (4·V) from the flow map, float64 (8·V) from a model-free
 *   transform; the kept noise and the scaled images, float32 (4·V each);
 * - a flow map: its weights (float32, each copy an engine holds) and, per image of a batch,
 *   the UNet's activation peak (flow-train's `forwardPeakBytesPerImage`, twice with
 *   classifier-free guidance) and the solver's state.
 * Available: the smallest of the system's available memory (MemAvailable), the room left
 * under this process's cgroup limit (a Slurm or container job's `--mem`), and
 * `MMMI_MEMORY_LIMIT` (bytes; a share the user gives the job on a shared machine).
 */
import { existsSync, readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { InputError } from '@mmmi/cli-kit';

export interface FlowMemory {
  /** Bytes of the weights, all copies the engines hold. */
  weightsBytes: number;
  /** Bytes per image of a batch: activations of the velocity evaluations and the solver's state. */
  perImageBytes: number;
}

export interface MemoryPart {
  what: string;
  bytes: number;
}

export interface MemoryNeed {
  parts: MemoryPart[];
  total: number;
}

export function generationMemoryNeed(batch: { drawsPerBatch: number; nMod: number; modDim: number }, map: { flow?: FlowMemory }): MemoryNeed {
  const values = batch.drawsPerBatch * batch.nMod * batch.modDim;
  const parts: MemoryPart[] = [
    { what: 'latents (float64)', bytes: 8 * values },
    { what: map.flow ? 'flow-map images (float32)' : 'transformed latents (float64)', bytes: (map.flow ? 4 : 8) * values },
    { what: 'noise and scaled images (float32)', bytes: 8 * values },
  ];
  if (map.flow) {
    parts.push({ what: 'flow weights', bytes: map.flow.weightsBytes });
    parts.push({ what: `flow activations (${batch.drawsPerBatch} images a pass)`, bytes: batch.drawsPerBatch * map.flow.perImageBytes });
  }
  return { parts, total: parts.reduce((s, p) => s + p.bytes, 0) };
}

export interface AvailableMemory {
  bytes: number;
  /** What bounds it: 'system' (MemAvailable) or the cgroup limit's file. */
  source: string;
}

function readNumber(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8').trim();
  return /^\d+$/.test(text) ? Number(text) : undefined; // 'max': no limit
}

/** The memory this process may still take (see the module comment). */
export function availableMemory(env: Record<string, string | undefined> = process.env): AvailableMemory {
  let best: AvailableMemory = { bytes: freemem(), source: 'system' };
  const given = env.MMMI_MEMORY_LIMIT;
  if (given !== undefined) {
    if (!/^\d+(\.\d+)?(e\d+)?$/i.test(given.trim())) throw new InputError(`MMMI_MEMORY_LIMIT=${given}: expected a number of bytes, e.g. 8e9`);
    if (Number(given) < best.bytes) best = { bytes: Number(given), source: 'MMMI_MEMORY_LIMIT' };
  }
  const limits: [string, string][] = [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'], // cgroup v2
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'], // cgroup v1
  ];
  for (const [limitFile, usageFile] of limits) {
    const limit = readNumber(limitFile);
    const usage = readNumber(usageFile);
    // v1 reports "no limit" as a huge number (2^63 rounded to pages)
    if (limit === undefined || usage === undefined || limit > 2 ** 60) continue;
    const room = Math.max(0, limit - usage);
    if (room < best.bytes) best = { bytes: room, source: `the cgroup limit ${limitFile}` };
  }
  return best;
}

const gb = (b: number) => `${(b / 1e9).toFixed(b < 1e8 ? 3 : 1)} GB`;

/** Refuses a job whose batch needs more memory than is available, naming the parts and the fix. */
export function checkMemory(need: MemoryNeed, available: AvailableMemory): void {
  if (need.total <= available.bytes) return;
  const parts = need.parts
    .filter((p) => p.bytes > 0)
    .map((p) => `${p.what} ${gb(p.bytes)}`)
    .join(', ');
  throw new InputError(
    `a batch needs about ${gb(need.total)} of memory (${parts}) and ${available.source === 'system' ? 'this machine has' : available.source === 'MMMI_MEMORY_LIMIT' ? 'MMMI_MEMORY_LIMIT gives' : `${available.source} leaves`} ${gb(available.bytes)} available: lower --batch_size (draws per batch = batch_size / N_mod)`,
  );
}
