/** Streamed file checksums against the published test vectors (FIPS 180-2, RFC 1321). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile, sha256File } from '../src/file-hash.js';

const file = (content: Uint8Array | string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'file-hash-')), 'f');
  writeFileSync(path, content);
  return path;
};

describe('file checksums', () => {
  it('give the standard digests of "abc" and of the empty file, with the size', async () => {
    expect(await sha256File(file('abc'))).toEqual({ sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', bytes: 3 });
    expect(await hashFile(file('abc'), 'md5')).toEqual({ digest: '900150983cd24fb0d6963f7d28e17f72', bytes: 3 });
    expect((await sha256File(file(''))).sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('stream files of many chunks: one million "a" (FIPS 180-2 test vector)', async () => {
    expect(await sha256File(file(new Uint8Array(1_000_000).fill(0x61)))).toEqual({
      sha256: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
      bytes: 1_000_000,
    });
  });
});
