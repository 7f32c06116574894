/**
 * Argument files in the reference's syntax (argparse `fromfile_prefix_chars='@'`, SPEC §4).
 *
 * An `@file` token expands to the file's tokens: lines are read one by one, blank lines and
 * lines starting with `#` are skipped, the rest split on whitespace. Relative paths are taken
 * from the working directory, as argparse does; a nested `@file` that is not found there is
 * looked for beside the including file, so configurations can include siblings.
 * Refused, with the reason: a bare `@`, a missing file or a folder, an argument file with no
 * tokens, a file that includes itself (the include chain is named), nesting deeper than 16,
 * a `#` inside a line (comments take whole lines), a file that is not text.
 *
 * Encodings: UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark
 * (what Windows editors and PowerShell's `>` write) are read; UTF-16 without a mark is
 * recognised by its NUL bytes and refused with how to convert it. Line ends may be LF, CRLF
 * or a lone CR (classic Mac editors): a CR-only file would otherwise read as one long line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { unreachableReason } from './fs-errors.js';

export interface Token {
  text: string;
  /** Where the token came from: 'command line' or 'file:line'. */
  origin: string;
  /** The argument file (absolute path) it came from, when it came from one. */
  file?: string;
}

/** Argument files nested deeper than this are refused (a chain of includes, not a loop). */
const MAX_INCLUDE_DEPTH = 16;

const bareAt = (origin: string) =>
  new UsageError(`a bare '@' (${origin}): write the argument file right after it, e.g. @generation_arguments/simple_fig1_DAG.txt`);

/** Expands `@file` tokens recursively. */
export function expandArgumentFiles(tokens: readonly string[], origin = 'command line'): Token[] {
  const out: Token[] = [];
  for (const text of tokens) {
    if (text === '@') throw bareAt(origin);
    if (text.startsWith('@')) out.push(...readArgumentFile(text.slice(1), []));
    else out.push({ text, origin });
  }
  return out;
}

function readArgumentFile(path: string, chain: readonly string[]): Token[] {
  const full = resolve(path);
  if (!existsSync(full)) {
    // a symlink loop, a dangling link, a name too long: say which, not just "not found"
    throw new UsageError(unreachableReason(full, { what: 'argument file' }) ?? `argument file @${path} not found (looked at ${full})`);
  }
  if (statSync(full).isDirectory()) throw new UsageError(`argument file @${path} is a folder, not a file`);
  const including = [...chain, full];
  if (chain.includes(full)) throw new UsageError(`argument file @${path} includes itself: ${including.join(' → ')}`);
  if (chain.length >= MAX_INCLUDE_DEPTH) throw new UsageError(`argument files nest more than ${MAX_INCLUDE_DEPTH} deep: ${including.join(' → ')}`);
  const out: Token[] = [];
  decodeArgumentFile(readFileSync(full), path)
    .split(/\r\n|\r|\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const origin = `${path}:${i + 1}`;
      for (const t of line.split(/\s+/)) {
        if (t.startsWith('#')) throw new UsageError(`'${t}' inside a line (${origin}): comments take whole lines starting with #`);
        if (t === '@') throw bareAt(origin);
        if (t.startsWith('@')) {
          const nested = t.slice(1);
          const candidate = existsSync(resolve(nested)) ? nested : resolve(dirname(full), nested);
          out.push(...readArgumentFile(candidate, including));
        } else {
          out.push({ text: t, origin, file: full });
        }
      }
    });
  if (out.length === 0) throw new UsageError(`argument file @${path} has no flags (only blank lines and comments)`);
  return out;
}

/** The text of an argument file: UTF-8 or UTF-16 by its byte-order mark; other binary content refused. */
export function decodeArgumentFile(bytes: Buffer, path: string): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8');
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  if (bytes.includes(0)) {
    const evenNul = bytes.filter((_, i) => i % 2 === 0 && bytes[i] === 0).length;
    const oddNul = bytes.filter((_, i) => i % 2 === 1 && bytes[i] === 0).length;
    const utf16 = Math.max(evenNul, oddNul) >= bytes.length / 4;
    throw new UsageError(
      utf16
        ? `argument file @${path} looks like UTF-16 without a byte-order mark: save it as UTF-8 (e.g. iconv -f UTF-16${oddNul > evenNul ? 'LE' : 'BE'} -t UTF-8)`
        : `argument file @${path} is not a text file (it holds NUL bytes): an argument file lists flags, one or more per line`,
    );
  }
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) throw new UsageError(`argument file @${path} is not valid UTF-8: save it as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)`);
  return text;
}
