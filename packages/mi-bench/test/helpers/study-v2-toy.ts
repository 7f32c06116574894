/**
 * The v2 study at a toy size, for its tests (one machine and Slurm arrays alike): d = 4, the
 * tanh map, 2 ρ_θ × the latents × both protocols × 2 estimators = 8 units, 800 draws, 20 steps
 * of a critic 16 wide. The flags are the same settings as a command line.
 */
import type { V2StudyOptions } from '../../src/study/v2/command.js';

export function toyV2Options(out: string, over: Partial<V2StudyOptions> = {}): V2StudyOptions {
  return {
    out,
    overwrite: false,
    stage: 'all',
    jobId: 0,
    numJobs: 1,
    rhos: [0.05, 0.1],
    inputs: ['latents'],
    protocols: ['held-out', 'fork'],
    estimators: ['nwj', 'infonce'],
    draws: 800,
    steps: 20,
    criticHidden: 16,
    map: 'tanh',
    threads: 1,
    seed: 0,
    modDim: 4,
    command: 'mmmi-bench study --preset paper-v2 (test)',
    ...over,
  };
}

export const TOY_V2_FLAGS: readonly string[] = [
  '--map',
  'tanh',
  '--mod_dim',
  '4',
  '--rho_theta',
  '0.05,0.1',
  '--inputs',
  'latents',
  '--protocols',
  'held-out,fork',
  '--estimators',
  'nwj,infonce',
  '--draws',
  '800',
  '--steps',
  '20',
  '--critic_hidden',
  '16',
  '--threads',
  '1',
];
