/**
 * Exact marginal whitening against dense algebra: Σ_ii^(−1/2) formed from a full
 * eigen-decomposition of the dense block (small d), whitened draws' covariance, and the MI
 * table and per-sample PMI recomputed densely on the whitened joint covariance.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpySync } from '@mmmi/formats';
import { tempDir } from '@mmmi/test-utils';
import { symmetricEigen } from '../src/eigen.js';
import { miTable, pointwiseMutualInformation } from '../src/mi.js';
import { latentModelFromTokens } from '../src/model.js';
import { sampleBatch } from '../src/sample.js';
import { denseSigma, imageBlock, type LatentStructure } from '../src/structure.js';
import { marginalWhitening } from '../src/whitening.js';
import { denseCmi, indexOf } from './dense-reference.js';

/** A^p of a symmetric positive definite dense matrix by its eigen-decomposition. */
function densePower(a: Float64Array, n: number, p: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  for (let e = 0; e < n; e++) {
    const f = values[e] ** p;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] += vectors![e * n + i] * f * vectors![e * n + j];
  }
  return out;
}

const CASES: Record<string, string[]> = {
  'ones templates, one θ proto-latent': ['--mod_dim', '6', '--N_mod', '2'],
  'random templates, two θ proto-latents, aligned': [
    '--mod_dim',
    '7',
    '--N_mod',
    '3',
    '--N_u',
    '3',
    '--DAG_ul',
    '[[1,0,0],[1,1,0],[0,1,1]]',
    '--rho_arg',
    '[1,0.9,0.8]',
    '--N_u_theta',
    '2',
    '--DAG_theta',
    '[[1,1],[1,1],[1,1]]',
    '--T_vectors_method',
    'random',
    '--rho_theta_arg',
    '[0.8,1.3]',
    '--eta_arg',
    '[1,0.5]',
    '--percentile_to_align',
    '0.95',
  ],
  'random templates, three θ proto-latents, two of them in modality 2': [
    '--mod_dim',
    '5',
    '--N_mod',
    '2',
    '--N_u_theta',
    '3',
    '--DAG_theta',
    '[[1,1,1],[1,0,1]]',
    '--T_vectors_method',
    'random',
    '--alpha',
    '1.4',
    '--beta',
    '0.8',
  ],
  'sampling paradigm, cov_images': [
    '--generation_paradigm',
    'sampling',
    '--mod_dim',
    '6',
    '--N_mod',
    '3',
    '--cov_images',
    '[[1,0.3,0.1],[0.3,1,0.2],[0.1,0.2,1]]',
    '--cov_theta',
    '[0.2,0.1,0.15]',
    '--theta_var',
    '2',
  ],
  'sampling paradigm, conditionally independent': ['--generation_paradigm', 'sampling', '--mod_dim', '6', '--cov_seed', '3', '--epsilon', '0.1'],
};

/** Image-like templates as a .npy (N_u_theta, d, N): smooth, positive, in [0, 1], like pixel values of two pictures per θ proto-latent. */
function imageTemplates(nUTheta: number, d: number, nMod: number): string {
  const path = join(tempDir('mmmi-whiten-'), 'T.npy');
  const data = new Float64Array(nUTheta * d * nMod);
  for (let k = 0; k < nUTheta; k++)
    for (let t = 0; t < d; t++) for (let i = 0; i < nMod; i++) data[(k * d + t) * nMod + i] = 0.5 + 0.45 * Math.sin(0.7 * t * (k + 1) + 1.3 * i + k);
  writeNpySync(path, { shape: [nUTheta, d, nMod], data });
  return path;
}

async function model(tokens: string[]): Promise<LatentStructure> {
  return (await latentModelFromTokens(tokens)).structure;
}

describe('marginal whitening', () => {
  it('Σ_ii^(−1/2) equals the dense matrix power with image-like templates (.npy, values in [0, 1]), two θ proto-latents', async () => {
    const d = 8;
    const m = await model([
      '--mod_dim',
      String(d),
      '--N_mod',
      '2',
      '--N_u_theta',
      '2',
      '--T_vectors_method',
      imageTemplates(2, d, 2),
      '--rho_theta_arg',
      '[0.9,0.6]',
    ]);
    const whitenings = marginalWhitening(m);
    for (let i = 0; i < 2; i++) {
      expect(whitenings[i].spanDim).toBe(2);
      const minusHalf = densePower(imageBlock(m, i, i), d, -0.5);
      const unit = new Float64Array(d);
      const col = new Float64Array(d);
      for (let t = 0; t < d; t++) {
        unit.fill(0);
        unit[t] = 1;
        whitenings[i].whiten(unit, 0, col, 0);
        for (let a = 0; a < d; a++) expect(col[a]).toBeCloseTo(minusHalf[a * d + t], 10);
      }
    }
  });

  for (const [name, tokens] of Object.entries(CASES)) {
    it(`Σ_ii^(∓1/2) equal the dense matrix powers: ${name}`, async () => {
      const m = await model(tokens);
      const d = m.modDim;
      const whitenings = marginalWhitening(m);
      for (let i = 0; i < m.nMod; i++) {
        const block = imageBlock(m, i, i);
        const scale = Math.max(...block.map(Math.abs));
        const minusHalf = densePower(block, d, -0.5);
        const plusHalf = densePower(block, d, 0.5);
        const w = whitenings[i];
        const unit = new Float64Array(d);
        const col = new Float64Array(d);
        for (let t = 0; t < d; t++) {
          unit.fill(0);
          unit[t] = 1;
          w.whiten(unit, 0, col, 0);
          for (let a = 0; a < d; a++) expect(col[a]).toBeCloseTo(minusHalf[a * d + t], 10);
          w.unwhiten(unit, 0, col, 0);
          for (let a = 0; a < d; a++) expect(col[a] / Math.sqrt(scale)).toBeCloseTo(plusHalf[a * d + t] / Math.sqrt(scale), 10);
        }
      }
    });
  }

  it('the image templates of the galaxy files, at full size: whiten ∘ unwhiten is the identity and Σ^(−1/2)·Σ·Σ^(−1/2) = I on probes', async () => {
    const m = await model(['@../../generation_arguments/galaxy_rot_curve_0_1_DAG.txt']);
    const d = m.modDim;
    const whitenings = marginalWhitening(m);
    const x = new Float64Array(d);
    for (let t = 0; t < d; t++) x[t] = Math.sin(0.37 * t) + 0.1 * (t % 7);
    for (const w of whitenings) {
      const there = new Float64Array(d);
      const back = new Float64Array(d);
      w.whiten(x, 0, there, 0);
      w.unwhiten(there, 0, back, 0);
      let err = 0;
      for (let t = 0; t < d; t++) err = Math.max(err, Math.abs(back[t] - x[t]));
      expect(err).toBeLessThan(1e-9);
      expect(w.spanDim).toBeGreaterThan(0);
    }
  });

  it('whitened draws have covariance close to I (constructive, random templates, aligned)', async () => {
    const m = await model(CASES['random templates, two θ proto-latents, aligned']);
    const d = m.modDim;
    const n = 20000;
    const batch = sampleBatch(m, 11, 0, n);
    const whitenings = marginalWhitening(m);
    const w = new Float64Array(batch.x.length);
    for (let c = 0; c < n; c++) for (let i = 0; i < m.nMod; i++) whitenings[i].whiten(batch.x, (c * m.nMod + i) * d, w, (c * m.nMod + i) * d);
    for (let i = 0; i < m.nMod; i++) {
      for (let a = 0; a < d; a++)
        for (let b = 0; b < d; b++) {
          let s = 0;
          for (let c = 0; c < n; c++) s += w[(c * m.nMod + i) * d + a] * w[(c * m.nMod + i) * d + b];
          // the sample covariance of n unit normals: sd 1/√n off the diagonal, √(2/n) on it; 5 sd
          expect(Math.abs(s / n - (a === b ? 1 : 0))).toBeLessThan(5 * Math.sqrt(2 / n));
        }
    }
  });

  for (const name of ['random templates, two θ proto-latents, aligned', 'sampling paradigm, cov_images']) {
    it(`the MI table and per-sample PMI are unchanged: ${name}`, async () => {
      const m = await model(CASES[name]);
      const d = m.modDim;
      const N = m.nMod;
      const n = N * d + 1;
      // the whitened joint covariance D·Σ·Dᵀ, D = diag(Σ_11^(−1/2) … Σ_NN^(−1/2), 1), order [X_1 … X_N, θ]
      const sigma = denseSigma(m, 'sampling');
      const whitenings = marginalWhitening(m);
      const dMat = new Float64Array(n * n);
      dMat[n * n - 1] = 1;
      const unit = new Float64Array(d);
      const col = new Float64Array(d);
      for (let i = 0; i < N; i++)
        for (let t = 0; t < d; t++) {
          unit.fill(0);
          unit[t] = 1;
          whitenings[i].whiten(unit, 0, col, 0);
          for (let a = 0; a < d; a++) dMat[(i * d + a) * n + i * d + t] = col[a];
        }
      const tmp = new Float64Array(n * n);
      const white = new Float64Array(n * n);
      for (let a = 0; a < n; a++)
        for (let k = 0; k < n; k++) if (dMat[a * n + k] !== 0) for (let b = 0; b < n; b++) tmp[a * n + b] += dMat[a * n + k] * sigma[k * n + b];
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) for (let k = 0; k < n; k++) white[a * n + b] += tmp[a * n + k] * dMat[b * n + k];
      const at = indexOf(d, N, 'sampling');
      for (let i = 0; i < N; i++)
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) expect(white[(i * d + a) * n + i * d + b]).toBeCloseTo(a === b ? 1 : 0, 10);
      const table = miTable(m);
      const none = { mods: [] as number[], theta: false };
      const all = Array.from({ length: N }, (_, i) => i);
      const dense = (a: { mods: number[]; theta: boolean }, b: { mods: number[]; theta: boolean }, c = none) => denseCmi(white, n, at, a, b, c) as number;
      for (let i = 0; i < N; i++) expect(dense({ mods: [i], theta: false }, { mods: [], theta: true })).toBeCloseTo(table.values[i], 8);
      for (let j = 1; j < N; j++) expect(dense({ mods: [0], theta: false }, { mods: [j], theta: false })).toBeCloseTo(table.values[N + j - 1], 8);
      // the table's I(X; θ) is the reference's I((X_1, X_2); θ)
      expect(dense({ mods: [0, 1], theta: false }, { mods: [], theta: true })).toBeCloseTo(table.values[table.labels.indexOf('I(X; θ)')], 8);
      expect(dense({ mods: [0], theta: false }, { mods: [1], theta: false }, { mods: [], theta: true })).toBeCloseTo(
        table.values[table.labels.indexOf('I(X1; X2 | θ)')],
        8,
      );

      // per-sample PMI: i(θ; w) from the whitened Gaussian equals i(θ; z) from the structure
      const draws = 50;
      const batch = sampleBatch(m, 5, 0, draws);
      const exact = pointwiseMutualInformation(m, batch.theta, batch.x, draws);
      const xIdx = at(all, false);
      const sxx = new Float64Array(xIdx.length * xIdx.length);
      xIdx.forEach((p, a) => xIdx.forEach((q, b) => (sxx[a * xIdx.length + b] = white[p * n + q])));
      const sInv = densePower(sxx, xIdx.length, -1);
      const sxt = xIdx.map((p) => white[p * n + n - 1]);
      const h = xIdx.map((_, a) => sxt.reduce((s, v, b) => s + sInv[a * xIdx.length + b] * v, 0));
      const vTheta = white[n * n - 1];
      const vCond = vTheta - h.reduce((s, v, a) => s + v * sxt[a], 0);
      const wx = new Float64Array(N * d);
      for (let c = 0; c < draws; c++) {
        for (let i = 0; i < N; i++) whitenings[i].whiten(batch.x, (c * N + i) * d, wx, i * d);
        const mu = h.reduce((s, v, a) => s + v * wx[a], 0);
        const th = batch.theta[c];
        const pmi = -0.5 * Math.log(vCond / vTheta) - (th - mu) ** 2 / (2 * vCond) + th ** 2 / (2 * vTheta);
        expect(pmi).toBeCloseTo(exact[c], 8);
      }
    });
  }

  it('a modality without a local proto-latent is refused, naming why', async () => {
    const m = await model(['--mod_dim', '6', '--N_mod', '2', '--N_u', '1', '--DAG_ul', '[[1],[0]]']);
    expect(() => marginalWhitening(m)).toThrow(/modality 2 cannot be whitened.*no local proto-latent.*--whiten off/);
  });
});
