/**
 * A shard in progress: the growing arrays live as raw little-endian float32 files in a
 * hidden folder beside the output, with a progress record that is rewritten atomically,
 * after the data it counts has been flushed to disk, every CHECKPOINT_BATCHES batches or
 * CHECKPOINT_MS. A killed job leaves only this folder (never a file that looks complete);
 * a rerun with the same arguments resumes after the last recorded batch (batches are
 * regenerated deterministically, so the result is byte-identical to an uninterrupted run).
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export const STREAMED_ARRAYS = ['X', 'Noise', 'Y'] as const;
export type StreamedArray = (typeof STREAMED_ARRAYS)[number];

const CHECKPOINT_BATCHES = 64;
const CHECKPOINT_MS = 2000;

interface Progress {
  fingerprint: string;
  batchesDone: number;
  drawsDone: number;
}

export class ShardWorkspace {
  private constructor(
    readonly dir: string,
    private readonly files: Record<StreamedArray, FileHandle>,
    private readonly fingerprint: string,
    private progress: Progress,
  ) {}

  private sinceCheckpoint = 0;
  private lastCheckpoint = Date.now();

  /** The fingerprint recorded by the workspace at `dir`, if there is one. */
  static fingerprintAt(dir: string): string | undefined {
    try {
      return (JSON.parse(readFileSync(join(dir, 'progress.json'), 'utf8')) as Progress).fingerprint;
    } catch {
      return undefined;
    }
  }

  /** Draws recorded by the workspace at `dir` (0 without one). */
  static drawsAt(dir: string): number {
    try {
      return (JSON.parse(readFileSync(join(dir, 'progress.json'), 'utf8')) as Progress).drawsDone;
    } catch {
      return 0;
    }
  }

  /** Open the workspace; resume it when its fingerprint (the job's arguments) matches, else start afresh. */
  static async open(dir: string, fingerprint: string): Promise<ShardWorkspace> {
    let progress: Progress = { fingerprint, batchesDone: 0, drawsDone: 0 };
    try {
      const saved = JSON.parse(await readFile(join(dir, 'progress.json'), 'utf8')) as Progress;
      if (saved.fingerprint === fingerprint) progress = saved;
      else await rm(dir, { recursive: true, force: true });
    } catch {
      await rm(dir, { recursive: true, force: true });
    }
    await mkdir(dir, { recursive: true });
    const files = {} as Record<StreamedArray, FileHandle>;
    for (const name of STREAMED_ARRAYS) files[name] = await open(join(dir, `${name}.f32`), progress.batchesDone > 0 ? 'r+' : 'w+');
    return new ShardWorkspace(dir, files, fingerprint, progress);
  }

  get batchesDone(): number {
    return this.progress.batchesDone;
  }

  get drawsDone(): number {
    return this.progress.drawsDone;
  }

  /** Append one batch (`perDraw[name]` float32 values per draw); checkpoint now and then. */
  async append(batch: Record<StreamedArray, Float32Array>, draws: number, perDraw: Record<StreamedArray, number>): Promise<void> {
    for (const name of STREAMED_ARRAYS) {
      const data = batch[name];
      if (data.length !== draws * perDraw[name]) throw new Error(`internal: ${name} batch has ${data.length} values, expected ${draws * perDraw[name]}`);
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      await this.files[name].write(bytes, 0, bytes.length, this.progress.drawsDone * perDraw[name] * 4);
    }
    this.progress = { fingerprint: this.fingerprint, batchesDone: this.progress.batchesDone + 1, drawsDone: this.progress.drawsDone + draws };
    if (++this.sinceCheckpoint >= CHECKPOINT_BATCHES || Date.now() - this.lastCheckpoint >= CHECKPOINT_MS) await this.checkpoint();
  }

  /** Flush the data, then record how much of it is complete. */
  async checkpoint(): Promise<void> {
    for (const name of STREAMED_ARRAYS) await this.files[name].datasync();
    const tmp = join(this.dir, 'progress.json.tmp');
    await writeFile(tmp, JSON.stringify(this.progress));
    await rename(tmp, join(this.dir, 'progress.json'));
    this.sinceCheckpoint = 0;
    this.lastCheckpoint = Date.now();
  }

  /** Read `count` float32 values of a streamed array starting at value `start`. */
  async read(name: StreamedArray, start: number, count: number): Promise<Float32Array> {
    const out = new Float32Array(count);
    const bytes = new Uint8Array(out.buffer);
    const { bytesRead } = await this.files[name].read(bytes, 0, bytes.length, start * 4);
    if (bytesRead !== bytes.length)
      throw new Error(`workspace ${this.dir}: ${name} holds fewer values than recorded (corrupt partial shard; delete the folder)`);
    return out;
  }

  private closed = false;

  /** Close the files (idempotent); the folder stays for a later resume. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const name of STREAMED_ARRAYS) await this.files[name].close();
  }

  async remove(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
