/**
 * How every mmmi command ends: the command's body returns its exit code, or throws; a thrown
 * error becomes one line `<command>: error: <message>` and the exit code of its kind
 * (errors.ts), never a stack trace — the stack of an unexpected error is shown only with
 * MMMI_DEBUG=1, for a bug report. A usage error adds where the usage is. A file-system error
 * (an errno error from node:fs, or its raw phrase inside another message) is worded by
 * fs-errors.ts: the path, the cause and the fix, with that module's exit code.
 */
import { errorKind, EXIT, UsageError, type ErrorKinds } from './errors.js';
import { fsError, isErrnoError, plainFsMessage } from './fs-errors.js';
import { stopping } from './signals.js';

export interface CommandContext {
  /** The command's name, e.g. 'mmmi-generate'. */
  name: string;
  /** Writes one line (no trailing newline) to the error stream. */
  err: (line: string) => void;
  /** Other packages' error classes and their kind. */
  kinds?: ErrorKinds;
  /** Shown after a usage error, e.g. 'mmmi-fid --help for usage'. */
  helpHint?: string;
  env?: Record<string, string | undefined>;
  /** Shown after the message of a failed run of this kind, e.g. how to work offline. */
  hints?: ReadonlyArray<{ when: abstract new (...args: never[]) => Error; hint: string }>;
}

/** Runs `body`, turning what it throws into a message and an exit code. */
export async function runCommand(body: () => Promise<number> | number, context: CommandContext): Promise<number> {
  try {
    return await body();
  } catch (e) {
    // a stop on a signal ends the process itself (signals.ts): what the work threw as its cleanups took its files away is no news
    if (stopping()) return await new Promise<number>(() => undefined);
    return reportError(e, context);
  }
}

/** Writes the error's line (and hint) and returns its exit code. */
export function reportError(thrown: unknown, context: CommandContext): number {
  // a raw errno error of node:fs, however deep it came from: the one worded line of its kind
  const error = isErrnoError(thrown) && errorKind(thrown, context.kinds) === 'unexpected' ? fsError(thrown) : thrown;
  const kind = errorKind(error, context.kinds);
  const message = plainFsMessage(error instanceof Error ? error.message : String(error));
  const hint = context.hints?.find((h) => error instanceof h.when)?.hint;
  context.err(`${context.name}: error: ${message}${hint ? `; ${hint}` : ''}`);
  if (error instanceof UsageError && context.helpHint) context.err(`(${context.helpHint})`);
  if ((kind === 'unexpected' || error !== thrown) && (context.env ?? process.env).MMMI_DEBUG && thrown instanceof Error && thrown.stack)
    context.err(thrown.stack);
  return kind === 'input' ? EXIT.usage : EXIT.failure;
}
