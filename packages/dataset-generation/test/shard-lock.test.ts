/**
 * The shard lock's owner record and when a lock is taken over: the scheduler job from the
 * environment, and a requeued task taking over its own earlier run's lock at once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { describeJob, earlierRunOfOurJob, schedulerJob } from '../src/scheduler-job.js';
import { ShardBusyError, ShardLock, staleReason, type LockOwner } from '../src/shard-lock.js';

describe('the scheduler job a process runs as', () => {
  it('is read from the variables of Slurm, PBS, LSF and Grid Engine, an array task before a plain job', () => {
    expect(schedulerJob({ SLURM_JOB_ID: '1240', SLURM_ARRAY_JOB_ID: '1234', SLURM_ARRAY_TASK_ID: '6' })).toEqual({
      scheduler: 'Slurm',
      id: '1234_6',
      attempt: 0,
    });
    expect(schedulerJob({ SLURM_JOB_ID: '77', SLURM_RESTART_COUNT: '2' })).toEqual({ scheduler: 'Slurm', id: '77', attempt: 2 });
    expect(schedulerJob({ PBS_JOBID: '1234[5].server' })).toEqual({ scheduler: 'PBS', id: '1234[5].server' });
    expect(schedulerJob({ LSB_JOBID: '88', LSB_JOBINDEX: '3' })).toEqual({ scheduler: 'LSF', id: '88_3' });
    expect(schedulerJob({ LSB_JOBID: '88' })).toEqual({ scheduler: 'LSF', id: '88' });
    expect(schedulerJob({ JOB_ID: '5', SGE_TASK_ID: 'undefined' })).toEqual({ scheduler: 'Grid Engine', id: '5_undefined' });
    // JOB_ID alone is any program's variable; a pod's HOSTNAME is no job; an empty value is none
    expect(schedulerJob({ JOB_ID: '5', HOSTNAME: 'gen-0-abcde', SLURM_JOB_ID: '' })).toBeUndefined();
    expect(describeJob({ scheduler: 'Slurm', id: '1234_6', attempt: 1 })).toBe('Slurm job 1234_6 (restart 1)');
  });

  it('an earlier run of our job has our id and, where both are counted, fewer restarts', () => {
    const ours = { scheduler: 'Slurm', id: '1234_6', attempt: 1 };
    expect(earlierRunOfOurJob({ scheduler: 'Slurm', id: '1234_6', attempt: 0 }, ours)).toBe(true);
    expect(earlierRunOfOurJob({ scheduler: 'Slurm', id: '1234_6' }, ours)).toBe(true);
    // the same attempt on another node: two steps of one allocation, possibly both alive
    expect(earlierRunOfOurJob({ scheduler: 'Slurm', id: '1234_6', attempt: 1 }, ours)).toBe(false);
    expect(earlierRunOfOurJob({ scheduler: 'Slurm', id: '1234_7', attempt: 0 }, ours)).toBe(false);
    expect(earlierRunOfOurJob({ scheduler: 'PBS', id: '1234_6' }, ours)).toBe(false);
    expect(earlierRunOfOurJob(undefined, ours)).toBe(false);
    expect(earlierRunOfOurJob({ scheduler: 'PBS', id: '9' }, undefined)).toBe(false);
  });
});

describe('when a lock is stale', () => {
  const now = Date.now();
  const elsewhere = (job?: LockOwner['job']): LockOwner => ({ pid: 4242, host: 'node-elsewhere', started: '2026-01-01T00:00:00.000Z', job });
  const ours = { scheduler: 'Slurm', id: '1234_6', attempt: 1 };

  it('a fresh lock of another node is held, unless its owner is an earlier run of our own job', () => {
    expect(staleReason(elsewhere(), now, now, 'here', ours)).toBeUndefined();
    expect(staleReason(elsewhere({ scheduler: 'Slurm', id: '1234_7', attempt: 0 }), now, now, 'here', ours)).toBeUndefined();
    expect(staleReason(elsewhere({ scheduler: 'Slurm', id: '1234_6', attempt: 0 }), now, now, 'here', ours)).toBe(
      'its owner (process 4242 on node-elsewhere, Slurm job 1234_6) is an earlier run of our own job (Slurm job 1234_6 (restart 1)): a scheduler never runs a job twice at once, so that run has ended',
    );
    // untouched for 11 minutes, whoever it is
    expect(staleReason(elsewhere(), now - 11 * 60_000, now, 'here', ours)).toMatch(
      /^it has not been refreshed for 11 minutes \(owner: process 4242 on node-elsewhere\)$/,
    );
  });

  it('on this host, a live owner holds it even when it runs as our job (two processes of one allocation)', () => {
    const live: LockOwner = { pid: process.pid, host: 'here', started: '', job: { scheduler: 'Slurm', id: '1234_6', attempt: 0 } };
    expect(staleReason(live, now, now, 'here', ours)).toBeUndefined();
    const dead = spawnSync('true').pid!;
    expect(staleReason({ ...live, pid: dead }, now, now, 'here', ours)).toBe(`its owner, process ${dead} on this host, has ended`);
  });
});

describe('ShardLock under a scheduler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['SLURM_JOB_ID', 'SLURM_ARRAY_JOB_ID', 'SLURM_ARRAY_TASK_ID', 'SLURM_RESTART_COUNT']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('names its job in the lock; a requeued task takes over the lock its killed run left on another node at once; release leaves a lock it no longer owns', async () => {
    const path = join(tempDir('mmmi-lock-'), '.x_6.lock');
    Object.assign(process.env, { SLURM_ARRAY_JOB_ID: '1234', SLURM_ARRAY_TASK_ID: '6', SLURM_JOB_ID: '1240', SLURM_RESTART_COUNT: '1' });
    // the killed first run, on another node, seconds ago: without the job, it would be held for 10 minutes
    const left = { pid: 4242, host: 'node-elsewhere', started: '2026-01-01T00:00:00.000Z', job: { scheduler: 'Slurm', id: '1234_6', attempt: 0 } };
    writeFileSync(path, JSON.stringify(left));
    const logs: string[] = [];
    const lock = await ShardLock.acquire(path, 'x_6.npz', (m) => logs.push(m));
    expect(logs).toEqual([`taking over the stale lock ${path}: ${staleReason(left, Date.now(), Date.now(), hostname())}`]);
    expect(logs[0]).toMatch(/earlier run of our own job \(Slurm job 1234_6 \(restart 1\)\)/);
    const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    expect(owner).toMatchObject({ pid: process.pid, host: hostname(), job: { scheduler: 'Slurm', id: '1234_6', attempt: 1 } });
    // a second run of the same task on this host while we live: refused, naming our job
    await expect(ShardLock.acquire(path, 'x_6.npz', () => undefined)).rejects.toThrow(ShardBusyError);
    await expect(ShardLock.acquire(path, 'x_6.npz', () => undefined)).rejects.toThrow(
      new RegExp(`x_6\\.npz is being generated by another run \\(process ${process.pid} on ${hostname()}, Slurm job 1234_6 \\(restart 1\\), since `),
    );
    // another run judged us stale and took the lock: our release leaves its lock alone
    const theirs = JSON.stringify({ ...left, started: '2026-01-02T00:00:00.000Z' });
    writeFileSync(path, theirs);
    await lock.release();
    expect(readFileSync(path, 'utf8')).toBe(theirs);
    // a release of the lock we hold removes it
    writeFileSync(path, JSON.stringify({ ...left, host: hostname(), pid: spawnSync('true').pid }));
    const again = await ShardLock.acquire(path, 'x_6.npz', () => undefined);
    await again.release();
    expect(existsSync(path)).toBe(false);
  });
});

describe('runs started together', () => {
  it('exactly one of many simultaneous acquirers gets the lock, and none takes it over as unreadable', async () => {
    const dir = tempDir('mmmi-lock-race-');
    const path = join(dir, '.race_0.lock');
    const logs: string[] = [];
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(Array.from({ length: 16 }, () => ShardLock.acquire(path, 'race_0.npz', (m) => logs.push(m))));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ShardBusyError);
      await (won[0] as PromiseFulfilledResult<ShardLock>).value.release();
    }
    // a lock taken over as "unreadable" would mean a reader saw it between create and write
    expect(logs.filter((l) => /unreadable/.test(l))).toEqual([]);
  });
});
