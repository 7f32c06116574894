/** Checksums of files, streamed (files may be larger than memory). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex digest of a file with `algorithm` (sha256, md5, …) and its size in bytes. */
export async function hashFile(path: string, algorithm = 'sha256'): Promise<{ digest: string; bytes: number }> {
  const hash = createHash(algorithm);
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { digest: hash.digest('hex'), bytes };
}

/** SHA-256 of a file (hex) and its size in bytes. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const { digest, bytes } = await hashFile(path, 'sha256');
  return { sha256: digest, bytes };
}
