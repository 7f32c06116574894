/**
 * Log-determinants of Σ restricted to a group of latents, from the structure alone.
 *
 * For modalities S (and optionally θ), with D = K_SS ⊗ I_d and M = U_Sᵀ D⁻¹ U_S
 * (r×r; M[k,q] = Σ_{a,b∈S} K_SS⁻¹[a,b]·coef_k[a]·coef_q[b]·⟨vec(k,a), vec(q,b)⟩):
 *
 *   log|Σ_SS|   = d·log|K_SS| + log|I + S·M|                  (determinant lemma)
 *   log|Σ_S,θ|  = log|Σ_SS| + log(v − βᵀ·M·(I + S·M)⁻¹·β)     (Schur complement of θ)
 *
 * and when S = I the Schur complement is evaluated as (v − βᵀβ) + βᵀ(I + M)⁻¹β, which
 * has no cancellation however strongly X determines θ. Scale s adds dim·log s².
 *
 * `analytical` is the closed form for templates that are constant vectors (all ones):
 * then U = C ⊗ 1_d and, in the basis {1/√d, its complement}, Σ splits into
 * (d−1) copies of K_SS and one (|S|[+1])-square matrix, so
 *   log|Σ_SS| = (d−1)·log|K_SS| + log|K_SS + d·C·S·Cᵀ|  (θ adds a row [√d·(Cβ)ᵀ, v]).
 */
import { cholesky, choleskyLogDet, choleskySolve, denseLogDetSymmetric, identity, logAbsDet, luDecompose, luSolve, subMatrix } from './linalg.js';
import { addScaledBasis, denseSigma, gramOf, rank, type LatentStructure } from './structure.js';

export type MiMethod = 'numerical' | 'analytical';

/** A group of latents: some modalities (0-based) and possibly θ. */
export interface Group {
  mods: readonly number[];
  theta: boolean;
}

export interface GroupLogDet {
  /** log|Σ_group| in nats; −Infinity when Σ_group is singular. */
  value: number;
  /** Why the group is singular, when it is. */
  singular?: string;
}

/** Relative size below which θ's conditional variance counts as zero (θ determined by X). */
const SCHUR_REL_TOL = 1e-13;

function normaliseMods(m: LatentStructure, mods: readonly number[]): number[] {
  const s = [...new Set(mods)].sort((a, b) => a - b);
  for (const i of s) {
    if (!Number.isInteger(i) || i < 0 || i >= m.nMod) throw new RangeError(`modality index ${i} is outside 0…${m.nMod - 1}`);
  }
  return s;
}

/** Pieces of the structured inverse for a set of modalities, reused by MI, pointwise MI and sampling. */
export interface GroupSolve {
  mods: number[];
  /** Cholesky factor of K_SS; (K_SS⁻¹ ⊗ I)·Y is choleskySolve(kChol, |S|, Y, d). */
  kChol: Float64Array;
  logDetK: number;
  /** M = U_Sᵀ (K_SS⁻¹ ⊗ I) U_S (r×r). */
  M: Float64Array;
  /** LU of I + S·M. */
  ism: ReturnType<typeof luDecompose>;
  logDetISM: number;
}

/**
 * null when K_SS is singular. Throws when I + S·M is not positive (Σ_SS not PD).
 *
 * M is assembled from K_SS⁻¹·B, where column p of B (|S|×R) is one (θ column k, basis
 * vector v) pair: B[a, p] = coef_k[S_a] when vec(k, S_a) = v. Then
 * M[k,q] = Σ_{p∈k, p'∈q} ⟨v_p, v_p'⟩·(Bᵀ K_SS⁻¹ B)[p, p'] — R = r for shared templates
 * (ones, the same image everywhere), so no N×N inverse is ever formed.
 */
export function solveGroup(m: LatentStructure, mods: readonly number[]): GroupSolve | null {
  const s = normaliseMods(m, mods);
  const n = s.length;
  const kSS = subMatrix(m.K, m.nMod, s);
  const { factor: l, failedAt } = cholesky(kSS, n);
  if (failedAt >= 0) return null;
  const r = rank(m);
  const pairColumn: number[] = [];
  const pairVector: number[] = [];
  const pairOf = new Map<number, number>();
  const nv = m.vectors.length;
  for (let k = 0; k < r; k++)
    for (let a = 0; a < n; a++) {
      const key = k * nv + m.columns[k].vector[s[a]];
      if (m.columns[k].coef[s[a]] !== 0 && !pairOf.has(key)) {
        pairOf.set(key, pairColumn.length);
        pairColumn.push(k);
        pairVector.push(m.columns[k].vector[s[a]]);
      }
    }
  const R = pairColumn.length;
  const B = new Float64Array(n * R);
  for (let k = 0; k < r; k++)
    for (let a = 0; a < n; a++) {
      const c = m.columns[k].coef[s[a]];
      if (c !== 0) B[a * R + pairOf.get(k * nv + m.columns[k].vector[s[a]])!] = c;
    }
  const Y = choleskySolve(l, n, B, R);
  const gram = gramOf(m);
  const M = new Float64Array(r * r);
  for (let p = 0; p < R; p++)
    for (let q = 0; q < R; q++) {
      let bty = 0;
      for (let a = 0; a < n; a++) bty += B[a * R + p] * Y[a * R + q];
      if (bty === 0) continue;
      M[pairColumn[p] * r + pairColumn[q]] += bty * gram.get(pairVector[p], pairVector[q]);
    }
  // I + S·M
  const ism = identity(r);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++) {
      let acc = 0;
      for (let p = 0; p < r; p++) acc += m.core[i * r + p] * M[p * r + j];
      ism[i * r + j] += acc;
    }
  const det = logAbsDet(ism, r);
  if (det.sign <= 0) {
    throw new RangeError(`Σ restricted to modalities {${s.map((i) => i + 1).join(',')}} is not positive definite (|I + S·M| ≤ 0)`);
  }
  return { mods: s, kChol: l, logDetK: choleskyLogDet(l, n), M, ism: luDecompose(ism, r), logDetISM: det.logAbs };
}

/**
 * h = Σ_SS⁻¹·b_S = (K_SS⁻¹ ⊗ I)·U_S·(I + S·M)⁻¹·β (length |S|·d, modality-major): the
 * regression of θ on X_S, so that E[θ | x_S] = hᵀx_S whatever the scale.
 */
export function thetaRegression(m: LatentStructure, g: GroupSolve): Float64Array {
  const r = rank(m);
  const n = g.mods.length;
  const d = m.modDim;
  const gamma = r > 0 ? luSolve(g.ism, r, m.thetaCoef, 1) : new Float64Array(0);
  const u = new Float64Array(n * d);
  for (let a = 0; a < n; a++)
    for (let k = 0; k < r; k++) {
      const col = m.columns[k];
      addScaledBasis(u, a * d, gamma[k] * col.coef[g.mods[a]], m.vectors[col.vector[g.mods[a]]], d);
    }
  return choleskySolve(g.kChol, n, u, d);
}

/** θ's variance given X_S (unscaled): v − bᵀΣ_SS⁻¹b. */
export function thetaConditionalVariance(m: LatentStructure, g: GroupSolve): number {
  const r = rank(m);
  if (r === 0) return m.thetaVar;
  const beta = m.thetaCoef;
  if (m.coreIsIdentity) {
    // (v − βᵀβ) + βᵀ(I + M)⁻¹β: both terms ≥ 0, no cancellation.
    let bb = 0;
    for (let k = 0; k < r; k++) bb += beta[k] * beta[k];
    const y = luSolve(g.ism, r, beta, 1);
    let q = 0;
    for (let k = 0; k < r; k++) q += beta[k] * y[k];
    return m.thetaVar - bb + q;
  }
  // v − βᵀ·M·(I + S·M)⁻¹·β
  const y = luSolve(g.ism, r, beta, 1);
  let q = 0;
  for (let k = 0; k < r; k++) {
    let mk = 0;
    for (let p = 0; p < r; p++) mk += g.M[k * r + p] * y[p];
    q += beta[k] * mk;
  }
  return m.thetaVar - q;
}

function scaleTerm(m: LatentStructure, dim: number): number {
  return m.scale === 1 ? 0 : dim * Math.log(m.scale * m.scale);
}

/** log|Σ_group| by the structured (numerical) method. */
export function logDetNumerical(m: LatentStructure, group: Group): GroupLogDet {
  const mods = normaliseMods(m, group.mods);
  const d = m.modDim;
  const dim = mods.length * d + (group.theta ? 1 : 0);
  if (mods.length === 0) {
    if (!group.theta) return { value: 0 };
    return thetaOnly(m);
  }
  const g = solveGroup(m, mods);
  if (!g) return singularK(m, mods, group);
  let value = d * g.logDetK + g.logDetISM;
  if (group.theta) {
    const schur = thetaConditionalVariance(m, g);
    if (!(schur > SCHUR_REL_TOL * m.thetaVar)) {
      return { value: -Infinity, singular: `θ is a deterministic function of ${label(mods)}` };
    }
    value += Math.log(schur);
  }
  return { value: value + scaleTerm(m, dim) };
}

function thetaOnly(m: LatentStructure): GroupLogDet {
  if (!(m.thetaVar > 0)) return { value: -Infinity, singular: 'θ has zero variance' };
  return { value: Math.log(m.thetaVar) + scaleTerm(m, 1) };
}

function label(mods: readonly number[]): string {
  return `{${mods.map((i) => `X_${i + 1}`).join(', ')}}`;
}

/**
 * K_SS singular: Σ_SS = K_SS⊗I + U S Uᵀ can only be non-singular when the null space of
 * K_SS ⊗ I (dimension nullity·d) is covered by the r columns of U; otherwise the group's
 * latents are linearly dependent. The covered case only arises for tiny d and is settled
 * densely.
 */
function singularK(m: LatentStructure, mods: number[], group: Group): GroupLogDet {
  const n = mods.length;
  const nullity = n - numericalRank(subMatrix(m.K, m.nMod, mods), n);
  if (nullity * m.modDim > rank(m)) {
    return {
      value: -Infinity,
      singular: `the latents of ${label(mods)} are linearly dependent (K restricted to them has rank ${n - nullity} < ${n}: fewer independent local proto-latents than modalities)`,
    };
  }
  const sub = denseSubSigma(m, mods, group.theta);
  const v = denseLogDetSymmetric(sub.matrix, sub.n);
  return v === -Infinity ? { value: v, singular: `Σ of ${label(mods)}${group.theta ? ' and θ' : ''} is singular` } : { value: v };
}

function numericalRank(a: Float64Array, n: number): number {
  // Gaussian elimination with full pivoting on a small symmetric PSD matrix.
  const w = Float64Array.from(a);
  let maxAbs = 0;
  for (const x of w) maxAbs = Math.max(maxAbs, Math.abs(x));
  const tol = 1e-12 * Math.max(maxAbs, Number.MIN_VALUE) * n;
  let r = 0;
  const used = new Array<boolean>(n).fill(false);
  for (let step = 0; step < n; step++) {
    let best = -1;
    let bestV = tol;
    for (let i = 0; i < n; i++) {
      if (!used[i] && w[i * n + i] > bestV) {
        bestV = w[i * n + i];
        best = i;
      }
    }
    if (best < 0) break;
    used[best] = true;
    r++;
    const p = w[best * n + best];
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const f = w[i * n + best] / p;
      for (let j = 0; j < n; j++) w[i * n + j] -= f * w[best * n + j];
    }
  }
  return r;
}

/** Dense Σ of a group, in order [X_S…, θ]; only for tiny sizes. */
export function denseSubSigma(m: LatentStructure, mods: readonly number[], theta: boolean): { matrix: Float64Array; n: number } {
  const full = denseSigma(m, 'sampling');
  const d = m.modDim;
  const N = m.nMod * d + 1;
  const idx: number[] = [];
  for (const i of mods) for (let t = 0; t < d; t++) idx.push(i * d + t);
  if (theta) idx.push(N - 1);
  return { matrix: subMatrix(full, N, idx), n: idx.length };
}

/** log|Σ_group| by the closed form for constant templates. */
export function logDetAnalytical(m: LatentStructure, group: Group): GroupLogDet {
  if (!m.vectors.every((v) => v.kind === 'const')) {
    throw new RangeError('the analytical method needs templates that are constant vectors (T_vectors_method ones); use numerical');
  }
  const mods = normaliseMods(m, group.mods);
  const d = m.modDim;
  const n = mods.length;
  const dim = n * d + (group.theta ? 1 : 0);
  if (n === 0) return group.theta ? thetaOnly(m) : { value: 0 };
  const kSS = subMatrix(m.K, m.nMod, mods);
  const { factor: l, failedAt } = cholesky(kSS, n);
  if (failedAt >= 0) return singularK(m, mods, group);
  const r = rank(m);
  // C[a,k] = coef_k[mods[a]]·value(vec(k, mods[a]))
  const C = new Float64Array(n * r);
  for (let a = 0; a < n; a++)
    for (let k = 0; k < r; k++) {
      const col = m.columns[k];
      const v = m.vectors[col.vector[mods[a]]] as { value: number };
      C[a * r + k] = col.coef[mods[a]] * v.value;
    }
  const size = n + (group.theta ? 1 : 0);
  const big = new Float64Array(size * size);
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) {
      let acc = 0;
      for (let k = 0; k < r; k++) for (let q = 0; q < r; q++) acc += C[a * r + k] * m.core[k * r + q] * C[b * r + q];
      big[a * size + b] = kSS[a * n + b] + d * acc;
    }
  if (group.theta) {
    const sd = Math.sqrt(d);
    for (let a = 0; a < n; a++) {
      let cb = 0;
      for (let k = 0; k < r; k++) cb += C[a * r + k] * m.thetaCoef[k];
      big[a * size + n] = sd * cb;
      big[n * size + a] = sd * cb;
    }
    big[n * size + n] = m.thetaVar;
  }
  const det = logAbsDet(big, size);
  if (det.sign <= 0) return { value: -Infinity, singular: `Σ of ${label(mods)}${group.theta ? ' and θ' : ''} is singular` };
  return { value: (d - 1) * choleskyLogDet(l, n) + det.logAbs + scaleTerm(m, dim) };
}

export function logDet(m: LatentStructure, group: Group, method: MiMethod = 'numerical'): GroupLogDet {
  return method === 'analytical' ? logDetAnalytical(m, group) : logDetNumerical(m, group);
}
