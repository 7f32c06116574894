/**
 * How every mmmi command ends: the command's body returns its exit code, or throws; a thrown
 * error becomes one line `<command>: error: <message>` and the exit code of its kind
 * (errors.ts), never a stack trace — the stack of an unexpected error is shown only with
 * MMMI_DEBUG=1, for a bug report. A usage error adds where the usage is.
 */
import { errorKind, EXIT, UsageError, type ErrorKinds } from './errors.js';

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
    return reportError(e, context);
  }
}

/** Writes the error's line (and hint) and returns its exit code. */
export function reportError(error: unknown, context: CommandContext): number {
  const kind = errorKind(error, context.kinds);
  const message = error instanceof Error ? error.message : String(error);
  const hint = context.hints?.find((h) => error instanceof h.when)?.hint;
  context.err(`${context.name}: error: ${message}${hint ? `; ${hint}` : ''}`);
  if (error instanceof UsageError && context.helpHint) context.err(`(${context.helpHint})`);
  if (kind === 'unexpected' && (context.env ?? process.env).MMMI_DEBUG && error instanceof Error && error.stack) context.err(error.stack);
  return kind === 'input' ? EXIT.usage : EXIT.failure;
}
