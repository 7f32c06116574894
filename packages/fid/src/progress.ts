/**
 * A progress bar on stderr (items done, rate, ETA) that can also append plain lines to a
 * log file. On a terminal the bar is redrawn in place (`\r`); elsewhere (CI logs, pipes)
 * a plain line is written at most every `intervalMs`, so logs stay readable.
 */
import { appendFileSync } from 'node:fs';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Shown before the counts, e.g. 'features real'. */
  label: string;
  /** Total number of items, when known. */
  total?: number;
  /** Unit for the counts: 'images' (default) or 'bytes' (shown as KiB/MiB/GiB). */
  unit?: 'items' | 'images' | 'bytes';
  /** Default process.stderr; null for no terminal output. */
  stream?: ProgressStream | null;
  /** Append plain progress lines to this file. */
  logFile?: string;
  /** Minimum time between redraws / log lines (default 200 ms on a TTY, 10 s otherwise and in the log). */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Extra text at the end of each status line (e.g. the current loss). */
  detail?: () => string;
  /** Items already done before this run (a resumed job): counted as done, not in the rate. */
  initial?: number;
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
  private readonly start: number;
  private readonly now: () => number;
  private readonly stream: ProgressStream | null;
  private readonly tty: boolean;
  private readonly streamInterval: number;
  private readonly logInterval: number;
  private lastDraw = -Infinity;
  private lastLog = -Infinity;
  private finished = false;
  private drewBar = false;
  done = 0;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
    this.done = options.initial ?? 0;
    this.stream = options.stream === undefined ? process.stderr : options.stream;
    this.tty = Boolean(this.stream?.isTTY);
    this.streamInterval = options.intervalMs ?? (this.tty ? 200 : 10_000);
    this.logInterval = options.intervalMs ?? 10_000;
    this.log(`${options.label}: start${options.total !== undefined ? `, ${this.count(options.total)} to do` : ''}`);
  }

  get total(): number | undefined {
    return this.options.total;
  }

  snapshot(): ProgressSnapshot {
    const elapsedS = (this.now() - this.start) / 1000;
    const rate = elapsedS > 0 ? (this.done - (this.options.initial ?? 0)) / elapsedS : 0;
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
      this.draw(false);
    }
    if (this.options.logFile && t - this.lastLog >= this.logInterval) {
      this.lastLog = t;
      this.log(this.line());
    }
  }

  /** Final line (and newline) on stderr and in the log. Idempotent. */
  finish(message?: string): void {
    if (this.finished) return;
    this.finished = true;
    const s = this.snapshot();
    const text = `${this.options.label}: ${message ?? 'done'}, ${this.count(s.done)}${this.options.unit === 'bytes' ? '' : ` ${this.unitName()}`} in ${formatDuration(s.elapsedS)} (${this.rateText(s.rate)})`;
    if (this.stream) this.stream.write(this.tty && this.drewBar ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.log(text);
  }

  /** The plain status line: "label: 120/1000 images (12.0%), 35.2 images/s, ETA 0:25". */
  line(): string {
    const s = this.snapshot();
    const total = s.total;
    const counts = total !== undefined ? `${this.count(s.done)}/${this.count(total)}` : this.count(s.done);
    const pct = total ? ` (${((100 * s.done) / total).toFixed(1)}%)` : '';
    const eta = s.etaS !== undefined ? `, ETA ${formatDuration(s.etaS)}` : '';
    const detail = this.options.detail ? `, ${this.options.detail()}` : '';
    return `${this.options.label}: ${counts}${this.options.unit === 'bytes' ? '' : ` ${this.unitName()}`}${pct}, ${this.rateText(s.rate)}${eta}${detail}`;
  }

  private count(v: number): string {
    return this.options.unit === 'bytes' ? formatBytes(v) : String(v);
  }

  private unitName(): string {
    return this.options.unit ?? 'images';
  }

  private rateText(rate: number): string {
    return this.options.unit === 'bytes' ? `${formatBytes(rate)}/s` : `${rate.toFixed(1)} ${this.unitName()}/s`;
  }

  private draw(final: boolean): void {
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
    this.stream.write(`\r\x1b[K${(bar + text).slice(0, Math.max(20, cols - 1))}${final ? '\n' : ''}`);
    this.drewBar = true;
  }

  private log(text: string): void {
    if (!this.options.logFile) return;
    appendFileSync(this.options.logFile, `${new Date().toISOString()} ${text}\n`);
  }
}
