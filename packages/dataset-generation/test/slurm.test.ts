/**
 * The job-array script on a real scheduler: Debian's slurm-wlm as a one-node cluster on
 * localhost (auth/none, its own ports, state and spool in a temp folder), started here and
 * stopped after. environments/slurm/generate.sbatch runs as an array of 4 tasks (model-free
 * map, --num_jobs 4). Task 1 is cancelled mid-run (scancel: SIGTERM), leaves its workspace
 * and no lock, and is resubmitted, and resumes. Task 2 is killed mid-run as a node failure
 * kills (SIGKILL: its lock stays), its lock is made to look as if it ran on another node, and
 * the task is requeued (scontrol requeue): the requeued run sees its own job in the lock,
 * takes it over at once instead of waiting out the 10-minute timer, and resumes. Then every
 * shard verifies, the index covers the four, and tasks 1 and 2 have the bytes of an
 * uninterrupted run. Skipped, with the reason, where slurmctld is not installed (.ci/run
 * installs it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { LockOwner } from '../src/shard-lock.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { slurmSkipReason, startOneNodeSlurm, tempDir, waitFor, type OneNodeSlurm } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../src/generate.js';
import { verifyFolder } from '../src/verify.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const built = existsSync(join(repo, 'packages/dataset-generation/dist/cli.js'));
const skipReason = slurmSkipReason() ?? (!built ? 'the package is not built' : undefined);
if (skipReason) process.stderr.write(`Slurm test skipped: ${skipReason}\n`);

let dir: string;
let cluster: OneNodeSlurm;
const slurmCmd = (cmd: string, args: string[]): string => cluster.run(cmd, args, repo);
const queued = (job: string) => cluster.queued(job);

describe.skipIf(skipReason !== undefined)('Slurm job array (slurm-wlm, one node on localhost)', { timeout: 3_000_000 }, () => {
  // made here, it is removed after the describe's afterAll has stopped the daemons (hooks run in reverse)
  dir = tempDir('mmmi-slurm-');
  beforeAll(async () => {
    for (const d of ['out', 'data']) mkdirSync(join(dir, d));
    cluster = await startOneNodeSlurm(dir);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('generate.sbatch as an array of 4: a cancelled task resubmitted resumes, a killed task requeued takes over its lock at once and resumes; the shards verify and form one indexed dataset', async () => {
    const data = join(dir, 'data');
    const args = [
      '@generation_arguments/simple_fig1_DAG.txt',
      '--transform',
      'tanh',
      '--dataset_size',
      '60',
      '--batch_size',
      '2',
      '--dataset_loc',
      data,
      '--num_jobs',
      '4',
      '--preview',
      '0',
    ];
    const submit = (array: string) =>
      slurmCmd('sbatch', [
        '--parsable',
        `--array=${array}`,
        '--cpus-per-task=1',
        '--mem=400M',
        '--requeue',
        `--output=${join(dir, 'out', '%A_%a.txt')}`,
        '--export=ALL,MMMI_BATCH_DELAY_MS=60',
        'environments/slurm/generate.sbatch',
        ...args,
      ]);
    const t0 = performance.now();
    const job = submit('0-3');
    const drawsDone = (task: number) => {
      try {
        return (JSON.parse(readFileSync(join(data, `.simple_fig1_DAG_${task}.partial`, 'progress.json'), 'utf8')) as { drawsDone: number }).drawsDone;
      } catch {
        return 0; // not there yet
      }
    };
    // cancel task 1 once it has checkpointed some draws, before it is done: Slurm sends SIGTERM
    await waitFor('task 1 to checkpoint', () => drawsDone(1) > 0, 480);
    slurmCmd('scancel', [`${job}_1`]);
    const cancelledAt = drawsDone(1);
    expect(cancelledAt).toBeLessThan(60);
    // kill task 2 mid-run as a failing node would (SIGKILL: no cleanup, the lock stays), as if it had run on another node
    const lockOf2 = join(data, '.simple_fig1_DAG_2.lock');
    await waitFor('task 2 to checkpoint', () => drawsDone(2) > 0, 480);
    const owner = JSON.parse(readFileSync(lockOf2, 'utf8')) as LockOwner;
    expect(owner.job).toEqual({ scheduler: 'Slurm', id: `${job}_2`, attempt: 0 });
    process.kill(owner.pid, 'SIGKILL');
    const running = (task: number) => queued(job).some((l) => l.startsWith(`${job}_${task} `));
    await waitFor('task 2 to end', () => !running(2), 300);
    const killedAt = drawsDone(2);
    expect(killedAt).toBeLessThan(60);
    writeFileSync(lockOf2, JSON.stringify({ ...owner, host: 'node-elsewhere' }));
    // requeued, it runs as the same array task, restart 1: the lock is its own earlier run's, taken over at once
    const shard2 = join(data, 'simple_fig1_DAG_2.npz');
    const stateOf2 = () => /JobState=(\w+)/.exec(spawnSync('scontrol', ['-o', 'show', 'job', `${job}_2`], { env: cluster.env, encoding: 'utf8' }).stdout)?.[1];
    for (let requeue = 1; !existsSync(shard2); requeue++) {
      slurmCmd('scontrol', ['requeue', `${job}_2`]);
      // Slurm holds a requeued job back for about two minutes (its begin time): let it start now where the version allows
      spawnSync('scontrol', ['update', `JobId=${job}_2`, 'StartTime=now'], { env: cluster.env, encoding: 'utf8' });
      await waitFor('task 2 to leave its failed state', () => stateOf2() !== 'FAILED', 120);
      // started this soon after the kill, slurmd may still hold the killed run's credential revoked and fail the
      // launch before our code runs ("Job credential revoked"): a Slurm race, not ours, so the task is requeued again.
      // Right after the requeue, slurmctld may list the task nowhere for a moment: wait for its shard or its failure.
      await waitFor('the requeued task 2 to finish, and the array', () => (existsSync(shard2) && queued(job).length === 0) || stateOf2() === 'FAILED', 900);
      if (!existsSync(shard2) && requeue === 3) throw new Error(`the requeued task 2 failed ${requeue} times: ${stateOf2()}`);
    }
    const log2 = readFileSync(join(data, 'simple_fig1_DAG_2.log'), 'utf8');
    expect(log2).toMatch(
      new RegExp(
        `taking over the stale lock ${lockOf2.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: its owner \\(process ${owner.pid} on node-elsewhere, Slurm job ${job}_2\\) is an earlier run of our own job \\(Slurm job ${job}_2 \\(restart \\d+\\)\\)`,
      ),
    );
    expect(log2).toMatch(/resuming after \d+ samples/);
    expect(existsSync(join(data, 'simple_fig1_DAG_2.npz'))).toBe(true);
    // the cancelled task stopped cleanly: its workspace is kept, its lock is gone
    expect(readFileSync(join(data, 'simple_fig1_DAG_1.log'), 'utf8')).toMatch(/stopped by SIGTERM: \d+ of 60 samples are kept in /);
    expect(existsSync(join(data, 'simple_fig1_DAG_1.npz'))).toBe(false);
    const cancelled = await verifyFolder(data);
    expect([cancelled.partial, cancelled.locks]).toEqual([['.simple_fig1_DAG_1.partial'], []]);
    expect(existsSync(join(data, 'simple_fig1_DAG.index.json'))).toBe(false);
    // resubmitted, it resumes and, as the last of the four, writes the index
    const again = submit('1');
    await waitFor('the resubmitted task', () => queued(again).length === 0, 720);
    const seconds = (performance.now() - t0) / 1000;
    const log = readFileSync(join(data, 'simple_fig1_DAG_1.log'), 'utf8');
    expect(log).toMatch(/resuming after \d+ samples/);
    const report = await verifyFolder(data);
    expect(report.shards.map((s) => [s.file, s.ok])).toEqual([0, 1, 2, 3].map((j) => [`simple_fig1_DAG_${j}.npz`, true]));
    expect([report.partial, report.orphans, report.locks]).toEqual([[], [], []]);
    const index = JSON.parse(readFileSync(join(data, 'simple_fig1_DAG.index.json'), 'utf8'));
    expect(index.count).toBe(240);
    expect(index.shards.map((s: { job_id: number }) => s.job_id)).toEqual([0, 1, 2, 3]);
    // the resumed shards are byte for byte the uninterrupted ones
    const reference = tempDir('mmmi-slurm-ref-');
    for (const task of [1, 2]) {
      const fresh = await generate(
        [`@${repo}generation_arguments/simple_fig1_DAG.txt`, ...args.slice(1).map((a) => (a === data ? reference : a)), '--job_id', String(task)],
        {
          stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream,
        },
      );
      expect(readFileSync(fresh.npzPath).equals(readFileSync(join(data, `simple_fig1_DAG_${task}.npz`)))).toBe(true);
    }
    process.stderr.write(
      `Slurm test: array of 4 with a cancel and a resubmit, a kill and a requeue, in ${seconds.toFixed(1)} s (task 1 cancelled after ${cancelledAt} of 60 draws, task 2 killed after ${killedAt})\n`,
    );
  });
});
