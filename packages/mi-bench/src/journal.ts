/**
 * Resume for long studies: each finished row is appended to a hidden journal in the output
 * folder (one JSON line, flushed as it is written); a rerun of the same command finds the
 * rows done and does only the rest. The journal's first line is the run's fingerprint (its
 * options), so the rows of another command are never mixed in: they are set aside, logged.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

export class RowJournal<Row> {
  private readonly done = new Map<string, Row>();
  /** Why an existing journal was not resumed, when one was found and set aside. */
  readonly discarded: string | null = null;

  constructor(
    readonly path: string,
    options: unknown,
    private readonly key: (row: Row) => string,
  ) {
    const fingerprint = createHash('sha256').update(JSON.stringify(options)).digest('hex');
    if (existsSync(path)) {
      const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      let header: { fingerprint?: string } = {};
      try {
        header = JSON.parse(lines[0] ?? '{}') as { fingerprint?: string };
      } catch {
        // an unreadable header is another run's journal: set aside below
      }
      if (header.fingerprint === fingerprint) {
        for (const line of lines.slice(1)) {
          try {
            const row = JSON.parse(line) as Row;
            this.done.set(this.key(row), row);
          } catch {
            break; // a line cut short by a kill: the rows after it are redone
          }
        }
        this.rewrite(fingerprint);
        return;
      }
      renameSync(path, `${path}.${Date.now()}.old`);
      this.discarded = `the journal ${path} was made by other options; moved aside`;
    }
    writeFileSync(path, JSON.stringify({ fingerprint }) + '\n');
  }

  /** Rewrites the journal with the rows kept, dropping a last line cut short. */
  private rewrite(fingerprint: string): void {
    writeFileSync(path0(this.path), [JSON.stringify({ fingerprint }), ...[...this.done.values()].map((r) => JSON.stringify(r))].join('\n') + '\n');
    renameSync(path0(this.path), this.path);
  }

  get resumed(): number {
    return this.done.size;
  }

  has(key: string): boolean {
    return this.done.has(key);
  }

  get(key: string): Row | undefined {
    return this.done.get(key);
  }

  add(row: Row): void {
    this.done.set(this.key(row), row);
    appendFileSync(this.path, JSON.stringify(row) + '\n');
  }

  /** The run is complete and its report written: the journal goes. */
  remove(): void {
    rmSync(this.path, { force: true });
  }
}

const path0 = (p: string) => `${p}.tmp`;
