/**
 * One run per shard. A run holds `.<name>_<job>.lock` beside the shard, made with an
 * exclusive create (so of two runs started together exactly one gets it) and holding
 * { pid, host, started, job } (job: the scheduler job it runs as, scheduler-job.ts); the run
 * touches it every REFRESH_MS while it lives, and removes it when it ends, also on SIGINT and
 * SIGTERM (generate.ts). A second run of the same shard stops with a message naming the
 * owner. A lock is stale, and is taken over with a log line giving the reason, when
 *  - its owner is a process of this host that no longer exists;
 *  - its owner ran on another node as an earlier run of our own scheduler job (a requeued
 *    task: a scheduler never runs one job twice at once, so that run has ended);
 *  - it has not been touched for STALE_MS (an owner on another node that died, e.g.
 *    preempted, where nothing else tells).
 */
import { hostname } from 'node:os';
import { link, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { describeJob, earlierRunOfOurJob, schedulerJob, type SchedulerJob } from './scheduler-job.js';

export const REFRESH_MS = 30_000;
export const STALE_MS = 10 * 60_000;

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** The scheduler job the owner runs as (absent outside one, and in locks of earlier versions). */
  job?: SchedulerJob;
}

/** Another live run holds the shard. */
export class ShardBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardBusyError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<{ owner: LockOwner | undefined; text: string | undefined }> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  try {
    const o = JSON.parse(text ?? '') as LockOwner;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return { owner: undefined, text };
    // a job of another shape (a hand-written lock) is no evidence of anything
    const j = o.job;
    const job =
      j && typeof j.scheduler === 'string' && typeof j.id === 'string'
        ? { scheduler: j.scheduler, id: j.id, ...(Number.isInteger(j.attempt) && { attempt: j.attempt }) }
        : undefined;
    return { owner: { ...o, job }, text };
  } catch {
    return { owner: undefined, text };
  }
}

/** 'process 12 on node7, Slurm job 1234_5' */
export function describeOwner(owner: LockOwner): string {
  return `process ${owner.pid} on ${owner.host}${owner.job ? `, ${describeJob(owner.job)}` : ''}`;
}

/** Why the lock at `path` (owned by `owner`, touched at `mtimeMs`) is stale, or undefined while it is held. */
export function staleReason(
  owner: LockOwner | undefined,
  mtimeMs: number,
  now = Date.now(),
  host = hostname(),
  ourJob: SchedulerJob | undefined = schedulerJob(),
): string | undefined {
  if (!owner) return 'it is unreadable (a run killed while writing it)';
  if (owner.host === host && !alive(owner.pid)) return `its owner, process ${owner.pid} on this host, has ended`;
  if (owner.host !== host && earlierRunOfOurJob(owner.job, ourJob))
    return `its owner (${describeOwner(owner)}) is an earlier run of our own job (${describeJob(ourJob!)}): a scheduler never runs a job twice at once, so that run has ended`;
  if (now - mtimeMs > STALE_MS) return `it has not been refreshed for ${Math.round((now - mtimeMs) / 60_000)} minutes (owner: ${describeOwner(owner)})`;
  return undefined;
}

/**
 * Creates `path` holding `text`, or fails with EEXIST: the text is written to a private
 * temporary file first and hard-linked to the lock's name (link never replaces), so no other
 * run can ever read the lock empty and judge it unreadable, hence stale, in the instant between
 * an exclusive create and its write.
 */
async function createWithContent(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text, { flag: 'wx' });
  try {
    await link(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    // a file system without hard links (some network and FUSE mounts): create, then write
    const fh = await open(path, 'wx');
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

export class ShardLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    readonly path: string,
    /** What we wrote: the lock is ours while the file holds it. */
    private readonly text: string,
  ) {}

  /** Takes the lock (taking over a stale one, logged); a ShardBusyError when a live run holds it. */
  static async acquire(path: string, shard: string, log: (message: string) => void): Promise<ShardLock> {
    const job = schedulerJob();
    const ours: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), ...(job && { job }) };
    const text = `${JSON.stringify(ours)}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await createWithContent(path, text);
        const lock = new ShardLock(path, text);
        lock.timer = setInterval(() => {
          const now = new Date();
          utimes(path, now, now).catch(() => undefined);
        }, REFRESH_MS);
        lock.timer.unref();
        return lock;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const { owner, text: theirs } = await readOwner(path);
      const touched = await stat(path).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
      if (touched === undefined || theirs === undefined) continue; // released between our attempts: try again
      const stale = staleReason(owner, touched);
      if (!stale) {
        throw new ShardBusyError(
          `${shard} is being generated by another run (${describeOwner(owner!)}, since ${owner!.started}); wait for it to finish, or remove ${path} if that run is gone`,
        );
      }
      // another run may have taken it over meanwhile: remove only the lock we judged
      if ((await readOwner(path)).text !== theirs) continue;
      log(`taking over the stale lock ${path}: ${stale}`);
      await rm(path, { force: true });
    }
    throw new ShardBusyError(`${shard}: could not take the lock ${path} (other runs keep taking it)`);
  }

  /** Removes the lock (idempotent) unless another run took it over meanwhile (we were judged stale): that run's lock stays. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    if ((await readOwner(this.path)).text === this.text) await rm(this.path, { force: true });
  }
}
