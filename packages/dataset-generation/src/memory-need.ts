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
 * `MMMI_MEMORY_LIMIT` (bytes; a share the user gives the job on a shared machine), as
 * `@mmmi/cli-kit`'s `availableMemory` measures it.
 *
 * The advice names the flag that can make the batch fit: `--batch_size` only while fewer
 * draws per batch would fit; when even one draw does not, the size of a draw (`--N_mod`,
 * `--mod_dim`), and when the flow weights alone do not, `--threads` (tfjs holds a copy of
 * the weights per thread).
 */
import { availableMemory, availableMemoryPhrase, formatGigabytes, InputError, type AvailableMemory } from '@mmmi/cli-kit';

// the one measure of available memory, shared with the other commands
export { availableMemory, type AvailableMemory };

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
  /** The batch it was counted for, and what one more draw in it adds: the advice's terms. */
  batch: { drawsPerBatch: number; nMod: number; modDim: number };
  perDrawBytes: number;
  /** Bytes that do not depend on the batch: the flow weights. */
  fixedBytes: number;
}

export function generationMemoryNeed(batch: { drawsPerBatch: number; nMod: number; modDim: number }, map: { flow?: FlowMemory }): MemoryNeed {
  const values = batch.drawsPerBatch * batch.nMod * batch.modDim;
  const parts: MemoryPart[] = [
    { what: 'latents (float64)', bytes: 8 * values },
    { what: map.flow ? 'flow-map images (float32)' : 'transformed latents (float64)', bytes: (map.flow ? 4 : 8) * values },
    { what: 'noise and scaled images (float32)', bytes: 8 * values },
  ];
  const fixedBytes = map.flow?.weightsBytes ?? 0;
  if (map.flow) {
    parts.push({ what: 'flow weights', bytes: map.flow.weightsBytes });
    parts.push({ what: `flow activations (${batch.drawsPerBatch} images a pass)`, bytes: batch.drawsPerBatch * map.flow.perImageBytes });
  }
  const total = parts.reduce((s, p) => s + p.bytes, 0);
  return { parts, total, batch, perDrawBytes: (total - fixedBytes) / batch.drawsPerBatch, fixedBytes };
}

/**
 * The flag that makes the batch fit: fewer draws per batch while one draw fits beside the
 * fixed part (with the largest --batch_size that fits), else the size of a draw, else the
 * copies of the flow weights.
 */
function advice(need: MemoryNeed, available: AvailableMemory): string {
  const { drawsPerBatch, nMod } = need.batch;
  const room = available.bytes - need.fixedBytes;
  if (room < 0) {
    return `the flow weights alone need ${formatGigabytes(need.fixedBytes)} (a copy per tfjs thread, two with ONNX Runtime): with --engine tfjs lower --threads, else run where more memory is available`;
  }
  const drawsThatFit = Math.floor(room / need.perDrawBytes);
  if (drawsThatFit >= 1 && drawsThatFit < drawsPerBatch) {
    return `lower --batch_size to at most ${drawsThatFit * nMod} (draws per batch = batch_size / N_mod, ${drawsPerBatch} now)`;
  }
  const flow = need.fixedBytes > 0;
  return `even one draw per batch needs ${formatGigabytes(need.perDrawBytes)} (--batch_size cannot help): lower ${flow ? '--N_mod' : '--mod_dim or --N_mod'}, or run where more memory is available`;
}

/** Refuses a job whose batch needs more memory than is available, naming the parts and the fix. */
export function checkMemory(need: MemoryNeed, available: AvailableMemory): void {
  if (need.total <= available.bytes) return;
  const parts = need.parts
    .filter((p) => p.bytes > 0)
    .map((p) => `${p.what} ${formatGigabytes(p.bytes)}`)
    .join(', ');
  throw new InputError(
    `a batch needs about ${formatGigabytes(need.total)} of memory (${parts}) and ${availableMemoryPhrase(available)} ${formatGigabytes(available.bytes)} available: ${advice(need, available)}`,
  );
}
