/**
 * The v2 study's job arrays on a real scheduler: environments/slurm/study-v2.sh submits the
 * three stages (generate: one task per ρ_θ dataset; estimate: 3 tasks; report: one) chained
 * by afterok to Debian's slurm-wlm as a one-node cluster on localhost. The report covers every
 * unit and each unit's estimate equals the one-machine run's; a task resubmitted after the
 * study finished reuses its units. Toy size (d = 4, tanh map, 2 ρ_θ × 1 input × 2 protocols ×
 * 2 estimators). Skipped, with the reason, where slurmctld is not installed (.ci/run installs
 * it) or the packages are not built.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { slurmSkipReason, startOneNodeSlurm, tempDir, waitFor, type OneNodeSlurm } from '@mmmi/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v2StudyCommand } from '../src/study/v2/command.js';
import { TOY_V2_FLAGS, toyV2Options } from './helpers/study-v2-toy.js';
import type { V2UnitResult } from '../src/study/v2/run-unit.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const built = existsSync(join(repo, 'packages/mi-bench/dist/cli.js'));
const skipReason = slurmSkipReason() ?? (!built ? 'the package is not built' : undefined);
if (skipReason) process.stderr.write(`Slurm study test skipped: ${skipReason}\n`);

let cluster: OneNodeSlurm;
const dir = tempDir('mmmi-slurm-study-');

describe.skipIf(skipReason !== undefined)('v2 study as Slurm job arrays (slurm-wlm, one node on localhost)', { timeout: 1_500_000 }, () => {
  beforeAll(async () => {
    cluster = await startOneNodeSlurm(join(dir, 'slurm'));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('study-v2.sh: generate, estimate over 3 tasks and report, chained; the units equal a one-machine run', async () => {
    const out = join(dir, 'array');
    const logDir = join(dir, 'logs');
    mkdirSync(logDir, { recursive: true });
    // the script asks for 2 CPUs and 8 GB a task: this one-node cluster has less to give
    const sbatch = `--cpus-per-task=1 --mem=500M --output=${logDir}/%x_%A_%a.out`;
    const r = spawnSync('bash', ['environments/slurm/study-v2.sh', out, '3', ...TOY_V2_FLAGS], {
      cwd: repo,
      env: { ...cluster.env, MMMI_SBATCH: sbatch },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const submitted = r.stdout;
    const jobs = [...submitted.matchAll(/job (\d+)/g)].map((m) => m[1]);
    expect(jobs, submitted).toHaveLength(3);
    const logs = () =>
      existsSync(logDir)
        ? readdirSync(logDir)
            .map((f) => `${f}: ${readFileSync(join(logDir, f), 'utf8').slice(-800)}`)
            .join('\n')
        : '';
    await waitFor('the three arrays to finish', () => jobs.every((j) => cluster.queued(j).length === 0), 1200).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    expect(existsSync(join(out, 'README.md')), logs()).toBe(true);
    const units = readdirSync(join(out, 'units')).sort();
    expect(units).toHaveLength(8);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('Results: 8 of 8 estimates');

    const single = join(dir, 'single');
    await v2StudyCommand(toyV2Options(single, { stream: null, say: () => {} }));
    for (const f of units) {
      const a = JSON.parse(readFileSync(join(out, 'units', f), 'utf8')) as V2UnitResult;
      const b = JSON.parse(readFileSync(join(single, 'units', f), 'utf8')) as V2UnitResult;
      expect([a.estimate, a.truth], f).toEqual([b.estimate, b.truth]);
    }
  });
});
