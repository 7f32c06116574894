/**
 * A failed atomic write names the destination, never the temp file beside it (the temp file is
 * the writer's, the destination is the user's path), and leaves no temp file behind.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { AtomicFile, writeFileAtomic, writeFileAtomicSync } from '../src/atomic.js';

const tmp = tempDir('mmmi-formats-atomic-');

describe('atomic writes that fail', () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  const target = join(file, 'out.bin');
  const bytes = [Uint8Array.of(1, 2, 3)];

  it.each([
    ['writeFileAtomicSync', () => Promise.resolve().then(() => writeFileAtomicSync(target, bytes))],
    ['writeFileAtomic', () => writeFileAtomic(target, bytes)],
    ['AtomicFile.open', () => AtomicFile.open(target)],
  ])('%s under a file (ENOTDIR): the error names the destination', async (_name, write) => {
    const e = (await write().then(
      () => undefined,
      (err: unknown) => err,
    )) as NodeJS.ErrnoException;
    expect(e?.code).toBe('ENOTDIR');
    expect(e.path).toBe(target);
    expect(e.message).toContain(target);
    expect(e.message).not.toMatch(/\.tmp/);
  });

  it('a rename over a folder (EISDIR): the destination alone, and no temp file left', () => {
    const folder = join(tmp, 'a-folder');
    mkdirSync(join(folder, 'inside'), { recursive: true });
    let e: (NodeJS.ErrnoException & { dest?: string }) | undefined;
    try {
      writeFileAtomicSync(folder, bytes);
    } catch (err) {
      e = err as NodeJS.ErrnoException;
    }
    expect(e?.code).toBe('EISDIR');
    expect(e!.path).toBe(folder);
    expect(e!.dest).toBeUndefined();
    expect(e!.message).not.toMatch(/\.tmp/);
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
