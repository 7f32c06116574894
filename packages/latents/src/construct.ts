/**
 * Specification → structure, for both paradigms, with the positive-definiteness checks
 * that must fail before any sampling starts.
 */
import { InputError } from '@mmmi/cli-kit';
import { symmetricEigen } from './eigen.js';
import { cholesky, identity } from './linalg.js';
import { solveGroup, thetaConditionalVariance } from './logdet.js';
import { Rng, STREAMS } from './rng.js';
import type { ConstructiveSpec, SamplingSpec } from './spec.js';
import { basisDot, gramOfLoadings, type LatentStructure, type LowRankColumn } from './structure.js';
import type { BasisVector, TemplateSet } from './templates.js';

/**
 * Constructive paradigm (SPEC §1): c[i,k] = DAG_theta[i][k]·rho_theta[k]·β^(−i),
 * g[i,l] = DAG_ul[i][l]·rho[l]·α^(−|i−l|), K = G·Gᵀ, U column k = (c[i,k]·T[k,i])_i, S = I.
 */
export function constructiveStructure(spec: ConstructiveSpec, templates: TemplateSet): LatentStructure {
  const { nMod, nU, nUTheta } = spec;
  const g = new Float64Array(nMod * nU);
  for (let i = 0; i < nMod; i++) for (let l = 0; l < nU; l++) g[i * nU + l] = spec.dagUl[i][l] * spec.rho[l] * spec.alpha ** -Math.abs(i - l);
  const columns: LowRankColumn[] = [];
  for (let k = 0; k < nUTheta; k++) {
    const coef = new Float64Array(nMod);
    const vector = new Int32Array(nMod);
    for (let i = 0; i < nMod; i++) {
      coef[i] = spec.dagTheta[i][k] * spec.rhoTheta[k] * spec.beta ** -i;
      vector[i] = templates.index[k][i];
    }
    columns.push({ coef, vector });
  }
  const eta = Float64Array.from(spec.eta);
  let thetaVar = 0;
  for (const e of eta) thetaVar += e * e;
  return {
    paradigm: 'constructive',
    nMod,
    modDim: spec.modDim,
    K: gramOfLoadings(g, nMod, nU),
    vectors: templates.vectors,
    columns,
    core: identity(nUTheta),
    coreIsIdentity: true,
    thetaCoef: eta,
    thetaVar,
    scale: 1,
    loadings: { nU, g },
  };
}

/**
 * Sampling paradigm (SPEC §2), order [X_1…X_N, θ]:
 * - with cov_images C: Σ_XX = (C + εI) ⊗ I_d, Σ_Xθ = (σ_iθ)_i, Var θ = theta_var + ε;
 * - without (N = 2): Σ_ii = (1+ε)·I_d, Σ_12 = σ_1θσ_2θᵀ/v, Var θ = v + ε, v = theta_var or
 *   max‖σ_iθ‖² + delta.
 * σ_iθ is cov_theta[i]·1_d, or a standard normal vector (cov_seed) when cov_theta is absent.
 */
export function samplingStructure(spec: SamplingSpec): LatentStructure {
  const { nMod, modDim: d, epsilon } = spec;
  const { vectors, sigmaCoef, sigmaVector } = crossCovariances(spec);
  const sqNorm = (i: number) => sigmaCoef[i] * sigmaCoef[i] * basisDot(vectors[sigmaVector[i]], vectors[sigmaVector[i]], d);
  let m: LatentStructure;
  if (spec.covImages) {
    const K = new Float64Array(nMod * nMod);
    for (let i = 0; i < nMod; i++) for (let j = 0; j < nMod; j++) K[i * nMod + j] = spec.covImages[i][j] + (i === j ? epsilon : 0);
    if (cholesky(K, nMod).failedAt >= 0) {
      throw new InputError(
        `--cov_images ${JSON.stringify(spec.covImages)} (+ epsilon ${epsilon} on the diagonal) is not positive definite, so Σ is not a covariance`,
      );
    }
    m = {
      paradigm: 'sampling',
      nMod,
      modDim: d,
      K,
      vectors,
      columns: [{ coef: Float64Array.from(sigmaCoef), vector: Int32Array.from(sigmaVector) }],
      core: new Float64Array(1),
      coreIsIdentity: false,
      thetaCoef: Float64Array.of(1),
      thetaVar: (spec.thetaVar ?? 1) + epsilon,
      scale: 1,
    };
  } else {
    const maxNorm = Math.max(sqNorm(0), sqNorm(1));
    let v: number;
    if (spec.thetaVar === null) v = maxNorm + spec.delta;
    else if (spec.thetaVar > maxNorm) v = spec.thetaVar;
    else {
      throw new InputError(
        `--theta_var ${spec.thetaVar}: the conditionally independent construction needs θ's variance above max(‖σ_1θ‖², ‖σ_2θ‖²) = ${maxNorm}; use a larger --theta_var or leave it out (then max + delta)`,
      );
    }
    const K = identity(2);
    K[0] += epsilon;
    K[3] += epsilon;
    m = {
      paradigm: 'sampling',
      nMod,
      modDim: d,
      K,
      vectors,
      columns: [
        { coef: Float64Array.of(sigmaCoef[0], 0), vector: Int32Array.of(sigmaVector[0], sigmaVector[0]) },
        { coef: Float64Array.of(0, sigmaCoef[1]), vector: Int32Array.of(sigmaVector[1], sigmaVector[1]) },
      ],
      core: Float64Array.of(0, 1 / v, 1 / v, 0),
      coreIsIdentity: false,
      thetaCoef: Float64Array.of(1, 1),
      thetaVar: v + epsilon,
      scale: 1,
    };
  }
  checkSamplingPositiveDefinite(m);
  return m;
}

function crossCovariances(spec: SamplingSpec): { vectors: BasisVector[]; sigmaCoef: number[]; sigmaVector: number[] } {
  const { nMod, modDim: d, covTheta } = spec;
  if (covTheta === null) {
    const rng = new Rng(spec.covSeed, STREAMS.covTheta);
    const vectors: BasisVector[] = [];
    for (let i = 0; i < nMod; i++) {
      const data = new Float64Array(d);
      rng.fillNormal(data);
      vectors.push({ kind: 'dense', data });
    }
    return { vectors, sigmaCoef: new Array<number>(nMod).fill(1), sigmaVector: vectors.map((_, i) => i) };
  }
  const values = typeof covTheta === 'number' ? new Array<number>(nMod).fill(covTheta) : covTheta;
  return { vectors: [{ kind: 'const', value: 1 }], sigmaCoef: [...values], sigmaVector: new Array<number>(nMod).fill(0) };
}

/**
 * Σ_XX must be positive definite and θ's variance must exceed the Schur bound
 * bᵀΣ_XX⁻¹b; the error gives the bound so the user knows what theta_var would work.
 */
function checkSamplingPositiveDefinite(m: LatentStructure): void {
  const all = Array.from({ length: m.nMod }, (_, i) => i);
  let g;
  try {
    g = solveGroup(m, all);
  } catch (e) {
    throw new InputError(`the sampling-paradigm covariance is not positive definite: ${(e as Error).message}`);
  }
  if (!g) throw new InputError('the sampling-paradigm image covariance is not positive definite');
  // For an indefinite core, a positive |I + S·M| is necessary but not sufficient: check the
  // eigenvalues of Σ_XX restricted to the span of U (the rest of the spectrum is K's).
  if (!m.coreIsIdentity && m.core.some((x) => x !== 0)) {
    const reduced = reducedImageCovariance(m);
    const { values } = symmetricEigen(reduced.matrix, reduced.n);
    const min = Math.min(...values);
    if (!(min > 0)) throw new InputError(`the sampling-paradigm image covariance Σ_XX is not positive definite (smallest eigenvalue ${min})`);
  }
  const cond = thetaConditionalVariance(m, g);
  if (!(cond > 0)) {
    const bound = m.thetaVar - cond;
    throw new InputError(
      `Σ is not positive definite: θ's variance (theta_var + epsilon = ${m.thetaVar}) must exceed the Schur bound bᵀΣ_XX⁻¹b = ${bound}; increase --theta_var above ${bound}`,
    );
  }
}

/**
 * Σ_XX/s² restricted to R^N ⊗ span(basis vectors): K ⊗ I_m + Ũ·S·Ũᵀ with Ũ in an
 * orthonormal basis of the span. Its eigenvalues, with K's eigenvalues repeated d − m
 * times, are the whole spectrum of Σ_XX/s².
 */
export function reducedImageCovariance(m: LatentStructure): { matrix: Float64Array; n: number; spanDim: number } {
  const used = [...new Set(m.columns.flatMap((c, k) => Array.from(c.vector).filter((_, i) => m.columns[k].coef[i] !== 0)))];
  const p = used.length;
  const gram = new Float64Array(p * p);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) gram[a * p + b] = basisDot(m.vectors[used[a]], m.vectors[used[b]], m.modDim);
  const { values, vectors } = symmetricEigen(gram, p);
  const maxEig = Math.max(0, ...values);
  const keep: number[] = [];
  values.forEach((v, i) => {
    if (v > 1e-12 * maxEig * Math.max(p, 1)) keep.push(i);
  });
  const dim = keep.length;
  // coordinates of used vector a in the orthonormal basis: λ_j^(−1/2)·(Eᵀ·G)[j, a], E[b, j] = vectors[j·p + b]
  const coords = new Float64Array(dim * p);
  keep.forEach((j, row) => {
    for (let a = 0; a < p; a++) {
      let acc = 0;
      for (let b = 0; b < p; b++) acc += vectors[j * p + b] * gram[b * p + a];
      coords[row * p + a] = acc / Math.sqrt(values[j]);
    }
  });
  const N = m.nMod;
  const n = N * dim;
  const r = m.columns.length;
  const ut = new Float64Array(n * r);
  m.columns.forEach((col, k) => {
    for (let i = 0; i < N; i++) {
      if (col.coef[i] === 0) continue;
      const a = used.indexOf(col.vector[i]);
      for (let t = 0; t < dim; t++) ut[(i * dim + t) * r + k] = col.coef[i] * coords[t * p + a];
    }
  });
  const matrix = new Float64Array(n * n);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) for (let t = 0; t < dim; t++) matrix[(i * dim + t) * n + j * dim + t] = m.K[i * N + j];
  for (let x = 0; x < n; x++)
    for (let y = 0; y < n; y++) {
      let acc = 0;
      for (let k = 0; k < r; k++) for (let q = 0; q < r; q++) acc += ut[x * r + k] * m.core[k * r + q] * ut[y * r + q];
      matrix[x * n + y] += acc;
    }
  return { matrix, n, spanDim: dim };
}
