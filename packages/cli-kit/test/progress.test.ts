import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, Progress } from '../src/progress.js';

const tmp = () => tempDir('cli-kit-progress-');

describe('progress', () => {
  it('prints items, rate and ETA on a non-TTY stream and appends plain lines to a log', () => {
    const dir = tmp();
    const log = join(dir, 'run.log');
    const lines: string[] = [];
    let t = 0;
    const p = new Progress({
      label: 'features real',
      total: 100,
      stream: { write: (s: string) => lines.push(s), isTTY: false },
      logFile: log,
      intervalMs: 1000,
      now: () => t,
    });
    t = 2000;
    p.tick(20);
    t = 2500;
    p.tick(5); // within the interval: no line
    t = 4000;
    p.tick(15);
    p.finish();
    expect(lines).toEqual([
      'features real: 20/100 images (20.0%), 10.0 images/s, ETA 0:08\n',
      'features real: 40/100 images (40.0%), 10.0 images/s, ETA 0:06\n',
      'features real: done, 40 images in 0:04 (10.0 images/s)\n',
    ]);
    const logged = readFileSync(log, 'utf8').trim().split('\n');
    expect(logged[0]).toMatch(/^\d{4}-\d\d-\d\dT.* features real: start, 100 to do$/);
    expect(logged.at(-1)).toMatch(/features real: done, 40 images in 0:04/);
    expect(logged.length).toBe(4);
  });

  it('counts items done before a resume as done but not in the rate or ETA', () => {
    const lines: string[] = [];
    let t = 0;
    const p = new Progress({
      label: 'epoch 1',
      total: 1000,
      initial: 600,
      stream: { write: (s: string) => lines.push(s), isTTY: false },
      intervalMs: 1000,
      now: () => t,
    });
    t = 10_000;
    p.tick(100);
    expect(lines).toEqual(['epoch 1: 700/1000 images (70.0%), 10.0 images/s, ETA 0:30\n']);
  });

  it('redraws in place on a TTY', () => {
    const out: string[] = [];
    let t = 0;
    const p = new Progress({ label: 'x', total: 10, stream: { write: (s: string) => out.push(s), isTTY: true, columns: 80 }, now: () => t });
    t = 1000;
    p.tick(5);
    p.finish();
    // eslint-disable-next-line no-control-regex -- the terminal's erase-line escape is what is tested
    expect(out[0]).toMatch(/^\r\x1b\[K\[#{12}\.{12}\] x: 5\/10 images \(50\.0%\)/);
    // eslint-disable-next-line no-control-regex -- as above
    expect(out.at(-1)).toMatch(/^\r\x1b\[Kx: done, 5 images in 0:01/);
  });

  it('formats durations and sizes', () => {
    expect(formatDuration(59.6)).toBe('1:00');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(95_628_359)).toBe('91.2 MiB');
  });

  it('resume() after construction restarts the clock and leaves the resumed items out of the rate', () => {
    const lines: string[] = [];
    let t = 0;
    const p = new Progress({
      label: 'generate',
      total: 100,
      unit: 'samples',
      stream: { write: (s: string) => lines.push(s), isTTY: false },
      intervalMs: 1000,
      now: () => t,
      logStart: false,
    });
    t = 50_000; // loading a model before the resume is known: not part of the rate
    p.resume(40);
    t = 52_000;
    p.update(60);
    expect(lines).toEqual(['generate: 60/100 samples (60.0%), 10.0 samples/s, ETA 0:04\n']);
  });

  it('log() writes a message below the bar and into the log; an unwritable log is noted once and never fatal', () => {
    const dir = tmp();
    const out: string[] = [];
    let t = 0;
    const p = new Progress({
      label: 'x',
      total: 10,
      stream: { write: (s: string) => out.push(s), isTTY: true, columns: 80 },
      logFile: join(dir, 'log.txt'),
      now: () => t,
    });
    t = 1000;
    p.tick(5);
    p.log('resuming');
    expect(out.at(-1)).toBe('\r\x1b[Kresuming\n');
    expect(readFileSync(join(dir, 'log.txt'), 'utf8')).toMatch(/Z resuming\n$/);
    const notes: string[] = [];
    const broken = new Progress({
      label: 'y',
      stream: { write: (s: string) => notes.push(s) },
      logFile: join(dir, 'no-such-folder', 'log.txt'),
      logStart: false,
    });
    broken.log('one');
    broken.log('two');
    expect(notes.filter((n) => n.includes('cannot be written'))).toHaveLength(1);
    expect(notes.filter((n) => n === 'one\n' || n === 'two\n')).toHaveLength(2);
  });
});
