/**
 * A shard in progress: the growing arrays live as raw little-endian float32 files in a
 * hidden folder beside the output, with a progress record that is rewritten atomically,
 * after the data it counts has been flushed to disk, every CHECKPOINT_BATCHES batches or
 * CHECKPOINT_MS, and on a stop by SIGINT or SIGTERM (`stop`). A killed job leaves only this
 * folder (never a file that looks complete); a rerun with the same arguments resumes after
 * the last recorded batch (batches are regenerated deterministically, so the result is
 * byte-identical to an uninterrupted run).
 *
 * The folder says whose it is: `progress.json` (the job's fingerprint, from the first
 * checkpoint on) and `arguments.json` (the arguments it was started with, written when the
 * folder is made); before its first checkpoint nothing in it counts. Partial work is never
 * deleted: a workspace of another run (other arguments) stops the job
 * (`claimWorkspace`), naming it, its draws and the arguments that differ; with --overwrite it
 * is set aside, renamed to `<name>_<job>.set-aside-<UTC time>.partial` beside it, and kept.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '@mmmi/cli-kit';
import { RUN_ONLY_ARGUMENTS } from './manifest.js';

export const STREAMED_ARRAYS = ['X', 'Noise', 'Y'] as const;
export type StreamedArray = (typeof STREAMED_ARRAYS)[number];

const CHECKPOINT_BATCHES = 64;
const CHECKPOINT_MS = 2000;

const PROGRESS = 'progress.json';
const ARGUMENTS = 'arguments.json';
/** Every name this module writes into a workspace. */
const OUR_FILES = new Set([...STREAMED_ARRAYS.map((n) => `${n}.f32`), PROGRESS, `${PROGRESS}.tmp`, ARGUMENTS]);

interface Progress {
  fingerprint: string;
  batchesDone: number;
  drawsDone: number;
}

/** What is at a workspace's path, seen by a job with a given fingerprint. */
export type WorkspaceState =
  | { kind: 'none' }
  /** This job's: it resumes. */
  | { kind: 'ours'; draws: number }
  /** Made by this module but with no progress record (killed while it was being made): nothing in it counts. */
  | { kind: 'unrecorded' }
  /** Another run's work, or something this module did not make: never deleted. */
  | { kind: 'other'; draws: number; why: string; arguments: Record<string, unknown> | undefined };

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A never-settling promise: what a stopped workspace answers, while the signal handler ends the process. */
const parked = <T>() => new Promise<T>(() => undefined);

export class ShardWorkspace {
  private constructor(
    readonly dir: string,
    private readonly files: Record<StreamedArray, FileHandle>,
    private readonly fingerprint: string,
    private progress: Progress,
  ) {}

  private sinceCheckpoint = 0;
  private lastCheckpoint = Date.now();
  /** The operations in order: a checkpoint on a signal waits for the write in flight. */
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private closed = false;

  /** The fingerprint recorded by the workspace at `dir`, if there is one. */
  static fingerprintAt(dir: string): string | undefined {
    return readJson<Progress>(join(dir, PROGRESS))?.fingerprint;
  }

  /** Draws recorded by the workspace at `dir` (0 without one). */
  static drawsAt(dir: string): number {
    return readJson<Progress>(join(dir, PROGRESS))?.drawsDone ?? 0;
  }

  /** What is at `dir` for a job with `fingerprint`. */
  static inspect(dir: string, fingerprint: string): WorkspaceState {
    let names: string[];
    try {
      if (!statSync(dir).isDirectory()) return { kind: 'other', draws: 0, why: 'it is not a folder', arguments: undefined };
      names = readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      throw e;
    }
    const progress = readJson<Progress>(join(dir, PROGRESS));
    if (progress?.fingerprint === fingerprint) return { kind: 'ours', draws: progress.drawsDone };
    const strangers = names.filter((n) => !OUR_FILES.has(n));
    if (!progress && !names.includes(PROGRESS) && strangers.length === 0) return { kind: 'unrecorded' };
    const why = !progress
      ? names.includes(PROGRESS)
        ? `its ${PROGRESS} is unreadable`
        : `it holds files this toolkit does not write (${strangers.slice(0, 3).join(', ')}${strangers.length > 3 ? ', …' : ''})`
      : 'it was started with other arguments';
    return { kind: 'other', draws: progress?.drawsDone ?? 0, why, arguments: readJson(join(dir, ARGUMENTS)) };
  }

  /**
   * Open the workspace for the job `fingerprint` (started with `args`): resume it when it is
   * the job's, else make it. Another run's workspace must have been set aside first
   * (`claimWorkspace`); here it is refused.
   */
  static async open(dir: string, fingerprint: string, args: Record<string, unknown> = {}): Promise<ShardWorkspace> {
    const state = ShardWorkspace.inspect(dir, fingerprint);
    if (state.kind === 'other') throw new InputError(refusal(dir, state, args));
    const saved = state.kind === 'ours' ? readJson<Progress>(join(dir, PROGRESS)) : undefined;
    const progress: Progress = saved ?? { fingerprint, batchesDone: 0, drawsDone: 0 };
    await mkdir(dir, { recursive: true });
    if (!saved || readJson(join(dir, ARGUMENTS)) === undefined) await writeFile(join(dir, ARGUMENTS), `${JSON.stringify(args, null, 2)}\n`);
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

  /** Runs `op` after the operations before it; once stopped, never settles (the process is ending). */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    if (this.stopped) return parked<T>();
    const result = this.queue.then(op);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Append one batch (`perDraw[name]` float32 values per draw); checkpoint now and then. */
  append(batch: Record<StreamedArray, Float32Array>, draws: number, perDraw: Record<StreamedArray, number>): Promise<void> {
    return this.serial(async () => {
      for (const name of STREAMED_ARRAYS) {
        const data = batch[name];
        if (data.length !== draws * perDraw[name]) throw new Error(`internal: ${name} batch has ${data.length} values, expected ${draws * perDraw[name]}`);
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        await this.files[name].write(bytes, 0, bytes.length, this.progress.drawsDone * perDraw[name] * 4);
      }
      this.progress = { fingerprint: this.fingerprint, batchesDone: this.progress.batchesDone + 1, drawsDone: this.progress.drawsDone + draws };
      if (++this.sinceCheckpoint >= CHECKPOINT_BATCHES || Date.now() - this.lastCheckpoint >= CHECKPOINT_MS) await this.writeCheckpoint();
    });
  }

  /** Flush the data, then record how much of it is complete. */
  checkpoint(): Promise<void> {
    return this.serial(() => this.writeCheckpoint());
  }

  private async writeCheckpoint(): Promise<void> {
    for (const name of STREAMED_ARRAYS) await this.files[name].datasync();
    const tmp = join(this.dir, `${PROGRESS}.tmp`);
    await writeFile(tmp, JSON.stringify(this.progress));
    await rename(tmp, join(this.dir, PROGRESS));
    this.sinceCheckpoint = 0;
    this.lastCheckpoint = Date.now();
  }

  /**
   * For a process about to exit on a signal: let the write in flight finish, record every
   * complete batch, close the files; false when the workspace was already closed (finished).
   * Every later operation never settles, so the work stops where it is, without an error,
   * until the signal handler ends the process.
   */
  async stop(): Promise<boolean> {
    if (this.stopped || this.closed) return false;
    this.stopped = true;
    await this.queue;
    await this.writeCheckpoint();
    await this.close();
    return true;
  }

  /** Read `count` float32 values of a streamed array starting at value `start`. */
  read(name: StreamedArray, start: number, count: number): Promise<Float32Array> {
    return this.serial(async () => {
      const out = new Float32Array(count);
      const bytes = new Uint8Array(out.buffer);
      const { bytesRead } = await this.files[name].read(bytes, 0, bytes.length, start * 4);
      if (bytesRead !== bytes.length)
        throw new Error(`workspace ${this.dir}: ${name} holds fewer values than recorded (corrupt partial shard; delete the folder)`);
      return out;
    });
  }

  /** Close the files (idempotent); the folder stays for a later resume. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    for (const name of STREAMED_ARRAYS) await this.files[name].close();
  }

  /** Remove the workspace of a finished shard (its draws are in the shard now). */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Makes `dir` free for the job `fingerprint` (started with `args`) without deleting anyone's
 * work: this job's workspace stays, to be resumed; another run's stops the job with the
 * choices, unless `overwrite`, which sets it aside (`setAsideWorkspace`) and logs where.
 */
export async function claimWorkspace(
  dir: string,
  fingerprint: string,
  args: Record<string, unknown>,
  options: { overwrite: boolean; log: (message: string) => void },
): Promise<void> {
  const state = ShardWorkspace.inspect(dir, fingerprint);
  if (state.kind !== 'other') return;
  if (!options.overwrite) throw new InputError(refusal(dir, state, args));
  const aside = await setAsideWorkspace(dir);
  options.log(
    `--overwrite: set aside the unfinished work of another run (${state.draws} draws; ${state.why}) as ${aside}; it is kept: to resume it, rename it back to ${basename(dir)} and rerun with that run's arguments${state.arguments ? ` (in ${join(aside, ARGUMENTS)})` : ''}, or delete it`,
  );
}

function refusal(dir: string, state: Extract<WorkspaceState, { kind: 'other' }>, args: Record<string, unknown>): string {
  const differences = state.arguments ? argumentDifferences(state.arguments, args) : [];
  const detail = !state.arguments
    ? ''
    : differences.length
      ? `: ${differences.slice(0, 3).join('; ')}${differences.length > 3 ? `; and ${differences.length - 3} more` : ''}`
      : ': the same arguments, but another toolkit version, flow checkpoint or registry recipe';
  return `${dir} holds the unfinished work of another run of this shard (${state.draws} draws; ${state.why}${detail}): rerun with that run's arguments${state.arguments ? ` (${join(dir, ARGUMENTS)})` : ''} to resume it, or pass --overwrite to set it aside (renamed beside it, kept) and start afresh`;
}

/** The data arguments (not those of the machine, e.g. --threads) in which two runs differ: '--dataset_size was 500, now 600'. */
export function argumentDifferences(before: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const show = (v: unknown) => (v === undefined ? 'unset' : typeof v === 'string' ? v : JSON.stringify(v));
  return [...new Set([...Object.keys(before), ...Object.keys(now)])]
    .filter((k) => !RUN_ONLY_ARGUMENTS.includes(k) && JSON.stringify(before[k]) !== JSON.stringify(now[k]))
    .sort()
    .map((k) => `--${k} was ${show(before[k])}, now ${show(now[k])}`);
}

/** Renames the workspace `<folder>/.<name>_<job>.partial` to `<folder>/<name>_<job>.set-aside-<UTC time>.partial` (visible, never replacing anything); returns the new path. */
export async function setAsideWorkspace(dir: string, now = new Date()): Promise<string> {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const stem = basename(dir)
    .replace(/^\./, '')
    .replace(/\.partial$/, '');
  for (let n = 1; ; n++) {
    const target = join(dirname(dir), `${stem}.set-aside-${stamp}${n > 1 ? `-${n}` : ''}.partial`);
    // rename replaces an empty folder: check first (one run holds the shard's lock, so nothing races here)
    if (exists(target)) continue;
    await rename(dir, target);
    return target;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
