import { UsageError, InputError } from '@mmmi/cli-kit';
import { describe, expect, it } from 'vitest';
import { generationOptions, parseGenerationArgs } from '../src/options.js';

const options = (...tokens: string[]) => {
  const parsed = parseGenerationArgs(['--N_mod', '2', '--transform', 'identity', ...tokens]);
  return generationOptions(parsed, 2, [1, 6]);
};

describe('generation options refuse what would write elsewhere or clash with the array', () => {
  it('a dataset name is a file-name prefix, never a path', () => {
    for (const name of ['../escape', 'a/b', '', '.hidden', 'x'.repeat(200)]) expect(() => options('--dataset_name', name)).toThrow(UsageError);
    expect(options('--dataset_name', 'fig1_ρ0.5').datasetName).toBe('fig1_ρ0.5');
  });

  it('a job id of an array of N jobs is below N', () => {
    expect(() => options('--job_id', '4', '--num_jobs', '4')).toThrow(InputError);
    expect(() => options('--job_id', '4', '--num_jobs', '4')).toThrow(/--job_id 4 with --num_jobs 4: job ids of an array of 4 run from 0 to 3/);
    expect(options('--job_id', '3', '--num_jobs', '4').jobId).toBe(3);
  });
});
