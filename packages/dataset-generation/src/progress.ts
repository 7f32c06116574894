/**
 * Progress of a long job: a bar with rate and ETA on stderr (redrawn in place on a
 * terminal, a line every few seconds otherwise), and plain lines in the job's log file.
 */
import { appendFileSync } from 'node:fs';

export class Progress {
  private readonly start = Date.now();
  private lastLine = 0;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly logFile?: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  log(message: string): void {
    this.logOnly(message);
    this.stream.write(message + '\n');
  }

  /** The line in the log file alone; a log that cannot be written (a full disk) is noted once on the stream, never fatal. */
  logOnly(message: string): void {
    this.append(`${new Date().toISOString()} ${message}\n`);
  }

  private logBroken = false;

  private append(line: string): void {
    if (!this.logFile || this.logBroken) return;
    try {
      appendFileSync(this.logFile, line);
    } catch (e) {
      this.logBroken = true;
      this.stream.write(`(the log ${this.logFile} cannot be written: ${(e as Error).message}; lines go to this stream only)\n`);
    }
  }

  update(done: number, resumedFrom = 0): void {
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = elapsed > 0 ? (done - resumedFrom) / elapsed : 0;
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const width = 30;
    const filled = Math.round((width * done) / Math.max(this.total, 1));
    const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${this.unit} ${rate.toFixed(1)}/s ETA ${formatSeconds(eta)}`;
    const finished = done >= this.total;
    const due = finished || Date.now() - this.lastLine > 5000;
    if (this.stream.isTTY) this.stream.write(`\r${text}${finished ? '\n' : ''}`);
    else if (due) this.stream.write(text + '\n');
    if (due) {
      this.lastLine = Date.now();
      this.append(`${new Date().toISOString()} ${text}\n`);
    }
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}
