/**
 * Write-then-rename, so a reader (or a crashed/killed writer) never sees a half-written
 * output: the destination either keeps its old content or gets the complete new one.
 * The temp file lives in the destination's folder because rename is only atomic within
 * one file system. No fsync: this protects against process crashes, not power loss,
 * and fsync per file would dominate the cost of writing many small dataset files.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempPathFor(path: string): string {
  const tag = `${process.pid}.${randomBytes(6).toString('hex')}`;
  return join(dirname(path), `.${basename(path)}.${tag}.tmp`);
}

/** An error about the temp file, reported against the destination: the temp file is ours, the destination is the user's path. */
function aboutDestination(err: unknown, tmp: string, path: string): unknown {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (e instanceof Error && e.path === tmp) {
    e.path = path;
    if (e.dest === path) delete e.dest;
    e.message = e.message.replace(` -> '${path}'`, '').replaceAll(tmp, path);
  }
  return err;
}

export async function writeFileAtomic(path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = tempPathFor(path);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    for (const chunk of chunks) {
      // A single write() may be partial for large buffers.
      for (let off = 0; off < chunk.length;) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
    }
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw aboutDestination(err, tmp, path);
  }
}

export function writeFileAtomicSync(path: string, chunks: readonly Uint8Array[]): void {
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    for (const chunk of chunks) {
      for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
    }
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the useful one
      }
    }
    try {
      rmSync(tmp, { force: true });
    } catch {
      // no temp file could be made there either (a file in the path): the original error is the useful one
    }
    throw aboutDestination(err, tmp, path);
  }
}

/**
 * The same guarantee for writers that stream or patch in place (zip archives): bytes go
 * to a temp file beside `path` at explicit positions; commit() renames it over `path`,
 * abort() removes it. Both are idempotent, and after either the file can't be written.
 */
export class AtomicFile {
  private handle: FileHandle | undefined;

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    handle: FileHandle,
  ) {
    this.handle = handle;
  }

  static async open(path: string): Promise<AtomicFile> {
    const tmp = tempPathFor(path);
    return new AtomicFile(path, tmp, await open(tmp, 'wx').catch((e: unknown) => Promise.reject(aboutDestination(e, tmp, path))));
  }

  /** Write all of `bytes` at `position` (a single write() may be partial). */
  async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    if (this.handle === undefined) throw new Error(`${this.path}: the file was already committed or aborted`);
    for (let off = 0; off < bytes.length;) {
      const { bytesWritten } = await this.handle.write(bytes, off, bytes.length - off, position + off);
      off += bytesWritten;
    }
  }

  async commit(): Promise<void> {
    const fh = this.handle;
    if (fh === undefined) return;
    this.handle = undefined;
    try {
      await fh.close();
      await rename(this.tempPath, this.path);
    } catch (err) {
      await rm(this.tempPath, { force: true }).catch(() => undefined);
      throw aboutDestination(err, this.tempPath, this.path);
    }
  }

  async abort(): Promise<void> {
    const fh = this.handle;
    this.handle = undefined;
    await fh?.close().catch(() => undefined);
    await rm(this.tempPath, { force: true }).catch(() => undefined);
  }
}
