/**
 * A fresh temporary folder for the length of some work, removed on every way out: the work's
 * result, its error, a stop on SIGINT or SIGTERM (a cleanup of cli-kit's `onStop`), and the
 * process exiting meanwhile by any other `process.exit` (which runs no `finally`), by a
 * synchronous exit hook. Both are held only while the folder is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onStop, RunFailure } from '@mmmi/cli-kit';

/** Runs `work` in a new folder `<tmpdir>/<prefix>XXXXXX` and removes the folder afterwards. */
export async function withTemporaryFolder<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), prefix));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new RunFailure(`cannot make a temporary folder in ${tmpdir()} (${code}); point TMPDIR at a writable folder with space`);
  }
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', remove);
  const stopRegistration = onStop(`removing ${dir}`, remove);
  try {
    return await work(dir);
  } finally {
    stopRegistration();
    process.off('exit', remove);
    remove();
  }
}
