/**
 * NumPy .npz archives: a zip holding one .npy file per array, named `<key>.npy`, as
 * np.savez (stored) and np.savez_compressed (deflate) write them.
 *
 * Reading returns every array, keyed like np.load (the `.npy` suffix dropped), in archive
 * order; unicode arrays ('<U9', e.g. MI labels) come back as JS strings. Entries whose
 * names do not end in `.npy` are skipped (np.load would hand them out as raw bytes; use
 * readZip for those). The whole file is read into memory (Node's readFile stops at
 * 2 GiB), and each array is copied out of it; NpzFile (npz-file.ts) reads lazily instead.
 *
 * Writing goes through ZipWriter, so the file appears complete or not at all. Arrays
 * known whole are added with addArray; an array too large to hold is streamed with
 * beginArray, its dtype and shape declared up front and its data given in chunks.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DTYPE_CTORS, type NpyData, type NpyDtype } from './npy-dtype.js';
import { checkData, checkShape, encodeHeader, encodeNpyParts, parseNpyAny, type NpyAnyArray, type NpyInput, type NpyUnicodeInput } from './npy.js';
import { readZip } from './zip.js';
import { ZipWriter, type ZipEntryOptions, type ZipEntryWriter } from './zip-writer.js';

export interface NpzWriteOptions {
  /** Deflate every array, as np.savez_compressed (default false: stored, as np.savez). */
  compress?: boolean;
  /** zlib level 1-9 when compressing (default 6, as np.savez_compressed); 1 is several times faster. */
  level?: number;
  /** ZIP64 records where needed ('auto', default) or everywhere ('always'). */
  zip64?: 'auto' | 'always';
}

/** An array being streamed into an .npz. */
export interface NpzArrayWriter {
  readonly name: string;
  /** Elements written so far. */
  readonly written: number;
  /**
   * Append C-order elements, a typed array matching the declared dtype (Uint8Array for
   * '|b1'). Once the promise resolves the chunk may be reused. Writing more elements
   * than the shape holds throws before anything is written.
   */
  write(chunk: NpyData): Promise<void>;
  /** Throws (and the array stays open) unless exactly the shape's element count was written. */
  end(): Promise<void>;
}

function entryLabel(file: string | undefined, entry: string): string {
  return file === undefined ? entry : `${file}/${entry}`;
}

/** Decode .npz bytes. `file` only labels error messages. */
export function parseNpz(bytes: Uint8Array, file?: string): Map<string, NpyAnyArray> {
  const zip = readZip(bytes, file);
  const out = new Map<string, NpyAnyArray>();
  for (const { name } of zip.entries) {
    const key = name.slice(0, -'.npy'.length);
    if (!name.endsWith('.npy') || out.has(key)) continue; // a duplicate name reads as its last copy, once
    out.set(key, parseNpyAny(zip.read(name), entryLabel(file, name)));
  }
  return out;
}

export async function readNpz(path: string): Promise<Map<string, NpyAnyArray>> {
  return parseNpz(await readFile(path), path);
}

export function readNpzSync(path: string): Map<string, NpyAnyArray> {
  return parseNpz(readFileSync(path), path);
}

function checkKey(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new Error('NpzWriter: array names must be non-empty strings');
}

class ArrayStream implements NpzArrayWriter {
  written = 0;

  constructor(
    readonly name: string,
    private readonly entry: ZipEntryWriter,
    private readonly dtype: NpyDtype,
    private readonly shape: readonly number[],
    private readonly count: number,
  ) {}

  async write(chunk: NpyData): Promise<void> {
    const who = `NpzWriter array '${this.name}'`;
    checkData(chunk, this.dtype, who);
    if (this.written + chunk.length > this.count) {
      throw new Error(`${who}: shape (${this.shape.join(', ')}) holds ${this.count} elements; ${this.written} written, ${chunk.length} more given`);
    }
    await this.entry.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.written += chunk.length;
  }

  async end(): Promise<void> {
    if (this.written !== this.count) {
      throw new Error(`NpzWriter array '${this.name}': shape (${this.shape.join(', ')}) needs ${this.count} elements, only ${this.written} were written`);
    }
    await this.entry.end();
  }
}

export class NpzWriter {
  private constructor(
    private readonly zip: ZipWriter,
    private readonly entryOptions: ZipEntryOptions,
  ) {}

  /** Start an .npz at `path` (written to a temp file beside it until close()). */
  static async create(path: string, options: NpzWriteOptions = {}): Promise<NpzWriter> {
    const entryOptions: ZipEntryOptions = { compress: options.compress ?? false, level: options.level };
    if (entryOptions.compress && options.level !== undefined && !(Number.isInteger(options.level) && options.level >= 1 && options.level <= 9)) {
      throw new Error(`NpzWriter: compression level must be 1-9, got ${options.level}`);
    }
    return new NpzWriter(await ZipWriter.create(path, { zip64: options.zip64 }), entryOptions);
  }

  get path(): string {
    return this.zip.path;
  }

  /** Add an array held whole (numeric or unicode); stored as `<name>.npy`. */
  async addArray(name: string, array: NpyInput | NpyUnicodeInput): Promise<void> {
    checkKey(name);
    await this.zip.addEntry(`${name}.npy`, encodeNpyParts(array), this.entryOptions);
  }

  /** Start an array whose data will arrive in chunks; only one array can be open at a time. */
  async beginArray(name: string, spec: { dtype: NpyDtype; shape: readonly number[] }): Promise<NpzArrayWriter> {
    checkKey(name);
    const count = checkShape(spec.shape, 'NpzWriter.beginArray');
    if (!(spec.dtype in DTYPE_CTORS)) throw new Error(`NpzWriter.beginArray: unsupported dtype '${spec.dtype}'`);
    const shape = [...spec.shape];
    const entry = await this.zip.beginEntry(`${name}.npy`, this.entryOptions);
    await entry.write(encodeHeader(spec.dtype, shape));
    return new ArrayStream(name, entry, spec.dtype, shape, count);
  }

  /** Finish the archive and move it into place. */
  async close(): Promise<void> {
    await this.zip.close();
  }

  /** Discard the archive; the target path is left untouched. Does nothing after close(). */
  async abort(): Promise<void> {
    await this.zip.abort();
  }
}

/**
 * Write arrays as an .npz, like np.savez (or np.savez_compressed with `compress`), in the
 * object's key order (which JS puts integer-like keys first in; use NpzWriter to choose).
 */
export async function writeNpz(path: string, arrays: Record<string, NpyInput | NpyUnicodeInput>, options: NpzWriteOptions = {}): Promise<void> {
  const w = await NpzWriter.create(path, options);
  try {
    for (const [name, array] of Object.entries(arrays)) await w.addArray(name, array);
    await w.close();
  } catch (err) {
    await w.abort();
    throw err;
  }
}
