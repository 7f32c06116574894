/**
 * A generation job stopped by SIGINT (Ctrl-C) or SIGTERM (kill, scancel, preemption), in real
 * processes: it checkpoints its workspace, releases the shard lock and exits 130 / 143; the
 * rerun resumes and the shard has the bytes of an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/generate.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const built = existsSync(join(repo, 'packages/dataset-generation/dist/cli.js'));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };

const SIZE = 4000;
const args = (dir: string) => [
  `@${repo}generation_arguments/simple_fig1_DAG.txt`,
  '--transform',
  'identity',
  '--mod_dim',
  '16',
  '--dataset_size',
  String(SIZE),
  // 4 draws per batch (the batch size counts images, 2 per draw)
  '--batch_size',
  '8',
  '--preview',
  '0',
  '--dataset_loc',
  dir,
];

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs mmmi-generate; with `stop`, sends it once its workspace has recorded some draws. */
function runGenerate(dir: string, stop?: NodeJS.Signals, env: NodeJS.ProcessEnv = {}): Promise<Ended & { drawsBeforeStop?: number }> {
  const progress = join(dir, '.simple_fig1_DAG_0.partial', 'progress.json');
  const recorded = () => {
    try {
      return (JSON.parse(readFileSync(progress, 'utf8')) as { drawsDone: number }).drawsDone;
    } catch {
      return 0; // not there yet, or between its write and its rename
    }
  };
  const child = spawn(process.execPath, [join(repo, 'packages/dataset-generation/bin/mmmi-generate.js'), ...args(dir)], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let drawsBeforeStop: number | undefined;
  const poll = stop
    ? setInterval(() => {
        const draws = recorded();
        if (draws > 0 && drawsBeforeStop === undefined) {
          drawsBeforeStop = draws;
          child.kill(stop);
        }
      }, 20)
    : undefined;
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stderr, drawsBeforeStop });
    }),
  );
}

describe.skipIf(!built)('mmmi-generate stopped by a signal', { timeout: 900_000 }, () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s mid-run: workspace checkpointed, lock released, exit %i; the rerun resumes to the bytes of an uninterrupted run', async (signal, code) => {
    const dir = tempDir('mmmi-signal-');
    // a pause after each batch keeps the job running for seconds, so the signal lands mid-run on any machine
    const stopped = await runGenerate(dir, signal, { MMMI_BATCH_DELAY_MS: '5' });
    expect([stopped.code, stopped.signal]).toEqual([code, null]);
    const lines = stopped.stderr.split('\n');
    expect(lines.filter((l) => l.includes('stopping on'))).toEqual([
      `mmmi-generate: stopping on ${signal}: checkpointing ${join(dir, '.simple_fig1_DAG_0.partial')} (rerun the same command to resume); releasing ${join(dir, '.simple_fig1_DAG_0.lock')}`,
    ]);
    expect(stopped.stderr).not.toMatch(/error:|^\s+at /m);
    // nothing but the workspace, the log and the arguments: no lock, no temporary file, no shard
    expect(readdirSync(dir).sort()).toEqual(['.simple_fig1_DAG_0.partial', 'dataset_gen_args.json', 'simple_fig1_DAG_0.log']);
    // the record was written on the stop: it counts what the log says was kept, at least what was recorded before the signal
    const kept = Number(/stopped by \w+: (\d+) of 4000 samples are kept in /.exec(readFileSync(join(dir, 'simple_fig1_DAG_0.log'), 'utf8'))?.[1]);
    const recorded = (JSON.parse(readFileSync(join(dir, '.simple_fig1_DAG_0.partial', 'progress.json'), 'utf8')) as { drawsDone: number }).drawsDone;
    expect(recorded).toBe(kept);
    expect(recorded).toBeGreaterThanOrEqual(stopped.drawsBeforeStop!);
    expect(recorded).toBeLessThan(SIZE);

    const rerun = await runGenerate(dir);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain(`resuming after ${recorded} samples`);
    expect(readdirSync(dir).sort()).toEqual(['dataset_gen_args.json', 'simple_fig1_DAG_0.log', 'simple_fig1_DAG_0.manifest.json', 'simple_fig1_DAG_0.npz']);
    const fresh = await generate(args(tempDir('mmmi-signal-ref-')), quiet);
    expect(readFileSync(join(dir, 'simple_fig1_DAG_0.npz')).equals(readFileSync(fresh.npzPath))).toBe(true);
  });
});
