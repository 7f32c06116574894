/**
 * Bad inputs of issue #23: external estimators (`mmmi-bench estimate --estimators external`).
 * A command that hangs, that prints without end, that fails loudly or cannot start, and a run
 * stopped by a signal while the command works: each must end with one line, leave no
 * `mmmi-external-*` folder in TMPDIR (DIR/tmp here) and no process of the command running.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Case, CaseResult, Outcome } from './case.js';

type Found = { outcome: Exclude<Outcome, 'clear'>; why: string } | undefined;

/** An estimate of X1;θ on the 4 draws of DIR/done by the external command, temporary files in DIR/tmp. */
const external = (command: string, ...extra: string[]): Pick<Case, 'cli' | 'args' | 'env' | 'files'> => ({
  cli: 'bench',
  args: ['estimate', '--data', 'DIR/done', '--pair', 'X1;θ', '--estimators', 'external', '--features', 'pixels', '--n', '4', '--seeds', '1'].concat(
    ['--out', 'DIR/rep', '--external_command', command],
    extra,
  ),
  env: { TMPDIR: 'DIR/tmp' },
  files: { 'tmp/.keep': '' },
});

/** A command that starts a grandchild (`sleep 60`), writes both pids to DIR/pids, and waits for it. */
const SLEEPER = `sh -c 'sleep 60 & echo "$$ $!" > DIR/pids; wait'`;

/** Whether `pid` runs (a zombie counts as ended). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A leak: a temporary folder of the external estimator left in DIR/tmp, or a process of the command still running. */
function leftBehind(dir: string): Found {
  const folders = readdirSync(join(dir, 'tmp')).filter((f) => f.startsWith('mmmi-external-'));
  if (folders.length) return { outcome: 'leak', why: `left ${folders.join(', ')} in TMPDIR` };
  const pids = join(dir, 'pids');
  if (!existsSync(pids)) return undefined;
  // the kill is sent at exit; give the kernel a moment to end them
  const alive = () => readFileSync(pids, 'utf8').trim().split(' ').map(Number).filter(running);
  for (let i = 0; i < 50 && alive().length; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  return alive().length ? { outcome: 'leak', why: `the command's processes ${alive().join(', ')} still run` } : undefined;
}

/** The reason is one line that says `pattern`, and nothing is left behind. */
const says =
  (pattern: RegExp) =>
  (dir: string, r: CaseResult): Found => {
    const lines = r.stderr.trim().split('\n');
    if (lines.length !== 1 || !pattern.test(lines[0]))
      return { outcome: 'silent', why: `expected one line matching ${pattern}, got: ${r.stderr.slice(0, 300)}` };
    return leftBehind(dir);
  };

/** A signal case: the command had started when the signal came (else the case proves nothing), and nothing is left behind. */
const stoppedMidRun = (dir: string): Found =>
  existsSync(join(dir, 'pids')) ? leftBehind(dir) : { outcome: 'silent', why: 'the external command had not started when the signal came (raise afterMs)' };

const CHATTY = `const mb = 'x'.repeat(2 ** 20 - 1) + '\\n'; for (let i = 0; i < 100; i++) process.stdout.write(mb); console.log('0.5');`;

export const cases: Case[] = [
  {
    name: 'external: a command that hangs is stopped at --external_timeout, with its grandchild',
    ...external(SLEEPER, '--external_timeout', '1'),
    timeoutMs: 60_000,
    check: says(/ran past --external_timeout 1 s; raise it or check the command$/),
  },
  {
    name: 'external: 100 MB of output before the estimate',
    ...external(`${process.execPath} DIR/chatty.mjs`),
    files: { 'tmp/.keep': '', 'chatty.mjs': CHATTY },
    expectOk: true,
    check: (dir) => {
      const csv = readFileSync(join(dir, 'rep/estimates.csv'), 'utf8');
      return /\b0\.5\b/.test(csv) ? leftBehind(dir) : { outcome: 'silent', why: `the estimate 0.5 is not in estimates.csv: ${csv.slice(0, 300)}` };
    },
  },
  {
    name: 'external: 100 MB on stderr, then a failure',
    ...external(`${process.execPath} DIR/loud.mjs`),
    files: { 'tmp/.keep': '', 'loud.mjs': `for (let i = 0; i < 100; i++) console.error('y'.repeat(2 ** 20 - 1)); process.exit(3);` },
    check: says(/exited with status 3: …y{300}$/),
  },
  {
    name: 'external: a Python traceback becomes its last line',
    ...external(`python3 -c 'import sys; raise ValueError("no GPU on this node")'`),
    check: says(/exited with status 1: ValueError: no GPU on this node$/),
  },
  {
    name: 'external: a program that is not there',
    ...external('DIR/no-such-estimator --fast'),
    check: says(/could not start: no program '.*no-such-estimator' \(give its path, or put it on PATH\)$/),
  },
  {
    name: 'external: a script that is not executable',
    ...external('DIR/mine.py'),
    files: { 'tmp/.keep': '', 'mine.py': 'print(0.5)\n' },
    check: says(/is not executable \(chmod \+x it, or name its interpreter first\)$/),
  },
  {
    name: 'external: a last line that is not a number',
    ...external(`python3 -c 'print("MI = 0.5 nats")'`),
    check: says(/its last line 'MI = 0.5 nats' is not an estimate/),
  },
  { name: 'external: --external_timeout 0', ...external('true', '--external_timeout', '0') },
  { name: 'external: --external_timeout of a month', ...external('true', '--external_timeout', '2600000') },
  {
    name: 'external: a TMPDIR that does not exist',
    ...external(`python3 -c 'print(0.5)'`),
    env: { TMPDIR: 'DIR/no-such-folder' },
    check: (dir, r) => (/TMPDIR/.test(r.stderr) ? undefined : { outcome: 'silent', why: `the message does not name TMPDIR: ${r.stderr.slice(0, 300)}` }),
  },
  {
    name: 'external: SIGTERM while the command runs',
    ...external(SLEEPER),
    signal: { name: 'SIGTERM', afterMs: 8000 },
    timeoutMs: 60_000,
    check: stoppedMidRun,
  },
  {
    name: 'external: SIGINT while the command runs',
    ...external(SLEEPER),
    signal: { name: 'SIGINT', afterMs: 8000 },
    timeoutMs: 60_000,
    check: stoppedMidRun,
  },
];
