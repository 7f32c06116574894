/**
 * How every mmmi command stops on SIGINT (Ctrl-C) and SIGTERM (`kill`, `scancel`, a
 * preempted node, `docker stop`). Whatever holds something that must not be left half-done
 * (a lock, a workspace to checkpoint, a temporary file) registers a cleanup with `onStop`
 * while it holds it, and unregisters it when it lets go:
 *
 *   const stopRegistration = onStop(`releasing ${lockPath}`, () => lock.release());
 *   try { …work… } finally { stopRegistration(); await lock.release(); }
 *
 * The first signal writes one line, `<command>: stopping on SIGINT: <what each cleanup
 * does>`, runs the cleanups newest first (what was taken last is given back first, as
 * `finally` blocks do), for at most `timeoutMs`, and exits with 128 + the signal's number:
 * 130 for SIGINT, 143 for SIGTERM, the status a shell reports for a process the signal
 * killed, so scripts and schedulers read it the same way. A second signal exits at once.
 *
 * The work itself is not unwound: it may still be running while the cleanups run, so a
 * cleanup must be safe against it (e.g. wait for the write in flight, then checkpoint), and
 * the process ends by this module's exit, not by the work's own end.
 *
 * One listener per signal is installed while at least one cleanup is registered (and through
 * a stop); outside that, a signal has its default effect, so a process with nothing to clean
 * up (or a test runner that imports a command) stops as it always did. SIGHUP is left alone:
 * under `nohup` it is ignored, and a listener would undo that.
 */
import { basename } from 'node:path';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Exit status after a stop: 128 + the signal's number. */
export const STOP_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Undoes a registration (idempotent). */
export type StopRegistration = () => void;

export type Cleanup = (signal: StopSignal) => void | Promise<void>;

export interface StopSettings {
  /** The line's prefix (default: the running script's name, e.g. `mmmi-generate`). */
  name: string;
  /** Writes one line (default: the error stream, after a line break on a terminal, where a progress bar may be drawn). */
  write: (line: string) => void;
  /** How long the cleanups together may take before the process exits anyway (default 10 s, within the grace of Slurm's KillWait, 30 s, and docker stop's, 10 s). */
  timeoutMs: number;
}

const defaults: StopSettings = {
  name: basename(process.argv[1] ?? 'mmmi').replace(/\.[cm]?[jt]s$/, '') || 'mmmi',
  write: (line) => process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${line}\n`),
  timeoutMs: 10_000,
};
let settings: StopSettings = { ...defaults };

interface Registered {
  what: string;
  cleanup: Cleanup;
}

/** Registered cleanups, oldest first. */
const registry = new Set<Registered>();
let listening = false;
let stoppingOn: StopSignal | undefined;

const listeners: Record<StopSignal, () => void> = {
  SIGINT: () => void stop('SIGINT'),
  SIGTERM: () => void stop('SIGTERM'),
};

/** Sets how stops are reported and bounded (a command calls it once, at its start; unset fields keep their defaults). */
export function configureStop(changes: Partial<StopSettings>): void {
  settings = { ...defaults, ...changes };
}

/**
 * Registers `cleanup`, described by `what` (a phrase for the stop line, e.g. `releasing
 * /data/.x_0.lock`), to run if the process is stopped by SIGINT or SIGTERM. Returns the
 * function that unregisters it.
 */
export function onStop(what: string, cleanup: Cleanup): StopRegistration {
  const entry: Registered = { what, cleanup };
  registry.add(entry);
  listen(true);
  return () => {
    registry.delete(entry);
    if (registry.size === 0 && stoppingOn === undefined) listen(false);
  };
}

/** The signal stopping this process, while a stop is under way. */
export function stopping(): StopSignal | undefined {
  return stoppingOn;
}

function listen(on: boolean): void {
  if (on === listening) return;
  listening = on;
  for (const signal of Object.keys(listeners) as StopSignal[]) {
    if (on) process.on(signal, listeners[signal]);
    else process.off(signal, listeners[signal]);
  }
}

async function stop(signal: StopSignal): Promise<void> {
  const { name, write, timeoutMs } = settings;
  if (stoppingOn !== undefined) {
    write(`${name}: ${signal} again: exiting without waiting for the cleanup`);
    process.exit(STOP_EXIT[signal]);
  }
  stoppingOn = signal;
  const pending = [...registry].reverse();
  write(`${name}: stopping on ${signal}: ${pending.length ? pending.map((r) => r.what).join('; ') : 'nothing to clean up'}`);
  const now: { running?: Registered } = {};
  const cleanups = (async () => {
    for (const entry of pending) {
      now.running = entry;
      try {
        await entry.cleanup(signal);
      } catch (e) {
        write(`${name}: while stopping (${entry.what}): ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    now.running = undefined;
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  if ((await Promise.race([cleanups.then(() => 'done' as const), late])) === 'late')
    write(`${name}: the cleanup did not finish within ${timeoutMs / 1000} s (still ${now.running?.what ?? 'running'}): exiting`);
  clearTimeout(timer);
  process.exit(STOP_EXIT[signal]);
}
