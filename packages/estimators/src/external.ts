/**
 * Your own estimator, in any language: a command that reads two `.npy` files and prints a
 * number, so a Python user can hold theirs against the exact truth with our harness.
 *
 * Protocol: the command is run as `<command…> <x.npy> <y.npy>`, each file a float64 array
 * of shape (n, d) (one sample per row, the rows of x and y paired). It prints, as the last
 * line of its standard output, the estimate in nats, optionally followed by its standard
 * error: `0.693` or `0.693 0.012`. Exit status 0. Anything else (a non-zero status, a last
 * line that is not one or two finite numbers, a time-out) is a `RunFailure` naming the
 * command and the last line it printed.
 *
 * Bounds: the command runs in its own process group, stopped with everything it started at
 * the time-out (default 10 minutes); only the end of its output is kept (it may log as much
 * as it likes); the files live in a fresh temporary folder removed on every way out, a
 * `process.exit` on Ctrl-C or SIGTERM included (external-process.ts, temporary-folder.ts).
 */
import { join } from 'node:path';
import { InputError, RunFailure } from '@mmmi/cli-kit';
import { writeNpySync } from '@mmmi/formats';
import { checkPairedSamples, type MiEstimate, type MiEstimator, type PairedSamples } from './estimator.js';
import { runBounded, StartFailure, type BoundedRunResult } from './external-process.js';
import { withTemporaryFolder } from './temporary-folder.js';

export const DEFAULT_EXTERNAL_TIMEOUT_SECONDS = 600;
/** The longest time-out a timer can hold (2³¹ − 1 ms, about 24 days). */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export interface ExternalOptions {
  /** Seconds before the command and everything it started are stopped (default 600). */
  timeoutSeconds?: number;
  /** How the caller's user sets the time-out, named when it fires (e.g. '--external_timeout'; default 'timeoutSeconds'). */
  timeoutName?: string;
}

/** Terminal colour codes: a command that inherits FORCE_COLOR (set under nx and on CI) colours a printed number; they are no part of it. */
const COLOUR_CODES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The last line of `stdout` as an estimate (and standard error), or the reason it is not one. */
export function parseExternalOutput(stdout: string): { estimate: number; standardError: number | null } | string {
  const last = stdout.replace(COLOUR_CODES, '').trim().split(/\r?\n/).pop()?.trim() ?? '';
  const parts = last.split(/[\s,]+/).filter(Boolean);
  const numbers = parts.map(Number);
  if (parts.length < 1 || parts.length > 2 || !numbers.every(Number.isFinite))
    return `its last line '${last.slice(0, 200)}' is not an estimate (one number, or an estimate and its standard error)`;
  return { estimate: numbers[0], standardError: parts.length === 2 ? numbers[1] : null };
}

/** The last non-empty line of some output, shortened: one line for a message, whatever the command printed. */
export function lastLine(output: string, max = 300): string {
  const line =
    output
      .split(/\r?\n|\r/)
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? '';
  return line.length > max ? `…${line.slice(-max)}` : line;
}

/** The estimate the run printed, or a one-line `RunFailure` saying why there is none. */
function judge(r: BoundedRunResult, what: string, timeout: { seconds: number; name: string }): { estimate: number; standardError: number | null } {
  const said = lastLine(r.stderrTail) || lastLine(r.stdoutTail);
  if (r.timedOut)
    throw new RunFailure(`${what} ran past ${timeout.name} ${timeout.seconds} s; raise it or check the command${said ? ` (it last said: ${said})` : ''}`);
  if (r.status !== 0)
    throw new RunFailure(`${what} ${r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`}${said ? `: ${said}` : ' and printed nothing'}`);
  const parsed = parseExternalOutput(lastLine(r.stdoutTail, 1000));
  if (typeof parsed === 'string') throw new RunFailure(`${what}: ${parsed}`);
  return parsed;
}

/** A start failure in the user's words: the program is missing or not executable. */
function startFailure(e: StartFailure, what: string, program: string): RunFailure {
  if (e.code === 'ENOENT') return new RunFailure(`${what} could not start: no program '${program}' (give its path, or put it on PATH)`);
  if (e.code === 'EACCES') return new RunFailure(`${what} could not start: '${program}' is not executable (chmod +x it, or name its interpreter first)`);
  return new RunFailure(`${what} could not start: ${e.message}`);
}

function checkTimeout(seconds: number, name: string): void {
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS))
    throw new InputError(`${name} ${seconds}: give seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}`);
}

/** An estimator that runs `command` (program and its first arguments) on the samples. */
export function externalEstimator(command: readonly string[], name = `external:${command.join(' ')}`): MiEstimator<ExternalOptions> {
  if (command.length === 0) throw new RangeError('externalEstimator: give the command to run');
  // an argument with spaces or quotes is shown quoted, so that the message shows where each begins and ends
  const what = `the external estimator '${command.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' ')}'`;
  return {
    name,
    async estimate(data: PairedSamples, options: ExternalOptions = {}): Promise<MiEstimate> {
      const timeout = { seconds: options.timeoutSeconds ?? DEFAULT_EXTERNAL_TIMEOUT_SECONDS, name: options.timeoutName ?? 'timeoutSeconds' };
      checkTimeout(timeout.seconds, timeout.name);
      checkPairedSamples(data);
      return withTemporaryFolder('mmmi-external-', async (dir) => {
        const x = join(dir, 'x.npy');
        const y = join(dir, 'y.npy');
        try {
          writeNpySync(x, { shape: [data.n, data.dx], data: data.x });
          writeNpySync(y, { shape: [data.n, data.dy], data: data.y });
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          throw new RunFailure(`cannot write the samples for ${what} into ${dir} (${code}); point TMPDIR at a writable folder with space`);
        }
        const t0 = performance.now();
        const r = await runBounded(command[0], [...command.slice(1), x, y], { timeoutMs: timeout.seconds * 1000 }).catch((e: unknown) => {
          throw e instanceof StartFailure ? startFailure(e, what, command[0]) : e;
        });
        const seconds = (performance.now() - t0) / 1000;
        return { estimator: name, ...judge(r, what, timeout), samples: data.n, seconds, details: { command: [...command] } };
      });
    },
  };
}
