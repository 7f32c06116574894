/**
 * The memory this process may still take, for the memory checks every command makes before
 * its work: the smallest of the system's available memory (MemAvailable), the room left under
 * this process's cgroup limit (a Slurm or container job's `--mem`), and `MMMI_MEMORY_LIMIT`
 * (bytes; a share the user gives the job on a shared machine).
 */
import { existsSync, readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { InputError } from './errors.js';

export interface AvailableMemory {
  bytes: number;
  /** What bounds it: 'system' (MemAvailable), 'MMMI_MEMORY_LIMIT' or the cgroup limit's file. */
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

/** How a message names what bounds the memory: "this machine has", "MMMI_MEMORY_LIMIT gives", "<cgroup file> leaves". */
export function availableMemoryPhrase(available: AvailableMemory): string {
  if (available.source === 'system') return 'this machine has';
  if (available.source === 'MMMI_MEMORY_LIMIT') return 'MMMI_MEMORY_LIMIT gives';
  return `${available.source} leaves`;
}

/** Bytes as GB for messages: three decimals below 0.1 GB, one above. */
export function formatGigabytes(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 1e8 ? 3 : 1)} GB`;
}
