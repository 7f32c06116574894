/** Bad inputs of the #25 commands: the v2 study preset and the contrastive command. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Case } from './case.js';

const v2 = (...extra: string[]) => ['study', '--preset', 'paper-v2', '--out', 'DIR/v2', '--map', 'tanh', '--mod_dim', '4', ...extra];
/** A refusal must come before the study made anything. */
const nothingMade = (dir: string) =>
  existsSync(join(dir, 'v2', 'units')) || existsSync(join(dir, 'v2', 'datasets'))
    ? { outcome: 'silent' as const, why: 'the study wrote datasets or units before refusing' }
    : undefined;

export const cases: Case[] = [
  { name: 'studies: v2 unknown estimator', cli: 'bench', args: v2('--estimators', 'nwj,kde'), check: (dir) => nothingMade(dir) },
  { name: 'studies: v2 unknown input', cli: 'bench', args: v2('--inputs', 'pca8'), check: (dir) => nothingMade(dir) },
  { name: 'studies: v2 unknown protocol', cli: 'bench', args: v2('--protocols', 'fork,best'), check: (dir) => nothingMade(dir) },
  { name: 'studies: v2 ρ_θ outside (0, 1)', cli: 'bench', args: v2('--rho_theta', '0.01,1.5'), check: (dir) => nothingMade(dir) },
  { name: 'studies: v2 unknown stage', cli: 'bench', args: v2('--stage', 'merge') },
  { name: 'studies: v2 array without a stage', cli: 'bench', args: v2('--num_jobs', '4', '--job_id', '1'), check: (dir) => nothingMade(dir) },
  {
    name: 'studies: v2 job id beyond the array',
    cli: 'bench',
    args: v2('--stage', 'estimate', '--num_jobs', '4', '--job_id', '4'),
    check: (dir) => nothingMade(dir),
  },
  { name: 'studies: v2 too few draws for the critic', cli: 'bench', args: v2('--draws', '40'), check: (dir) => nothingMade(dir) },
  {
    name: 'studies: v2 flow at another image size',
    cli: 'bench',
    args: ['study', '--preset', 'paper-v2', '--out', 'DIR/v2', '--map', 'flow', '--mod_dim', '16'],
  },
  { name: 'studies: v2 report before any estimate', cli: 'bench', args: v2('--stage', 'report') },
  { name: 'studies: unknown study preset', cli: 'bench', args: ['study', '--preset', 'paper-v3', '--out', 'DIR/v2'] },
  { name: 'studies: contrastive without a grid', cli: 'bench', args: ['contrastive', '--out', 'DIR/cx'] },
  { name: 'studies: contrastive unreachable target', cli: 'bench', args: ['contrastive', '--targets', 'I(X1;X2)=5000', '--mod_dim', '4', '--out', 'DIR/cx'] },
  { name: 'studies: contrastive on a folder without a dataset', cli: 'bench', args: ['contrastive', '--data', 'DIR', '--out', 'DIR/cx'] },
];
