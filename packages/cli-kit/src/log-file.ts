/**
 * A job's log file: timestamped plain lines appended as the job runs, so a killed or
 * finished job leaves its story on disk. A log that cannot be written (a full disk, a
 * read-only folder) is noted once on the terminal stream and never stops the job: the log
 * serves the work, not the other way round.
 */
import { appendFileSync } from 'node:fs';

export interface LineStream {
  write(s: string): unknown;
}

export class LogFile {
  private broken = false;

  constructor(
    readonly path: string,
    /** Where to note, once, that the log cannot be written (null: nowhere). */
    private readonly noteStream: LineStream | null = process.stderr,
  ) {}

  /** Appends `<ISO time> <text>` and a newline. */
  append(text: string): void {
    if (this.broken) return;
    try {
      appendFileSync(this.path, `${new Date().toISOString()} ${text}\n`);
    } catch (e) {
      this.broken = true;
      this.noteStream?.write(`(the log ${this.path} cannot be written: ${(e as Error).message}; lines go to this stream only)\n`);
    }
  }
}
