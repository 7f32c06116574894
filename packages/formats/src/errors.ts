/**
 * One error type for every malformed foreign file, so callers can tell "the file is bad"
 * (FormatError) apart from I/O failures (ENOENT, EACCES, ... which pass through untouched).
 */
export class FormatError extends Error {
  /** Path of the offending file, or undefined when bytes were parsed without one. */
  readonly file: string | undefined;
  /** The cause alone, without the file prefix (handy for tests and logs). */
  readonly reason: string;

  constructor(kind: string, file: string | undefined, reason: string, options?: { cause?: unknown }) {
    super(`${kind} ${file === undefined ? '(in-memory bytes)' : `file ${file}`}: ${reason}`, options);
    this.name = 'FormatError';
    this.file = file;
    this.reason = reason;
  }
}

/** First bytes as hex, for messages about unrecognised magic numbers. */
export function hexPreview(bytes: Uint8Array, n = 8): string {
  const shown = Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length === 0 ? '(empty file)' : shown;
}
