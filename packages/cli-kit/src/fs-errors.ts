/**
 * One place where a file-system error becomes words. Node reports a failed file operation as
 * `ENOENT: no such file or directory, open '/x/y'`: a C constant, the C library's phrase and
 * the system call, with the path (sometimes) and no fix. Every mmmi command says instead
 *
 *     <path>: <cause in plain words> (<CODE>); <what to do>
 *
 * e.g. `/data/out: the file system is read-only (EROFS); choose a path on a writable file system`.
 * Where the code alone misleads, the path is looked at: ENOENT or EEXIST on a dangling
 * symbolic link names the link and its target; EEXIST of a mkdir on a file says so; the
 * ENOENT a recursive mkdir gives on a read-only mount (or without permission) becomes the
 * code `access(W_OK)` gives for the folder it would be made in (EROFS, EACCES).
 *
 * Exit codes (errors.ts), by what the code says about the command:
 * - 2 (`FsInputError`, an `InputError`): the path as given cannot be what the command needs —
 *   it does not exist (ENOENT), a part of it is a file (ENOTDIR), it is a folder (EISDIR), a
 *   symlink loop (ELOOP), a name too long (ENAMETOOLONG), it exists already (EEXIST), a
 *   folder not empty (ENOTEMPTY). Changing the command fixes it.
 * - 1 (`FsFailure`, a `RunFailure`): the path is right but the machine refused or ran out —
 *   permissions (EACCES, EPERM), a read-only mount (EROFS), a full disk or quota (ENOSPC,
 *   EDQUOT), too many open files (EMFILE, ENFILE), a move across devices (EXDEV), a busy file
 *   (EBUSY, ETXTBSY), the device (EIO, ESTALE), and any code not listed here.
 *
 * `reportError` (run.ts) applies this to any errno error that reaches it, and rewrites a raw
 * Node phrase quoted inside another error's message, so no errno text reaches a user.
 */
import { accessSync, constants, existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError, RunFailure } from './errors.js';

/** An error from Node's fs (or another system call): a string `code` such as 'ENOENT'. */
export type ErrnoError = NodeJS.ErrnoException & { code: string };

interface Wording {
  cause: string;
  fix: string;
  /** The code to show, where the true cause is not the one Node reported. */
  code?: string;
  /** The path as given is wrong (exit 2), rather than the machine refusing (exit 1). */
  input?: boolean;
}

const WORDING: Record<string, Wording> = {
  ENOENT: { cause: 'no such file or folder', fix: 'check the path (a folder above it may be missing)', input: true },
  ENOTDIR: { cause: 'a part of the path is a file, not a folder', fix: 'check the path, or move the file that is in the way', input: true },
  EISDIR: { cause: 'is a folder where a file is needed', fix: 'name a file, not a folder', input: true },
  ELOOP: { cause: 'too many levels of symbolic links (a symlink loop)', fix: 'fix or remove the link', input: true },
  ENAMETOOLONG: { cause: 'the name is too long for the file system (at most 255 bytes per name)', fix: 'choose a shorter name', input: true },
  EEXIST: { cause: 'already exists', fix: 'remove it, or choose another path', input: true },
  ENOTEMPTY: { cause: 'the folder is not empty', fix: 'empty or remove it, or choose another path', input: true },
  EACCES: { cause: 'permission denied', fix: 'fix its permissions (or those of the folder above it), or choose another path' },
  EPERM: { cause: 'operation not permitted', fix: 'fix its permissions or attributes, or choose another path' },
  EROFS: { cause: 'the file system is read-only', fix: 'choose a path on a writable file system' },
  ENOSPC: { cause: 'no space left on the device', fix: 'free some space, or choose a path on another device' },
  EDQUOT: { cause: 'the disk quota is used up', fix: 'free some space, or choose a path on another device' },
  EFBIG: { cause: 'the file is too large for the file system', fix: 'choose a path on a file system that holds large files' },
  EMFILE: { cause: 'too many open files in this process', fix: 'raise the limit (ulimit -n) or run fewer jobs at once' },
  ENFILE: { cause: 'too many open files on this machine', fix: 'close other programs or run fewer jobs at once' },
  EXDEV: { cause: 'cannot be moved across file systems', fix: 'keep the source and the destination on one file system' },
  EBUSY: { cause: 'is busy (open in another program, or a mount point)', fix: 'close what holds it, or choose another path' },
  ETXTBSY: { cause: 'is busy (a running program)', fix: 'stop the program that runs it, or choose another path' },
  EIO: { cause: 'input/output error of the device', fix: 'check the disk or the mount, then rerun' },
  ESTALE: { cause: 'stale file handle (the network file system changed under it)', fix: 'rerun; remount if it persists' },
  EAGAIN: { cause: 'resource temporarily unavailable', fix: 'rerun in a moment' },
};

/** Where a recursive mkdir meets ENOENT, a folder above could not be made (Node hides the true cause). */
const MKDIR_ENOENT: Wording = {
  cause: 'a folder above it is missing and could not be made',
  fix: 'check the path and that its first missing folder can be created there',
  input: true,
};

const ERRNO_CODE = /^E[A-Z0-9]+$/;

/** Whether `e` is a raw system error with an errno code (as thrown by node:fs), not one already worded (an InputError or RunFailure). */
export function isErrnoError(e: unknown): e is ErrnoError {
  if (e instanceof InputError || e instanceof RunFailure) return false;
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && ERRNO_CODE.test((e as NodeJS.ErrnoException).code!);
}

/** The C library's phrase of a Node errno message (`ENOENT: no such file or directory, open '/x'` → 'no such file or directory'). */
function nodePhrase(message: string, code: string): string | undefined {
  const m = new RegExp(`^${code}: ([^,]+)`).exec(message);
  return m?.[1].trim();
}

/**
 * What the path is where the code alone misleads: ENOENT or EEXIST on a dangling symbolic link
 * (the link exists, its target does not), EEXIST of a mkdir on a file. Undefined otherwise.
 */
function whatIsThere(code: string, syscall: string | undefined, path: string | undefined): Wording | undefined {
  if (!path || (code !== 'ENOENT' && code !== 'EEXIST')) return undefined;
  if (code === 'ENOENT' && syscall === 'mkdir') return whyNoFolder(path);
  try {
    if (lstatSync(path).isSymbolicLink()) {
      try {
        statSync(path);
      } catch {
        return { cause: `is a symbolic link to ${readlinkSync(path)}, which does not exist`, fix: 'fix or remove the link', input: true };
      }
    }
    if (code === 'EEXIST' && syscall === 'mkdir' && !statSync(path).isDirectory())
      return { cause: 'is a file where a folder is needed', fix: 'choose a folder, or move the file', input: true };
  } catch {
    // the path cannot be looked at: the code's own words
  }
  return undefined;
}

/**
 * A recursive mkdir answers ENOENT where the first missing folder cannot be made (a read-only
 * mount, no permission): the true cause is what `access(W_OK)` says of the folder it would go
 * in (EROFS holds for root too).
 */
function whyNoFolder(path: string): Wording | undefined {
  let first = resolve(path);
  while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
  const parent = dirname(first);
  try {
    accessSync(parent, constants.W_OK);
    return undefined;
  } catch (e) {
    if (!isErrnoError(e)) return undefined;
    const w = WORDING[e.code];
    return w && { ...w, cause: `cannot be made in ${parent}: ${w.cause}`, code: e.code };
  }
}

function wordingOf(code: string, syscall: string | undefined, message: string, path?: string): Wording {
  const there = whatIsThere(code, syscall, path);
  if (there) return there;
  if (code === 'ENOENT' && syscall === 'mkdir') return MKDIR_ENOENT;
  return WORDING[code] ?? { cause: nodePhrase(message, code) ?? 'the operation failed', fix: 'check the path and the file system, then rerun' };
}

/** The path (and destination, for a move or copy) an errno error is about, if Node recorded one. */
function pathOf(err: ErrnoError): string | undefined {
  const dest = (err as { dest?: unknown }).dest;
  if (err.path && typeof dest === 'string') return `${err.path} → ${dest}`;
  return err.path ?? (typeof dest === 'string' ? dest : undefined);
}

export interface FsErrorOptions {
  /** The path to name when Node did not record one (or a clearer one, e.g. the flag's value). */
  path?: string;
  /** Said first, e.g. '--out' or 'ONNX graph cache'. */
  what?: string;
  /** A fix in the caller's terms (e.g. 'choose another --dataset_loc'), instead of the general one. */
  fix?: string;
}

/**
 * One line for a file-system error: `[what ]<path>: <cause> (<CODE>); <fix>`. Without a known
 * path, the line says what failed (the system call) instead.
 */
export function describeFsError(err: ErrnoError, options: FsErrorOptions = {}): string {
  const w = wordingOf(err.code, err.syscall, err.message, err.path);
  const path = pathOf(err) ?? options.path;
  const subject = path ?? (err.syscall ? `a file operation (${err.syscall})` : 'a file operation');
  return `${options.what ? `${options.what} ` : ''}${subject}: ${w.cause} (${w.code ?? err.code}); ${options.fix ?? w.fix}`;
}

/** Whether the error says the command's path is wrong (exit 2) rather than the machine refused (exit 1); see the module comment. */
export function fsErrorIsInput(err: ErrnoError): boolean {
  return wordingOf(err.code, err.syscall, err.message, err.path).input === true;
}

/**
 * Why `path` cannot be reached, in one line, where that is more than "nothing is there": a
 * symlink loop, a dangling link, a file in the path, a name too long, no permission. Undefined
 * when the path can be reached or is simply absent (the caller says "not found" in its terms):
 * for the checks that `existsSync` would answer with a bare false.
 */
export function unreachableReason(path: string, options: FsErrorOptions = {}): string | undefined {
  try {
    statSync(path);
    return undefined;
  } catch (e) {
    if (!isErrnoError(e)) throw e;
    if (e.code === 'ENOENT' && !lstatSync(path, { throwIfNoEntry: false })) return undefined;
    return describeFsError(e, options);
  }
}

/** A file-system error worded for the user, of the input kind (exit 2). */
export class FsInputError extends InputError {
  override name = 'FsInputError';
  constructor(
    message: string,
    readonly code: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

/** A file-system error worded for the user, of the failure kind (exit 1). */
export class FsFailure extends RunFailure {
  override name = 'FsFailure';
  constructor(
    message: string,
    readonly code: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

/** `err` as an FsInputError or FsFailure (by the rule above) with its one line; `extra` is appended after '; '. */
export function fsError(err: ErrnoError, options: FsErrorOptions & { extra?: string } = {}): FsInputError | FsFailure {
  const message = `${describeFsError(err, options)}${options.extra ? `; ${options.extra}` : ''}`;
  const path = err.path ?? options.path;
  return fsErrorIsInput(err) ? new FsInputError(message, err.code, path) : new FsFailure(message, err.code, path);
}

/** Node's errno phrase quoted in a message: `CODE: phrase, syscall 'path'[ -> 'dest']`. */
const RAW_ERRNO = /\b(E[A-Z0-9]{2,}): ([^,\n]+), (\w+)(?: '([^']*)')?(?: -> '([^']*)')?/g;

/**
 * `message` with every raw Node errno phrase quoted in it replaced by its plain line, for
 * errors that embed another error's message (`could not write x: EACCES: permission denied, open 'x'`).
 */
export function plainFsMessage(message: string): string {
  return message.replace(RAW_ERRNO, (whole, code: string, _phrase: string, syscall: string, path?: string, dest?: string) => {
    const err = Object.assign(new Error(whole), { code, syscall, path, dest }) as ErrnoError;
    return describeFsError(err);
  });
}
