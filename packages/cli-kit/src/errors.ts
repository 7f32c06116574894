/**
 * One rule for how a command ends, shared by every mmmi command line.
 *
 * Exit codes:
 * - 0 (`EXIT.ok`): the work is done.
 * - 1 (`EXIT.failure`): the run could not finish although the command was right — no
 *   network, a full disk, a check that found bad data, or a bug.
 * - 2 (`EXIT.usage`): the command or its input is wrong — a flag, a value, a missing or
 *   malformed input file, a model configuration that cannot work. Fix it and run again.
 *
 * Library code says which kind an error is by its type, never by its message: it throws an
 * `InputError` (or a subclass, such as `UsageError` for the command line itself) for bad
 * input, and a `RunFailure` for a run that failed without a bug. A command may name more
 * classes of either kind (errors of packages that do not depend on this one).
 */

/** The exit codes of every mmmi command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The user's input is wrong (arguments, files, configurations): exit code 2, no stack. */
export class InputError extends Error {
  override name = 'InputError';
}

/** The command line itself is wrong (an unknown flag, a bad value, a missing argument). */
export class UsageError extends InputError {
  override name = 'UsageError';
}

/** The run failed for a reason outside the program (network, disk, a failed check): exit code 1, no stack. */
export class RunFailure extends Error {
  override name = 'RunFailure';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/** Which other error classes a command counts as bad input or as a failed run. */
export interface ErrorKinds {
  input?: readonly ErrorClass[];
  failure?: readonly ErrorClass[];
}

export type ErrorKind = 'input' | 'failure' | 'unexpected';

export function errorKind(error: unknown, kinds: ErrorKinds = {}): ErrorKind {
  if (error instanceof InputError || kinds.input?.some((c) => error instanceof c)) return 'input';
  if (error instanceof RunFailure || kinds.failure?.some((c) => error instanceof c)) return 'failure';
  return 'unexpected';
}

export function exitCodeOf(error: unknown, kinds: ErrorKinds = {}): number {
  return errorKind(error, kinds) === 'input' ? EXIT.usage : EXIT.failure;
}
