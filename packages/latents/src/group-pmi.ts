/**
 * The exact pointwise mutual information of two groups of modalities, per draw, from the
 * dataset's latent structure and the draw's stored latents:
 *
 *   i(x_A; x_B) = log p(x_A, x_B) − log p(x_A) − log p(x_B),
 *
 * whose mean over draws is I(X_A; X_B). Every modality map is invertible per modality, so the
 * PMI of the latents is the PMI of the images (the Jacobians cancel between the joint and the
 * marginals). Each term is the log-density of a zero-mean Gaussian,
 *
 *   log N(x; 0, Σ_SS) = −½ (D·log 2π + log|Σ_SS| + xᵀ Σ_SS⁻¹ x),   D = |S|·d,
 *
 * evaluated from the structure without ever forming the D×D matrix (D = 6144 for two
 * CIFAR-sized modalities). With the structure's form (SPEC §1–2)
 *
 *   Σ_SS = s² (K_SS ⊗ I_d + U_S C U_Sᵀ),   D₀ = K_SS ⊗ I_d,   M = U_Sᵀ D₀⁻¹ U_S (r×r),
 *
 * the inverse (a Woodbury form that needs no C⁻¹, so a singular core is fine) and the
 * determinant lemma give
 *
 *   Σ_SS⁻¹ = s⁻² [D₀⁻¹ − D₀⁻¹ U_S (I + C·M)⁻¹ C U_Sᵀ D₀⁻¹]
 *   log|Σ_SS| = D·log s² + d·log|K_SS| + log|I + C·M|,
 *
 * so the quadratic form of a draw is s⁻² [Σ_a ⟨x_a, (K_SS⁻¹ x)_a⟩ − wᵀ (I + C·M)⁻¹ C w] with
 * w = U_Sᵀ D₀⁻¹ x (r values): O(|S|²·d + r·|S|·d) per draw.
 *
 * This is written apart from latents' own log-determinants on purpose: the tests hold it
 * against a dense Gaussian density (log N of the joint minus the marginals), and its mean
 * against latents' exact I(X_A; X_B).
 */
import { InputError } from '@mmmi/cli-kit';

import { identityMatrix, luFactor, luSolve } from './small-lu.js';
import { addScaledBasis, rank, type LatentStructure } from './structure.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** The zero-mean Gaussian density of a group of modalities' latents, in the structure's closed form. */
export interface GroupDensity {
  mods: readonly number[];
  /** D = |S|·d. */
  dim: number;
  /** log|Σ_SS|. */
  logDet: number;
  /** xᵀ Σ_SS⁻¹ x for one draw; `values(a)` is modality mods[a]'s d latents of the draw. */
  quadratic(values: (a: number) => ArrayLike<number>, offset: (a: number) => number): number;
}

function checkMods(m: LatentStructure, mods: readonly number[], what: string): number[] {
  if (mods.length === 0) throw new InputError(`${what}: name at least one modality`);
  const s = [...new Set(mods)].sort((a, b) => a - b);
  if (s.length !== mods.length) throw new InputError(`${what}: a modality is named twice`);
  for (const i of s)
    if (!Number.isInteger(i) || i < 0 || i >= m.nMod) throw new InputError(`${what}: modality index ${i} is outside 0 … ${m.nMod - 1} (X_1 … X_${m.nMod})`);
  return s;
}

/** The structured density of the group `mods` (0-based); refuses a group whose Σ is not positive definite. */
export function groupDensity(m: LatentStructure, modsIn: readonly number[]): GroupDensity {
  const mods = checkMods(m, modsIn, 'exact PMI');
  const n = mods.length;
  const d = m.modDim;
  const r = rank(m);
  const label = `{${mods.map((i) => `X_${i + 1}`).join(', ')}}`;
  const kSS = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) kSS[a * n + b] = m.K[mods[a] * m.nMod + mods[b]];
  const kLu = luFactor(kSS, n);
  if (kLu.sign <= 0)
    throw new InputError(
      `exact PMI of ${label}: K restricted to the group is singular or not positive (a modality without a private latent part); its density has no closed form here`,
    );
  const kInv = luSolve(kLu, identityMatrix(n), n);
  // U_S's columns per modality (d-vectors, null where the column does not reach the modality)
  const u: (Float64Array | null)[][] = m.columns.map((col) =>
    mods.map((i) => {
      if (col.coef[i] === 0) return null;
      const v = new Float64Array(d);
      addScaledBasis(v, 0, col.coef[i], m.vectors[col.vector[i]], d);
      return v;
    }),
  );
  // D₀⁻¹·U_S, block a = Σ_b K_SS⁻¹[a, b]·U_b
  const v: Float64Array[][] = u.map((blocks) =>
    mods.map((_, a) => {
      const out = new Float64Array(d);
      blocks.forEach((ub, b) => {
        const w = kInv[a * n + b];
        if (ub && w !== 0) for (let t = 0; t < d; t++) out[t] += w * ub[t];
      });
      return out;
    }),
  );
  const mMat = new Float64Array(r * r);
  for (let k = 0; k < r; k++)
    for (let q = 0; q < r; q++) {
      let s = 0;
      for (let a = 0; a < n; a++) {
        const uk = u[k][a];
        if (!uk) continue;
        const vq = v[q][a];
        for (let t = 0; t < d; t++) s += uk[t] * vq[t];
      }
      mMat[k * r + q] = s;
    }
  // I + C·M, and A = (I + C·M)⁻¹·C
  const icm = identityMatrix(r);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let p = 0; p < r; p++) s += m.core[i * r + p] * mMat[p * r + j];
      icm[i * r + j] += s;
    }
  const icmLu = luFactor(icm, r);
  if (r > 0 && icmLu.sign <= 0) throw new InputError(`exact PMI of ${label}: Σ restricted to the group is not positive definite (|I + C·M| ≤ 0)`);
  const aMat = r > 0 ? luSolve(icmLu, m.core, r) : new Float64Array(0);
  const s2 = m.scale * m.scale;
  const dim = n * d;
  const logDet = dim * Math.log(s2) + d * kLu.logAbsDet + (r > 0 ? icmLu.logAbsDet : 0);
  const y = new Float64Array(d);
  const w = new Float64Array(r);
  return {
    mods,
    dim,
    logDet,
    quadratic(values, offset) {
      let xDx = 0;
      for (let a = 0; a < n; a++) {
        y.fill(0);
        for (let b = 0; b < n; b++) {
          const kab = kInv[a * n + b];
          const xb = values(b);
          const ob = offset(b);
          for (let t = 0; t < d; t++) y[t] += kab * xb[ob + t];
        }
        const xa = values(a);
        const oa = offset(a);
        for (let t = 0; t < d; t++) xDx += xa[oa + t] * y[t];
      }
      for (let k = 0; k < r; k++) {
        let s = 0;
        for (let a = 0; a < n; a++) {
          const vk = v[k][a];
          const xa = values(a);
          const oa = offset(a);
          for (let t = 0; t < d; t++) s += vk[t] * xa[oa + t];
        }
        w[k] = s;
      }
      let wAw = 0;
      for (let k = 0; k < r; k++) for (let q = 0; q < r; q++) wAw += w[k] * aMat[k * r + q] * w[q];
      return (xDx - wAw) / s2;
    },
  };
}

/** log N(x_S; 0, Σ_SS) of the draws `rows`, reading modality i's latents from `latents.get(i)` (count × d, draw-major). */
export function groupLogDensity(density: GroupDensity, d: number, latents: ReadonlyMap<number, ArrayLike<number>>, rows: ArrayLike<number>): Float64Array {
  const arrays = density.mods.map((i) => {
    const a = latents.get(i);
    if (!a) throw new Error(`internal: the latents of X_${i + 1} were not loaded`);
    return a;
  });
  const constant = -0.5 * (density.dim * LOG_2PI + density.logDet);
  const out = new Float64Array(rows.length);
  for (let c = 0; c < rows.length; c++) {
    const base = rows[c] * d;
    out[c] =
      constant -
      0.5 *
        density.quadratic(
          (a) => arrays[a],
          () => base,
        );
  }
  return out;
}

/**
 * i(x_A; x_B) per draw `rows` (indices into the count × d latent arrays of each modality), for
 * disjoint groups A and B of modalities (0-based).
 */
export function pairwisePmi(
  m: LatentStructure,
  latents: ReadonlyMap<number, ArrayLike<number>>,
  rows: ArrayLike<number>,
  a: readonly number[],
  b: readonly number[],
): Float64Array {
  const overlap = a.filter((i) => b.includes(i));
  if (overlap.length) throw new InputError(`exact PMI: X_${overlap[0] + 1} is on both sides; the groups must be disjoint`);
  const joint = groupLogDensity(groupDensity(m, [...a, ...b]), m.modDim, latents, rows);
  const pa = groupLogDensity(groupDensity(m, a), m.modDim, latents, rows);
  const pb = groupLogDensity(groupDensity(m, b), m.modDim, latents, rows);
  return joint.map((j, c) => j - pa[c] - pb[c]);
}
