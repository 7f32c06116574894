/**
 * The progress of a long job: items done, rate and ETA on the terminal stream, and plain
 * lines in the job's log file.
 *
 * On a terminal the bar is redrawn in place (`\r`); elsewhere (CI logs, pipes, batch jobs)
 * a plain line is written at most every `intervalMs`, so logs stay readable. A resumed job
 * counts the items done before it as done but not in the rate, so the ETA is honest.
 */
import { LogFile, type LineStream } from './log-file.js';

export interface ProgressStream extends LineStream {
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Shown before the counts, e.g. 'features real'. */
  label: string;
  /** Total number of items, when known. */
  total?: number;
  /** Unit of the counts (default 'images'); 'bytes' is shown as KiB/MiB/GiB. */
  unit?: string;
  /** Default process.stderr; null for no terminal output. */
  stream?: ProgressStream | null;
  /** Append plain lines to this file. */
  logFile?: string;
  /** Minimum time between redraws / log lines (default 200 ms on a terminal, 10 s otherwise and in the log). */
  intervalMs?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
  /** Extra text at the end of each status line (e.g. the current loss). */
  detail?: () => string;
  /** Items already done before this run (a resumed job): counted as done, not in the rate. */
  initial?: number;
  /** Write the "start" line to the log (default true). */
  logStart?: boolean;
}

export interface ProgressSnapshot {
  done: number;
  total?: number;
  elapsedS: number;
  /** Items (or bytes) per second done by this run since its start. */
  rate: number;
  /** Seconds left, when the total is known and the rate positive. */
  etaS?: number;
}

/** h:mm:ss or m:ss; '?' when unknown. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const two = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

export function formatBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export class Progress {
  private start: number;
  private readonly now: () => number;
  private readonly stream: ProgressStream | null;
  private readonly tty: boolean;
  private readonly streamInterval: number;
  private readonly logInterval: number;
  private readonly logFile: LogFile | undefined;
  private initial: number;
  private lastDraw = -Infinity;
  private lastLog = -Infinity;
  private finished = false;
  private drewBar = false;
  done = 0;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
    this.initial = options.initial ?? 0;
    this.done = this.initial;
    this.stream = options.stream === undefined ? process.stderr : options.stream;
    this.tty = Boolean(this.stream?.isTTY);
    this.streamInterval = options.intervalMs ?? (this.tty ? 200 : 10_000);
    this.logInterval = options.intervalMs ?? 10_000;
    this.logFile = options.logFile ? new LogFile(options.logFile, this.stream) : undefined;
    if (options.logStart !== false) this.logOnly(`${options.label}: start${options.total !== undefined ? `, ${this.count(options.total)} to do` : ''}`);
  }

  get total(): number | undefined {
    return this.options.total;
  }

  /** A job found `initial` items already done (a resume): they count as done, not in the rate; the clock restarts. */
  resume(initial: number): void {
    this.initial = initial;
    this.done = initial;
    this.start = this.now();
  }

  snapshot(): ProgressSnapshot {
    const elapsedS = (this.now() - this.start) / 1000;
    const rate = elapsedS > 0 ? (this.done - this.initial) / elapsedS : 0;
    const total = this.options.total;
    const etaS = total !== undefined && rate > 0 ? Math.max(0, total - this.done) / rate : undefined;
    return { done: this.done, total, elapsedS, rate, etaS };
  }

  /** Count `n` more items done; redraws when due. */
  tick(n = 1): void {
    this.update(this.done + n);
  }

  /** Set the absolute count; redraws when due. */
  update(done: number): void {
    this.done = done;
    const t = this.now();
    if (this.stream && t - this.lastDraw >= this.streamInterval) {
      this.lastDraw = t;
      this.draw();
    }
    if (this.logFile && t - this.lastLog >= this.logInterval) {
      this.lastLog = t;
      this.logOnly(this.line());
    }
  }

  /** A message on the stream (below the bar) and in the log. */
  log(message: string): void {
    if (this.stream) this.stream.write(this.tty && this.drewBar ? `\r\x1b[K${message}\n` : `${message}\n`);
    this.drewBar = false;
    this.logOnly(message);
  }

  /** A line in the log file alone. */
  logOnly(message: string): void {
    this.logFile?.append(message);
  }

  /** Final line (and newline) on the stream and in the log. Idempotent. */
  finish(message?: string): void {
    if (this.finished) return;
    this.finished = true;
    const s = this.snapshot();
    const text = `${this.options.label}: ${message ?? 'done'}, ${this.countWithUnit(s.done)} in ${formatDuration(s.elapsedS)} (${this.rateText(s.rate)})`;
    if (this.stream) this.stream.write(this.tty && this.drewBar ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.logOnly(text);
  }

  /** The plain status line: "label: 120/1000 images (12.0%), 35.2 images/s, ETA 0:25". */
  line(): string {
    const s = this.snapshot();
    const total = s.total;
    const counts = total !== undefined ? `${this.count(s.done)}/${this.count(total)}` : this.count(s.done);
    const pct = total ? ` (${((100 * s.done) / total).toFixed(1)}%)` : '';
    const eta = s.etaS !== undefined ? `, ETA ${formatDuration(s.etaS)}` : '';
    const detail = this.options.detail ? `, ${this.options.detail()}` : '';
    return `${this.options.label}: ${counts}${this.isBytes() ? '' : ` ${this.unitName()}`}${pct}, ${this.rateText(s.rate)}${eta}${detail}`;
  }

  private isBytes(): boolean {
    return this.options.unit === 'bytes';
  }

  private count(v: number): string {
    return this.isBytes() ? formatBytes(v) : String(v);
  }

  private countWithUnit(v: number): string {
    return this.isBytes() ? formatBytes(v) : `${v} ${this.unitName()}`;
  }

  private unitName(): string {
    return this.options.unit ?? 'images';
  }

  private rateText(rate: number): string {
    return this.isBytes() ? `${formatBytes(rate)}/s` : `${rate.toFixed(1)} ${this.unitName()}/s`;
  }

  private draw(): void {
    if (!this.stream) return;
    const text = this.line();
    if (!this.tty) {
      this.stream.write(`${text}\n`);
      return;
    }
    const total = this.options.total;
    let bar = '';
    if (total) {
      const width = 24;
      const filled = Math.min(width, Math.round((width * this.done) / total));
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `;
    }
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[K${(bar + text).slice(0, Math.max(20, cols - 1))}`);
    this.drewBar = true;
  }
}
