/**
 * Disk full, read-only file system, no permission: the raw ENOSPC / EROFS / EACCES of Node
 * name neither the path in every case nor what to do. A job's storage error becomes one
 * message with the path (the file's when Node knows it, else the dataset folder), the fix,
 * and where the work done so far is kept for the rerun that resumes it.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { InputError } from '@mmmi/cli-kit';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

const CAUSES: Record<string, (path: string) => string> = {
  ENOSPC: (p) => `no space left on the device holding ${p}: free some, or choose another --dataset_loc`,
  EDQUOT: (p) => `the disk quota of the device holding ${p} is used up: free some, or choose another --dataset_loc`,
  EROFS: (p) => `${p} is on a read-only file system: choose a writable --dataset_loc`,
  EACCES: (p) => `no permission to write ${p}: fix its permissions, or choose another --dataset_loc`,
  EPERM: (p) => `the operation on ${p} is not permitted: fix its permissions, or choose another --dataset_loc`,
};

/**
 * mkdir -p that reports the real cause: Node's recursive mkdir answers ENOENT where the
 * first missing folder cannot be made (read-only, no permission); that folder is then made
 * alone, which fails with the true code and path.
 */
export async function ensureFolder(path: string): Promise<void> {
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new InputError(`--dataset_loc ${path} is a file, not a folder: choose a folder (it is made when missing)`);
  try {
    await mkdir(path, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let first = resolve(path);
    while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
    mkdirSync(first);
    throw e;
  }
}

/** A storage problem of a generation job, worded for the user (see the module comment). */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** The StorageError for `e`, or undefined when `e` is no storage error. `partial`: the job's workspace. */
export function storageError(e: unknown, context: { datasetLoc: string; partial: string }): StorageError | undefined {
  const err = e as NodeJS.ErrnoException;
  const cause = err && typeof err.code === 'string' ? CAUSES[err.code] : undefined;
  if (!cause) return undefined;
  let kept = '';
  try {
    const saved = JSON.parse(readFileSync(join(context.partial, 'progress.json'), 'utf8')) as { drawsDone?: number };
    if (saved.drawsDone)
      kept = `; the ${saved.drawsDone} samples done so far are kept in ${context.partial}, and rerunning the same command resumes after them`;
  } catch {
    // no checkpoint yet: nothing to resume
  }
  return new StorageError(`${cause(err.path ?? context.datasetLoc)} (${err.code})${kept}`, err.code!);
}
