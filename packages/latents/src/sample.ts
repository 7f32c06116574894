/**
 * Exact sampling of (θ, X_1 … X_N).
 *
 * Constructive models are sampled as the reference does, l = s·A·u, from the proto-latents:
 * O(batch·N·d·(N_u + N_u_theta)). Other structures use a structured square root:
 * with L_K the Cholesky factor of K, Ũ = (L_K⁻¹ ⊗ I)·U = Q·R (thin QR),
 *   Σ_XX/s² = (L_K ⊗ I)·(I + Q·(F² − I)·Qᵀ)·(L_K ⊗ I)ᵀ,  F = (I + R·S·Rᵀ)^{1/2},
 * so x = s·(L_K ⊗ I)·(g + Q·(F − I)·Qᵀg), then θ | x ~ N(hᵀx, s²·c).
 *
 * Batch b of a job draws from its own stream (seed, FIRST_BATCH + b): batches can be
 * regenerated in any order and a resumed job produces the same bytes.
 */
import { cholesky, symmetricEigen } from './linalg.js';
import { solveGroup, thetaConditionalVariance } from './logdet.js';
import { luSolve } from './linalg.js';
import { Rng, STREAMS } from './rng.js';
import { addScaledBasis, rank, type LatentStructure } from './structure.js';

export interface LatentBatch {
  count: number;
  nMod: number;
  modDim: number;
  /** θ per sample (count). */
  theta: Float64Array;
  /** Modality latents, count × N × d, each modality channel-first (3, 32, 32 for d = 3072). */
  x: Float64Array;
}

export interface Sampler {
  sample(count: number, rng: Rng): LatentBatch;
}

export function createSampler(m: LatentStructure): Sampler {
  return m.loadings ? new ProtoLatentSampler(m) : new StructuredSampler(m);
}

const samplers = new WeakMap<LatentStructure, Sampler>();

/** Draw batch `batchIndex` of a job with seed `seed` (deterministic, independent of other batches). */
export function sampleBatch(m: LatentStructure, seed: number, batchIndex: number, count: number): LatentBatch {
  let s = samplers.get(m);
  if (!s) {
    s = createSampler(m);
    samplers.set(m, s);
  }
  return s.sample(count, new Rng(seed, STREAMS.firstBatch + batchIndex));
}

class ProtoLatentSampler implements Sampler {
  constructor(private readonly m: LatentStructure) {}

  sample(count: number, rng: Rng): LatentBatch {
    const m = this.m;
    const { nMod: N, modDim: d, scale } = m;
    const { nU, g } = m.loadings!;
    const r = rank(m);
    const theta = new Float64Array(count);
    const x = new Float64Array(count * N * d);
    const uTheta = new Float64Array(r);
    const u = new Float64Array(nU * d);
    for (let c = 0; c < count; c++) {
      rng.fillNormal(uTheta);
      rng.fillNormal(u);
      let th = 0;
      for (let k = 0; k < r; k++) th += m.thetaCoef[k] * uTheta[k];
      theta[c] = scale * th;
      for (let i = 0; i < N; i++) {
        const off = (c * N + i) * d;
        for (let l = 0; l < nU; l++) {
          const w = scale * g[i * nU + l];
          if (w === 0) continue;
          const uo = l * d;
          for (let t = 0; t < d; t++) x[off + t] += w * u[uo + t];
        }
        for (let k = 0; k < r; k++) {
          const col = m.columns[k];
          addScaledBasis(x, off, scale * col.coef[i] * uTheta[k], m.vectors[col.vector[i]], d);
        }
      }
    }
    return { count, nMod: N, modDim: d, theta, x };
  }
}

class StructuredSampler implements Sampler {
  private readonly lk: Float64Array;
  /** Orthonormal columns (N·d × q), column-major for cache-friendly dot products. */
  private readonly q: Float64Array[];
  /** F − I (q×q). */
  private readonly fMinusI: Float64Array;
  /** θ regression vector on all modalities (N·d) and conditional sd of θ, unscaled. */
  private readonly h: Float64Array;
  private readonly condSd: number;

  constructor(private readonly m: LatentStructure) {
    const { nMod: N, modDim: d } = m;
    const lk = cholesky(m.K, N);
    if (!lk) throw new RangeError('cannot sample: K is singular (the image covariance is not positive definite)');
    this.lk = lk;
    const r = rank(m);
    // Ũ = (L_K⁻¹ ⊗ I)·U, by forward substitution across modalities.
    const ut: Float64Array[] = m.columns.map((col) => {
      const v = new Float64Array(N * d);
      for (let i = 0; i < N; i++) addScaledBasis(v, i * d, col.coef[i], m.vectors[col.vector[i]], d);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < i; j++) {
          const w = lk[i * N + j];
          if (w !== 0) for (let t = 0; t < d; t++) v[i * d + t] -= w * v[j * d + t];
        }
        const inv = 1 / lk[i * N + i];
        for (let t = 0; t < d; t++) v[i * d + t] *= inv;
      }
      return v;
    });
    // Modified Gram–Schmidt: Ũ = Q·R, dropping dependent columns.
    const q: Float64Array[] = [];
    const R: number[][] = []; // R[row][k]
    for (let k = 0; k < r; k++) {
      const v = Float64Array.from(ut[k]);
      const coeffs: number[] = [];
      for (const qv of q) {
        let dp = 0;
        for (let t = 0; t < v.length; t++) dp += qv[t] * v[t];
        coeffs.push(dp);
        for (let t = 0; t < v.length; t++) v[t] -= dp * qv[t];
      }
      let nrm = 0;
      for (let t = 0; t < v.length; t++) nrm += v[t] * v[t];
      nrm = Math.sqrt(nrm);
      let orig = 0;
      for (let t = 0; t < v.length; t++) orig += ut[k][t] * ut[k][t];
      coeffs.forEach((cf, row) => (R[row][k] = cf));
      if (nrm > 1e-12 * Math.sqrt(orig)) {
        for (let t = 0; t < v.length; t++) v[t] /= nrm;
        q.push(v);
        R.push(new Array<number>(r).fill(0));
        R[R.length - 1][k] = nrm;
      }
    }
    const p = q.length;
    // F² = I + R·S·Rᵀ (p×p)
    const f2 = new Float64Array(p * p);
    for (let a = 0; a < p; a++)
      for (let b = 0; b < p; b++) {
        let acc = a === b ? 1 : 0;
        for (let k = 0; k < r; k++) for (let l = 0; l < r; l++) acc += R[a][k] * m.core[k * r + l] * R[b][l];
        f2[a * p + b] = acc;
      }
    const { values, vectors } = symmetricEigen(f2, p);
    if (values.some((v) => !(v > 0))) throw new RangeError('cannot sample: Σ_XX is not positive definite');
    const fMinusI = new Float64Array(p * p);
    for (let a = 0; a < p; a++)
      for (let b = 0; b < p; b++) {
        let acc = 0;
        for (let j = 0; j < p; j++) acc += vectors[a * p + j] * Math.sqrt(values[j]) * vectors[b * p + j];
        fMinusI[a * p + b] = acc - (a === b ? 1 : 0);
      }
    this.q = q;
    this.fMinusI = fMinusI;
    // θ regression on all modalities.
    const all = Array.from({ length: N }, (_, i) => i);
    const g = solveGroup(m, all)!;
    const cond = thetaConditionalVariance(m, g);
    this.condSd = Math.sqrt(Math.max(cond, 0));
    const gamma = r > 0 ? luSolve(g.ism, r, m.thetaCoef, 1) : new Float64Array(0);
    const u = new Float64Array(N * d);
    for (let i = 0; i < N; i++)
      for (let k = 0; k < r; k++) addScaledBasis(u, i * d, gamma[k] * m.columns[k].coef[i], m.vectors[m.columns[k].vector[i]], d);
    const h = new Float64Array(N * d);
    for (let a = 0; a < N; a++)
      for (let b = 0; b < N; b++) {
        const w = g.kInv[a * N + b];
        if (w !== 0) for (let t = 0; t < d; t++) h[a * d + t] += w * u[b * d + t];
      }
    this.h = h;
  }

  sample(count: number, rng: Rng): LatentBatch {
    const { nMod: N, modDim: d, scale } = this.m;
    const nd = N * d;
    const p = this.q.length;
    const theta = new Float64Array(count);
    const x = new Float64Array(count * nd);
    const y = new Float64Array(nd);
    const proj = new Float64Array(p);
    for (let c = 0; c < count; c++) {
      rng.fillNormal(y);
      for (let a = 0; a < p; a++) {
        let acc = 0;
        const qa = this.q[a];
        for (let t = 0; t < nd; t++) acc += qa[t] * y[t];
        proj[a] = acc;
      }
      for (let a = 0; a < p; a++) {
        let w = 0;
        for (let b = 0; b < p; b++) w += this.fMinusI[a * p + b] * proj[b];
        if (w === 0) continue;
        const qa = this.q[a];
        for (let t = 0; t < nd; t++) y[t] += w * qa[t];
      }
      const off = c * nd;
      for (let i = 0; i < N; i++)
        for (let j = 0; j <= i; j++) {
          const w = scale * this.lk[i * N + j];
          if (w === 0) continue;
          for (let t = 0; t < d; t++) x[off + i * d + t] += w * y[j * d + t];
        }
      let mu = 0;
      for (let t = 0; t < nd; t++) mu += this.h[t] * x[off + t];
      theta[c] = mu + scale * this.condSd * rng.normal();
    }
    return { count, nMod: N, modDim: d, theta, x };
  }
}
