/**
 * A command's output folder: created if missing, never silently replaced. A folder holding a
 * finished report (its README.md) is refused unless --overwrite; a folder holding an
 * unfinished run of the same command (its journal) is resumed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { claimOutputFolder, type OutputInputs, type ProgressStream } from '@mmmi/cli-kit';

/** What every report-writing command takes besides its own options. */
export interface ReportCommandBase {
  /** The dataset: a folder, an index or a shard. */
  data: string;
  /** The report folder. */
  out: string;
  /** Replace a finished report in `out`. */
  overwrite: boolean;
  /** The command line, quoted in the report. */
  command: string;
  /** Progress output (default stderr; null for none). */
  stream?: ProgressStream | null;
  /** Lines for the user (warnings, resumes). */
  say?: (line: string) => void;
}

/** Claims `folder` through the shared output rule (cli-kit's output guard); `inputs` (e.g. the --data folder) are never written into. */
export function prepareOutputFolder(folder: string, overwrite: boolean, inputs: OutputInputs = {}): void {
  claimOutputFolder(folder, {
    flag: '--out',
    overwrite,
    inputs,
    holds: (f) => (existsSync(join(f, 'README.md')) ? 'a finished report (README.md)' : undefined),
  });
}

/** The command line as a user would retype it (arguments with spaces or quotes quoted). */
export function commandLine(name: string, argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [name, ...argv.map(quote)].join(' ');
}
