/**
 * The stop on SIGINT and SIGTERM, in real processes: test/fixtures/stoppable.ts registers
 * cleanups that leave a trace in a file, says `ready`, and works until a signal comes.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import type { StopSignal } from '../src/signals.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/stoppable.ts', import.meta.url));

interface Stopped {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  trace: string[];
}

/** Starts the fixture, sends `signals` once it is ready (each next one once `before(i)` holds), and reports how it ended. */
function stopFixture(scenario: string, signals: StopSignal[], before: (trace: string[], i: number) => boolean = () => true): Promise<Stopped> {
  const tracePath = join(tempDir('mmmi-signals-'), 'trace.txt');
  const readTrace = () => (existsSync(tracePath) ? readFileSync(tracePath, 'utf8').split('\n').filter(Boolean) : []);
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, tracePath, scenario], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let sent = 0;
  const sendWhenDue = () => {
    if (sent < signals.length && stdout.includes('ready') && before(readTrace(), sent)) child.kill(signals[sent++]);
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    sendWhenDue();
  });
  const poll = setInterval(sendWhenDue, 50);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stderr, trace: readTrace() });
    }),
  );
}

const stopLines = (stderr: string) => stderr.split('\n').filter((l) => l.includes('stopping on'));

describe('a stop on SIGINT or SIGTERM', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: one line naming the cleanups, every registered cleanup run newest first, exit %i', async (signal, code) => {
    const r = await stopFixture('plain', [signal]);
    expect([r.code, r.signal]).toEqual([code, null]);
    expect(stopLines(r.stderr)).toEqual([`stoppable: stopping on ${signal}: last; first`]);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // the unregistered cleanup does not run; the later one runs before the earlier one
    expect(r.trace).toEqual(['last', 'first']);
  });

  it('a cleanup that fails is reported in one line and the others still run', async () => {
    const r = await stopFixture('failing', ['SIGTERM']);
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/^stoppable: while stopping \(failing\): the disk is gone$/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.trace).toEqual(['last', 'first']);
  });

  it('a cleanup that does not finish in time is named and the process exits anyway', async () => {
    const r = await stopFixture('slow', ['SIGINT']);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^stoppable: the cleanup did not finish within 0\.3 s \(still waiting forever\): exiting$/m);
    expect(r.trace).toEqual(['last']);
  });

  it('a second signal exits at once, with the code of that signal', async () => {
    // the waiting cleanup never ends and the bound is 10 minutes: only the second signal can end the process within the test's time
    const r = await stopFixture('twice', ['SIGTERM', 'SIGINT'], (trace, i) => i === 0 || trace.includes('waiting'));
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^stoppable: SIGINT again: exiting without waiting for the cleanup$/m);
    expect(r.trace).toEqual(['last', 'waiting']);
  });

  it('with no cleanup registered, a signal has its default effect', async () => {
    const r = await stopFixture('nothing', ['SIGTERM']);
    expect([r.code, r.signal]).toEqual([null, 'SIGTERM']);
    expect(r.stderr).toBe('');
    expect(r.trace).toEqual([]);
  });
});
