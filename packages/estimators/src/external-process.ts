/**
 * Runs a command the user gave us, bounded in time and in memory, and leaves nothing running.
 *
 * - Its own process group (`detached`): at the time-out, at its end, on a stop by SIGINT or
 *   SIGTERM (a cleanup of cli-kit's `onStop`; in its own session the group gets no Ctrl-C
 *   from the terminal) and when this process exits meanwhile (a synchronous exit hook), the
 *   whole group is killed, so the grandchildren a shell or a Python launcher starts die too.
 * - Output streamed, not buffered: only the last `tailBytes` of stdout and of stderr are
 *   kept, so a command that prints gigabytes costs at most 2·tailBytes of memory and is
 *   judged on what it printed last.
 */
import { spawn } from 'node:child_process';
import { onStop } from '@mmmi/cli-kit';

export interface BoundedRunOptions {
  /** Milliseconds before the group is sent SIGTERM (then SIGKILL after `graceMs`). */
  timeoutMs: number;
  /** Bytes kept of the end of each output stream (default 64 KiB). */
  tailBytes?: number;
  /** Milliseconds between SIGTERM and SIGKILL at the time-out (default 5000). */
  graceMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface BoundedRunResult {
  /** Exit status, or null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  /** Whether the time-out stopped it. */
  timedOut: boolean;
  /** The last `tailBytes` of its stdout and stderr, UTF-8. */
  stdoutTail: string;
  stderrTail: string;
  /** Bytes it wrote to stdout in all. */
  stdoutBytes: number;
}

/** Why a command could not start (no such program, not executable, …). */
export class StartFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** A byte sink that keeps only its last `limit` bytes. */
class Tail {
  private chunks: Buffer[] = [];
  private held = 0;
  total = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.held - this.chunks[0].length >= this.limit) this.held -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** Sends `signal` to the process group led by `pid`; a group already gone is no error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: every member has ended
  }
}

/** Runs `program args…` in its own process group, as described above. */
export function runBounded(program: string, args: readonly string[], o: BoundedRunOptions): Promise<BoundedRunResult> {
  const tailBytes = o.tailBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    const stdout = new Tail(tailBytes);
    const stderr = new Tail(tailBytes);
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));

    // a stop on a signal, or a process.exit anywhere (synchronous exit hook), must not leave the group running
    const killOnExit = () => {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    };
    process.on('exit', killOnExit);
    const stopRegistration = onStop(`stopping ${program} (process group ${child.pid})`, killOnExit);
    let timedOut = false;
    let hardKill: NodeJS.Timeout | undefined;
    let drain: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid!, 'SIGTERM');
      hardKill = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), o.graceMs ?? 5000);
    }, o.timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      clearTimeout(hardKill);
      clearTimeout(drain);
      process.off('exit', killOnExit);
      stopRegistration();
    };

    child.on('error', (e: NodeJS.ErrnoException) => {
      settle();
      reject(new StartFailure(e.message, e.code));
    });
    let ended: { status: number | null; signal: NodeJS.Signals | null } | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      settle();
      resolve({ ...ended!, timedOut, stdoutTail: stdout.text(), stderrTail: stderr.text(), stdoutBytes: stdout.total });
    };
    child.on('exit', (status, signal) => {
      ended = { status, signal };
      // what it left running in its group goes too (it would otherwise hold our pipes, and the machine)
      killGroup(child.pid!, 'SIGKILL');
      // a process that left the group and still holds the pipes must not hold us: stop reading soon
      drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 2000);
    });
    child.on('close', () => {
      if (ended) finish();
    });
  });
}
