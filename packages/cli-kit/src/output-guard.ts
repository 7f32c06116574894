/**
 * One rule for what a command writes: it never replaces a file or folder it did not create in
 * this run unless the user said `--overwrite` (or `--resume`, where continuing is the meaning),
 * and it never writes over one of its own inputs, whatever the flags. Every command claims its
 * output paths here, before any long work, so that a mistyped path costs a second, not a run.
 *
 * "The same file" is decided by the file system, not by the spelling: two paths name one file
 * when they resolve to the same device and inode (`stat` follows symbolic links, so `./a/../a`,
 * a symbolic link and a hard link to the input are all caught).
 *
 * Refusals are one line: the flag and path, what is there, and the fix.
 */
import { lstatSync, mkdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from './errors.js';
import { fsError, isErrnoError } from './fs-errors.js';

/** A command's inputs by the flag that named them (`{ '--checkpoint': path }`); undefined entries are skipped. */
export type OutputInputs = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface OutputClaim {
  /** The flag (or argument) that named the output, e.g. '--out'; it starts every message. */
  flag: string;
  /** The user allowed replacing what is there (`--overwrite`). */
  overwrite?: boolean;
  /** What the command reads: the output may never be one of these. */
  inputs?: OutputInputs;
  /** A third way out besides `--overwrite` and another path, e.g. 'continue it with --resume latest'. */
  alternative?: string;
}

export interface FolderClaim extends OutputClaim {
  /**
   * What in the existing folder this command would replace, in words (e.g. 'a finished report
   * (README.md)'), or undefined when nothing. Without it an existing folder is taken as is:
   * the command then claims the files it writes there one by one.
   */
  holds?: (folder: string) => string | undefined;
  /** Make the folder when missing (default); false only checks, for a command that makes it once its inputs are read. */
  make?: boolean;
}

export interface ClaimedOutput {
  /** The absolute path. */
  path: string;
  /** What is there and will be replaced (with `overwrite`), in words; undefined when nothing is. */
  replaces?: string;
}

/** Thrown when an output would replace what the run did not make, or write over an input. */
export class OutputRefused extends InputError {
  override name = 'OutputRefused';
}

/** `lstat` that says "nothing there" with undefined and words every other failure. */
function lstatOrNothing(path: string, flag: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if (isErrnoError(e) && e.code === 'ENOENT') return undefined;
    if (isErrnoError(e)) throw fsError(e, { what: flag, path });
    throw e;
  }
}

function statOrNothing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Whether two paths name one file (same device and inode, links followed). */
export function sameFile(a: string, b: string): boolean {
  const [sa, sb] = [statOrNothing(a), statOrNothing(b)];
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

const realOrSelf = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

/** How `output` comes to be `input`: the same spelling, a symbolic link (or `..`), or a hard link. */
function howSame(output: string, input: string): string {
  if (resolve(output) === resolve(input)) return '';
  return realOrSelf(output) === realOrSelf(input) ? ' (the same file by another path or a symbolic link)' : ' (the same file through a hard link)';
}

/** Refuses an output that is one of the inputs. */
function refuseInput(path: string, claim: OutputClaim, kind: 'file' | 'folder'): void {
  for (const [flag, value] of Object.entries(claim.inputs ?? {})) {
    for (const input of value === undefined ? [] : typeof value === 'string' ? [value] : value) {
      if (!sameFile(path, input)) continue;
      throw new OutputRefused(
        `${claim.flag} ${path}: is the input ${flag} ${input}${howSame(path, input)}; a command never writes over its input, even with --overwrite: choose another ${kind} for ${claim.flag}`,
      );
    }
  }
}

function fixes(claim: OutputClaim): string {
  return [claim.alternative, 'pass --overwrite to replace it', `choose another ${claim.flag}`].filter(Boolean).join(', or ');
}

function whatIsAt(path: string, st: Stats): string {
  if (st.isSymbolicLink()) {
    const target = readlinkSync(path);
    return statOrNothing(path) ? `a symbolic link to ${target}` : `a dangling symbolic link to ${target}`;
  }
  if (st.isDirectory()) return 'a folder';
  if (st.isFile()) return `a file of ${st.size} bytes`;
  return 'something that is not a regular file';
}

/** Makes `folder` and those above it; a failure is one line naming `flag`. */
function makeFolder(folder: string, flag: string): void {
  try {
    mkdirSync(folder, { recursive: true });
  } catch (e) {
    if (isErrnoError(e)) throw fsError(e, { what: flag, path: folder, fix: `choose another ${flag}` });
    throw e;
  }
}

/**
 * Claims a file this run will write: refused when it is one of `inputs` (always) or when
 * something is there and `overwrite` is not set; a folder there is always refused. The
 * folder above it is made when missing.
 */
export function claimOutputFile(path: string, claim: OutputClaim): ClaimedOutput {
  const abs = resolve(path);
  refuseInput(abs, claim, 'file');
  const st = lstatOrNothing(abs, claim.flag);
  let replaces: string | undefined;
  if (st) {
    const what = whatIsAt(abs, st);
    if (statOrNothing(abs)?.isDirectory()) throw new OutputRefused(`${claim.flag} ${abs}: is ${what}, not a file; name a file for ${claim.flag}`);
    if (!claim.overwrite) throw new OutputRefused(`${claim.flag} ${abs}: exists (${what}) and this run did not make it; ${fixes(claim)}`);
    replaces = what;
  }
  makeFolder(resolve(abs, '..'), claim.flag);
  return { path: abs, replaces };
}

/**
 * Claims a folder this run writes into: refused when it is one of `inputs` (always), when a
 * file is there, or when `holds` finds what the command would replace and `overwrite` is not
 * set. The folder is made when missing (unless `make` is false).
 */
export function claimOutputFolder(path: string, claim: FolderClaim): ClaimedOutput {
  const abs = resolve(path);
  refuseInput(abs, claim, 'folder');
  const st = lstatOrNothing(abs, claim.flag);
  let replaces: string | undefined;
  if (st) {
    if (!statOrNothing(abs)?.isDirectory())
      throw new OutputRefused(`${claim.flag} ${abs}: is ${whatIsAt(abs, st)}, not a folder; choose another ${claim.flag}`);
    replaces = claim.holds?.(abs);
    if (replaces && !claim.overwrite) throw new OutputRefused(`${claim.flag} ${abs}: holds ${replaces}; ${fixes(claim)}`);
  }
  if (claim.make !== false) makeFolder(abs, claim.flag);
  return { path: abs, replaces };
}
