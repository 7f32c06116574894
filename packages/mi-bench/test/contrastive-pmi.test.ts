/**
 * The exact pairwise PMI i(x_A; x_B) = log p(x_A, x_B) − log p(x_A) − log p(x_B), computed in
 * the structure's closed form (Woodbury and the determinant lemma), against a brute-force
 * dense Gaussian density (latents' dense Σ, a Cholesky factor, log N of the joint minus the
 * marginals) on tiny structures of every shape the generator makes: Fig. 1a (one shared θ
 * direction, all-ones templates), three modalities with shared local proto-latents and random
 * templates (a full K), and the sampling paradigm. Its mean over model draws is the exact MI.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '@mmmi/cli-kit';
import { denseSigma, latentModelFromTokens, mutualInformation, sampleBatch, type LatentStructure } from '@mmmi/latents';
import { SeededRandom } from '@mmmi/test-utils';
import { groupDensity, groupLogDensity, pairwisePmi } from '@mmmi/latents';
import { argsFile } from './helpers/tiny-dataset.js';

const structureOf = async (tokens: string[]): Promise<LatentStructure> => (await latentModelFromTokens(tokens)).structure;

const FIG1 = [`@${argsFile('simple_fig1_DAG.txt')}`, '--mod_dim', '3'];
const THREE = [
  '--generation_paradigm',
  'constructive',
  '--N_mod',
  '3',
  '--N_u',
  '3',
  '--mod_dim',
  '4',
  '--rho_arg',
  '[0.8,0.5,0.6]',
  '--DAG_ul',
  '[[1,1,0],[0,1,1],[1,0,1]]',
  '--N_u_theta',
  '2',
  '--eta_arg',
  '[1.0,0.5]',
  '--rho_theta_arg',
  '[0.7,0.4]',
  '--DAG_theta',
  '[[1,0],[1,1],[0,1]]',
  '--T_vectors_method',
  'random',
  '--alpha',
  '1.3',
  '--beta',
  '1.1',
];
const SAMPLING = ['--generation_paradigm', 'sampling', '--N_mod', '2', '--mod_dim', '3', '--cov_theta', '[0.3,0.5]', '--theta_var', '1.5'];

/** log N(x; 0, Σ) by a dense Cholesky factor of Σ (n×n). */
function denseLogDensity(sigma: Float64Array, n: number, x: Float64Array): number {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = sigma[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error('not positive definite');
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  let logDet = 0;
  let q = 0;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
    q += y[i] * y[i];
    logDet += 2 * Math.log(l[i * n + i]);
  }
  return -0.5 * (n * Math.log(2 * Math.PI) + logDet + q);
}

/** Σ of the modalities `mods` (dense, in the order given) and the draw's values of them. */
function denseGroup(m: LatentStructure, sigma: Float64Array, mods: number[]): { sub: Float64Array; n: number; index: number[] } {
  const d = m.modDim;
  const full = m.nMod * d + 1;
  const index = mods.flatMap((i) => Array.from({ length: d }, (_, t) => i * d + t));
  const n = index.length;
  const sub = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) sub[a * n + b] = sigma[index[a] * full + index[b]];
  return { sub, n, index };
}

/** Random latents for `count` draws, per modality count × d, and the same draws as rows of all N·d values. */
function randomDraws(m: LatentStructure, count: number, seed: number): { byMod: Map<number, Float64Array>; rows: Float64Array[] } {
  const rng = new SeededRandom(seed);
  const d = m.modDim;
  const rows = Array.from({ length: count }, () => Float64Array.from({ length: m.nMod * d }, () => 2 * rng.normal()));
  const byMod = new Map(
    Array.from({ length: m.nMod }, (_, i) => [i, Float64Array.from({ length: count * d }, (_, k) => rows[Math.floor(k / d)][i * d + (k % d)])]),
  );
  return { byMod, rows };
}

describe('exact pairwise PMI', () => {
  for (const [name, tokens, pairs] of [
    ['Fig. 1a (ones templates)', FIG1, [[[0], [1]]]],
    [
      'three modalities, shared local proto-latents, random templates',
      THREE,
      [
        [[0], [1]],
        [[0], [2]],
        [[1], [0, 2]],
      ],
    ],
    ['sampling paradigm', SAMPLING, [[[0], [1]]]],
  ] as const)
    it(`equals the dense Gaussian log-densities: ${name}`, async () => {
      const m = await structureOf([...tokens]);
      const sigma = denseSigma(m, 'sampling');
      const { byMod, rows } = randomDraws(m, 25, 7);
      const drawRows = Int32Array.from({ length: rows.length }, (_, i) => i);
      for (const [a, b] of pairs) {
        const got = pairwisePmi(m, byMod, drawRows, [...a], [...b]);
        const joint = denseGroup(m, sigma, [...a, ...b]);
        const ga = denseGroup(m, sigma, [...a]);
        const gb = denseGroup(m, sigma, [...b]);
        const pick = (x: Float64Array, idx: number[]) => Float64Array.from(idx, (k) => x[k]);
        rows.forEach((x, c) => {
          const want =
            denseLogDensity(joint.sub, joint.n, pick(x, joint.index)) -
            denseLogDensity(ga.sub, ga.n, pick(x, ga.index)) -
            denseLogDensity(gb.sub, gb.n, pick(x, gb.index));
          expect(Math.abs(got[c] - want)).toBeLessThan(1e-8 * Math.max(1, Math.abs(want)));
        });
        // the group's density alone, too
        const density = groupLogDensity(groupDensity(m, [...a]), m.modDim, byMod, drawRows);
        rows.forEach((x, c) => expect(density[c]).toBeCloseTo(denseLogDensity(ga.sub, ga.n, pick(x, ga.index)), 8));
      }
    });

  it('averages to the exact MI over model draws', async () => {
    const m = await structureOf(THREE);
    const count = 20000;
    const batch = sampleBatch(m, 3, 0, count);
    const d = m.modDim;
    const byMod = new Map(
      Array.from({ length: m.nMod }, (_, i) => [
        i,
        Float64Array.from({ length: count * d }, (_, k) => batch.x[(Math.floor(k / d) * m.nMod + i) * d + (k % d)]),
      ]),
    );
    const pmi = pairwisePmi(
      m,
      byMod,
      Int32Array.from({ length: count }, (_, i) => i),
      [0],
      [1],
    );
    const mean = pmi.reduce((s, v) => s + v, 0) / count;
    const sd = Math.sqrt(pmi.reduce((s, v) => s + (v - mean) ** 2, 0) / (count - 1));
    const truth = mutualInformation(m, { mods: [0], theta: false }, { mods: [1], theta: false });
    expect(truth).toBeGreaterThan(0.05);
    expect(Math.abs(mean - truth)).toBeLessThan((5 * sd) / Math.sqrt(count));
  });

  it('refuses overlapping groups and unknown modalities', async () => {
    const m = await structureOf(FIG1);
    const rows = Int32Array.from([0]);
    const { byMod } = randomDraws(m, 1, 1);
    expect(() => pairwisePmi(m, byMod, rows, [0], [0, 1])).toThrow(/X_1 is on both sides/);
    expect(() => pairwisePmi(m, byMod, rows, [0], [2])).toThrow(InputError);
    expect(() => groupDensity(m, [])).toThrow(/at least one modality/);
  });
});
