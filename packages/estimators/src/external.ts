/**
 * Your own estimator, in any language: a command that reads two `.npy` files and prints a
 * number, so a Python user can hold theirs against the exact truth with our harness.
 *
 * Protocol: the command is run as `<command…> <x.npy> <y.npy>`, each file a float64 array
 * of shape (n, d) (one sample per row, the rows of x and y paired). It prints, as the last
 * line of its standard output, the estimate in nats, optionally followed by its standard
 * error: `0.693` or `0.693 0.012`. Exit status 0. Anything else (a non-zero status, a last
 * line that is not one or two finite numbers, a time-out) is an error naming the command
 * and what it printed. The files live in a fresh temporary folder removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFailure } from '@mmmi/cli-kit';
import { writeNpySync } from '@mmmi/formats';
import { checkPairedSamples, timed, type MiEstimate, type MiEstimator, type PairedSamples } from './estimator.js';

export interface ExternalOptions {
  /** Seconds before the command is stopped (default 3600). */
  timeoutSeconds?: number;
}

/** The last line of `stdout` as an estimate (and standard error), or the reason it is not one. */
export function parseExternalOutput(stdout: string): { estimate: number; standardError: number | null } | string {
  const last = stdout.trim().split(/\r?\n/).pop()?.trim() ?? '';
  const parts = last.split(/[\s,]+/).filter(Boolean);
  const numbers = parts.map(Number);
  if (parts.length < 1 || parts.length > 2 || !numbers.every(Number.isFinite))
    return `its last line '${last.slice(0, 200)}' is not an estimate (one number, or an estimate and its standard error)`;
  return { estimate: numbers[0], standardError: parts.length === 2 ? numbers[1] : null };
}

/** An estimator that runs `command` (program and its first arguments) on the samples. */
export function externalEstimator(command: readonly string[], name = `external:${command.join(' ')}`): MiEstimator<ExternalOptions> {
  if (command.length === 0) throw new RangeError('externalEstimator: give the command to run');
  return {
    name,
    estimate(data: PairedSamples, options: ExternalOptions = {}): MiEstimate {
      checkPairedSamples(data);
      const dir = mkdtempSync(join(tmpdir(), 'mmmi-external-'));
      try {
        const x = join(dir, 'x.npy');
        const y = join(dir, 'y.npy');
        writeNpySync(x, { shape: [data.n, data.dx], data: data.x });
        writeNpySync(y, { shape: [data.n, data.dy], data: data.y });
        const { value: r, seconds } = timed(() =>
          spawnSync(command[0], [...command.slice(1), x, y], { encoding: 'utf8', timeout: (options.timeoutSeconds ?? 3600) * 1000, maxBuffer: 64 * 2 ** 20 }),
        );
        const what = `the external estimator '${command.join(' ')}'`;
        if (r.error) throw new RunFailure(`${what} could not run: ${r.error.message}`);
        if (r.status !== 0)
          throw new RunFailure(`${what} exited with status ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${(r.stderr || r.stdout).trim().slice(-500)}`);
        const parsed = parseExternalOutput(r.stdout);
        if (typeof parsed === 'string') throw new RunFailure(`${what}: ${parsed}`);
        return { estimator: name, ...parsed, samples: data.n, seconds, details: { command: [...command] } };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
