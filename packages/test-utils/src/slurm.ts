/**
 * A one-node Slurm cluster on localhost for tests of the job-array scripts: Debian's
 * slurm-wlm with auth/none, its own ports, state and spool in a temp folder, started with
 * `slurmctld -D` and `slurmd -D` and stopped by `stop()`. Needs root (auth/none runs jobs as
 * root); `slurmSkipReason()` says why a machine cannot run it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { join } from 'node:path';

/** Why this machine cannot start the cluster (slurm-wlm missing, not root), or undefined. */
export function slurmSkipReason(): string | undefined {
  const slurm = spawnSync('slurmctld', ['-V'], { encoding: 'utf8' });
  if (slurm.status !== 0) return 'slurmctld is not installed (Debian: slurm-wlm)';
  if (process.getuid?.() !== 0) return 'a one-node cluster with auth/none needs root';
  return undefined;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `done` every 200 ms; throws naming `what` after `seconds`. */
export async function waitFor(what: string, done: () => boolean, seconds: number): Promise<void> {
  for (let t = 0; t < seconds * 5; t++) {
    if (done()) return;
    await sleep(200);
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

export interface OneNodeSlurm {
  /** The environment that points Slurm's commands at this cluster (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm command (sbatch, squeue, scancel, scontrol, …) in `cwd`; its trimmed stdout, or a thrown error with its stderr. */
  run(cmd: string, args: string[], cwd?: string): string;
  /** Array tasks of `job` still queued or running, as 'id state' lines. */
  queued(job: string): string[];
  stop(): Promise<void>;
}

/** Starts the cluster with its files in `dir` and waits for the node to be idle. */
export async function startOneNodeSlurm(dir: string): Promise<OneNodeSlurm> {
  for (const d of ['state', 'spool']) mkdirSync(join(dir, d), { recursive: true });
  const host = hostname();
  const memMb = Math.floor((totalmem() / 2 ** 20) * 0.5);
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=mmmitest',
      `SlurmctldHost=${host}(127.0.0.1)`,
      'AuthType=auth/none',
      'CredType=cred/none',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core_Memory',
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      `SlurmctldPort=${await freePort()}`,
      `SlurmdPort=${await freePort()}`,
      'ReturnToService=2',
      'MpiDefault=none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${availableParallelism()} RealMemory=${memMb} State=UNKNOWN`,
      `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons: ChildProcess[] = ['slurmctld', 'slurmd'].map((daemon) => spawn(daemon, ['-D', '-f', conf], { env, stdio: 'ignore' }));
  const run = (cmd: string, args: string[], cwd?: string) => {
    const r = spawnSync(cmd, args, { env, encoding: 'utf8', cwd });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
    return r.stdout.trim();
  };
  const stop = async () => {
    for (const d of daemons) d.kill('SIGTERM');
    await Promise.all(daemons.map((d) => (d.exitCode !== null ? undefined : new Promise((r) => d.on('exit', r)))));
  };
  try {
    await waitFor('the node to be idle', () => spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout?.trim() === 'idle', 60);
  } catch (e) {
    await stop();
    throw e;
  }
  return { env, run, queued: (job) => run('squeue', ['-h', '-j', job, '-o', '%i %T']).split('\n').filter(Boolean), stop };
}
