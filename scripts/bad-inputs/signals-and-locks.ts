/**
 * Bad inputs of issue #23: signals and locks. A generation stopped by SIGINT (Ctrl-C) or
 * SIGTERM (kill, scancel, preemption) keeps its workspace, removes its lock and temporary
 * files and exits 130 / 143, and its rerun resumes; a lock whose owner is gone is taken over
 * where that can be told (a dead process of this host, an earlier run of our own scheduler
 * job on another node) and respected otherwise; another run's unfinished work is never
 * deleted: refused, or set aside with --overwrite.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { bin, fig1, repo, type Case, type CaseResult, type Outcome } from './case.js';

type Found = { outcome: Exclude<Outcome, 'clear'>; why: string } | undefined;

const SHARD = 'simple_fig1_DAG_0';
const partialDir = (dir: string) => join(dir, 'out', `.${SHARD}.partial`);

/** A model-free generation into DIR/out that runs for a minute or two with the pause of MMMI_BATCH_DELAY_MS, 4 draws a batch. */
const long = (size = 100_000, ...extra: string[]) => [
  `@${fig1}`,
  '--transform',
  'identity',
  '--mod_dim',
  '16',
  '--batch_size',
  '8',
  '--preview',
  '0',
  '--dataset_size',
  String(size),
  '--dataset_loc',
  'DIR/out',
  ...extra,
];
const slow = { MMMI_BATCH_DELAY_MS: '5' };

/** Runs a generation of the case's folder before the case: stopped by `signal` after `ms`, or killed (SIGKILL) after `batches` batches. */
function interrupted(dir: string, how: { signal: NodeJS.Signals; ms: number } | { batches: number }, size: number): void {
  const args = long(size).map((a) => a.replaceAll('DIR', dir));
  const env = { ...process.env, ...('signal' in how ? slow : { MMMI_KILL_AFTER_BATCHES: String(how.batches) }) };
  spawnSync(process.execPath, [bin.generate, ...args], {
    cwd: repo,
    env,
    stdio: 'ignore',
    ...('signal' in how && { timeout: how.ms, killSignal: how.signal }),
  });
  if (!existsSync(join(partialDir(dir), 'progress.json'))) throw new Error('setup: the interrupted generation left no workspace');
}

const recordedDraws = (dir: string): number => {
  try {
    return (JSON.parse(readFileSync(join(partialDir(dir), 'progress.json'), 'utf8')) as { drawsDone: number }).drawsDone;
  } catch {
    return 0;
  }
};

/** The lock (unless another run's, which the case keeps) and every temporary file of the shard are gone. */
function noLitter(dir: string, othersLock = false): Found {
  const out = join(dir, 'out');
  const left = existsSync(out) ? readdirSync(out).filter((f) => (f.endsWith('.lock') && !othersLock) || f.endsWith('.tmp')) : [];
  return left.length ? { outcome: 'leak', why: `left ${left.join(', ')}` } : undefined;
}

/** Stopped mid-run by `signal`: one stop line, the workspace kept with its draws recorded (as the log says), no lock, no temporary file, no shard. */
const stoppedMidRun =
  (signal: 'SIGINT' | 'SIGTERM') =>
  (dir: string, r: CaseResult): Found => {
    const draws = recordedDraws(dir);
    if (draws === 0) return { outcome: 'silent', why: 'no draws were recorded when the signal came, so the case proves nothing (raise afterMs)' };
    if (r.signal !== null) return { outcome: 'leak', why: `killed by ${r.signal}: nothing was cleaned up` };
    const stopLines = r.stderr.split('\n').filter((l) => l.includes(`stopping on ${signal}`));
    if (stopLines.length !== 1) return { outcome: 'silent', why: `expected one 'stopping on ${signal}' line, got: ${r.stderr.slice(-300)}` };
    if (/error:/.test(r.stderr)) return { outcome: 'silent', why: `an error line after the stop: ${r.stderr.slice(-300)}` };
    const log = readFileSync(join(dir, 'out', `${SHARD}.log`), 'utf8');
    if (!log.includes(`stopped by ${signal}: ${draws} of 100000 samples are kept in ${partialDir(dir)}`))
      return { outcome: 'silent', why: `the log does not say that the ${draws} recorded draws are kept` };
    if (existsSync(join(dir, 'out', `${SHARD}.npz`))) return { outcome: 'silent', why: 'a shard was written' };
    return noLitter(dir);
  };

/** The message matches `pattern`, and nothing is left behind (but the lock of another run, with `othersLock`). */
const says =
  (pattern: RegExp, othersLock = false) =>
  (dir: string, r: CaseResult): Found =>
    pattern.test(r.stderr) ? noLitter(dir, othersLock) : { outcome: 'silent', why: `the output does not match ${pattern}: ${r.stderr.slice(-300)}` };

/** The shard was written, and nothing is left behind. */
const finished =
  (pattern: RegExp) =>
  (dir: string, r: CaseResult): Found =>
    !existsSync(join(dir, 'out', `${SHARD}.manifest.json`)) ? { outcome: 'silent', why: 'no shard was written' } : says(pattern)(dir, r);

const lock = (owner: Record<string, unknown>) => ({ [`out/.${SHARD}.lock`]: `${JSON.stringify({ started: new Date().toISOString(), ...owner })}\n` });
const deadPid = () => spawnSync('true').pid!;
/** The workspace files a case must leave as they were. */
const workspaceFiles = [`out/.${SHARD}.partial/X.f32`, `out/.${SHARD}.partial/Noise.f32`, `out/.${SHARD}.partial/Y.f32`, `out/.${SHARD}.partial/progress.json`];

export const cases: Case[] = [
  {
    name: 'signals: SIGINT (Ctrl-C) mid-run',
    cli: 'generate',
    args: long(),
    env: slow,
    signal: { name: 'SIGINT', afterMs: 8000 },
    timeoutMs: 90_000,
    check: stoppedMidRun('SIGINT'),
  },
  {
    name: 'signals: SIGTERM (kill, scancel, preemption) mid-run',
    cli: 'generate',
    args: long(),
    env: slow,
    signal: { name: 'SIGTERM', afterMs: 8000 },
    timeoutMs: 90_000,
    check: stoppedMidRun('SIGTERM'),
  },
  {
    name: 'signals: the rerun of a job stopped by SIGTERM resumes',
    cli: 'generate',
    args: long(20_000),
    setup: (dir) => interrupted(dir, { signal: 'SIGTERM', ms: 8000 }, 20_000),
    expectOk: true,
    check: (dir, r) =>
      finished(/resuming after [1-9]\d* samples/)(dir, r) ?? (existsSync(partialDir(dir)) ? { outcome: 'leak', why: 'the workspace stayed' } : undefined),
  },
  {
    name: 'signals: a lock left by a dead process of this host is taken over',
    cli: 'generate',
    args: long(40),
    files: lock({ pid: deadPid(), host: hostname() }),
    expectOk: true,
    check: finished(/taking over the stale lock .*: its owner, process \d+ on this host, has ended/),
  },
  {
    name: 'signals: a lock of our own Slurm job left on another node (a requeued task) is taken over at once',
    cli: 'generate',
    args: long(40),
    env: { SLURM_JOB_ID: '4242', SLURM_RESTART_COUNT: '1' },
    files: lock({ pid: 777, host: 'node-elsewhere', job: { scheduler: 'Slurm', id: '4242', attempt: 0 } }),
    expectOk: true,
    check: finished(
      /taking over the stale lock .*: its owner \(process 777 on node-elsewhere, Slurm job 4242\) is an earlier run of our own job \(Slurm job 4242 \(restart 1\)\)/,
    ),
  },
  {
    name: 'signals: a fresh lock of another Slurm job on another node is respected',
    cli: 'generate',
    args: long(40),
    env: { SLURM_JOB_ID: '4243' },
    files: lock({ pid: 777, host: 'node-elsewhere', job: { scheduler: 'Slurm', id: '4242', attempt: 0 } }),
    keep: [`out/.${SHARD}.lock`],
    check: says(
      /is being generated by another run \(process 777 on node-elsewhere, Slurm job 4242, since .*\); wait for it to finish, or remove .* if that run is gone/,
      true,
    ),
  },
  {
    name: 'signals: a fresh lock of our own Slurm job and attempt on another node (two steps of one allocation) is respected',
    cli: 'generate',
    args: long(40),
    env: { SLURM_JOB_ID: '4242' },
    files: lock({ pid: 777, host: 'node-elsewhere', job: { scheduler: 'Slurm', id: '4242', attempt: 0 } }),
    keep: [`out/.${SHARD}.lock`],
    check: says(/is being generated by another run \(process 777 on node-elsewhere, Slurm job 4242, since /, true),
  },
  {
    name: "signals: a rerun with other arguments over a killed job's workspace",
    cli: 'generate',
    args: long(60),
    setup: (dir) => interrupted(dir, { batches: 300 }, 20_000),
    keep: workspaceFiles,
    check: says(
      /\.simple_fig1_DAG_0\.partial holds the unfinished work of another run of this shard \([1-9]\d* draws; it was started with other arguments: --dataset_size was 20000, now 60\): rerun with that run's arguments .* to resume it, or pass --overwrite to set it aside/,
    ),
  },
  {
    name: "signals: --overwrite over a killed job's workspace sets it aside, kept byte for byte",
    cli: 'generate',
    args: long(60, '--overwrite'),
    setup: (dir) => {
      interrupted(dir, { batches: 300 }, 20_000);
      cpSync(partialDir(dir), join(dir, 'original'), { recursive: true });
    },
    expectOk: true,
    check: (dir, r) => {
      const aside = readdirSync(join(dir, 'out')).filter((f) => /^simple_fig1_DAG_0\.set-aside-\d{8}T\d{6}Z\.partial$/.test(f));
      if (aside.length !== 1) return { outcome: 'lost', why: `the workspace was not set aside (out/ holds ${readdirSync(join(dir, 'out')).join(', ')})` };
      for (const f of readdirSync(join(dir, 'original')))
        if (!readFileSync(join(dir, 'original', f)).equals(readFileSync(join(dir, 'out', aside[0], f))))
          return { outcome: 'lost', why: `${f} changed when set aside` };
      return finished(new RegExp(`--overwrite: set aside the unfinished work of another run \\([1-9]\\d* draws; .*\\) as .*${aside[0]}; it is kept`))(dir, r);
    },
  },
  {
    name: "signals: a folder of the user's at the workspace's name",
    cli: 'generate',
    args: long(40),
    files: { [`out/.${SHARD}.partial/notes.txt`]: 'mine' },
    keep: [`out/.${SHARD}.partial/notes.txt`],
    check: says(/holds the unfinished work of another run of this shard \(0 draws; it holds files this toolkit does not write \(notes\.txt\)\)/),
  },
];
