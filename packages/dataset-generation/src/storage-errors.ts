/**
 * Disk full, read-only file system, no permission: a job's storage error becomes one message
 * in cli-kit's words (fs-errors.ts: the path — the file's when Node knows it, else the
 * dataset folder —, the cause and the fix, here in terms of --dataset_loc), followed by where
 * the work done so far is kept for the rerun that resumes it.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { describeFsError, fsErrorIsInput, InputError, isErrnoError } from '@mmmi/cli-kit';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The fix in generation's terms, for the codes where another --dataset_loc is the way out. */
const FIXES: Record<string, string> = {
  ENOSPC: 'free some, or choose another --dataset_loc',
  EDQUOT: 'free some, or choose another --dataset_loc',
  EROFS: 'choose a writable --dataset_loc',
  EACCES: 'fix its permissions, or choose another --dataset_loc',
  EPERM: 'fix its permissions, or choose another --dataset_loc',
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

/**
 * The StorageError for `e`, or undefined when `e` is no storage error: an errno error where
 * the machine refused (exit 1; a wrong path, exit 2, is left to cli-kit). `partial`: the job's workspace.
 */
export function storageError(e: unknown, context: { datasetLoc: string; partial: string }): StorageError | undefined {
  if (!isErrnoError(e) || fsErrorIsInput(e)) return undefined;
  const err = e;
  let kept = '';
  try {
    const saved = JSON.parse(readFileSync(join(context.partial, 'progress.json'), 'utf8')) as { drawsDone?: number };
    if (saved.drawsDone)
      kept = `; the ${saved.drawsDone} samples done so far are kept in ${context.partial}, and rerunning the same command resumes after them`;
  } catch {
    // no checkpoint yet: nothing to resume
  }
  return new StorageError(`${describeFsError(err, { path: context.datasetLoc, fix: FIXES[err.code] })}${kept}`, err.code);
}
