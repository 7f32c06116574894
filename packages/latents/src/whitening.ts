/**
 * Exact marginal whitening (SPEC §3b): the per-modality linear map w_i = Σ_ii^(−1/2)·z_i
 * that turns each modality's latent into exactly N(0, I_d), the noise a flow was trained on.
 *
 * A modality block of the structure is Σ_ii = s²·(K_ii·I_d + B·S·Bᵀ), B the d×r matrix
 * whose column k is coef_k[i]·vector(k, i) and S the r×r core. With BᵀB = P·Λ·Pᵀ, the
 * columns of P whose eigenvalue is not zero give an orthonormal basis of span(B),
 * Q = B·P₊·Λ₊^(−1/2) (d×m, m ≤ r), and B = Q·C with C = Λ₊^(1/2)·P₊ᵀ. Then
 *
 *   Σ_ii = s²·( K_ii·(I_d − Q·Qᵀ) + Q·R·Qᵀ ),   R = K_ii·I_m + C·S·Cᵀ   (m×m),
 *   Σ_ii^(−1/2) = s⁻¹·( K_ii^(−1/2)·I_d + Q·(R^(−1/2) − K_ii^(−1/2)·I_m)·Qᵀ ),
 *   Σ_ii^(+1/2) = s·( K_ii^(1/2)·I_d + Q·(R^(1/2) − K_ii^(1/2)·I_m)·Qᵀ ),
 *
 * O(d·m) to apply either way; no d×d matrix is ever formed. The map is a bijection of
 * each modality alone, so every MI, conditional MI and per-sample PMI of the model is
 * unchanged by it. Σ_ii is singular, and nothing can whiten it, when K_ii = 0 (a modality
 * without a local proto-latent: its latent lies in the m-dimensional span of its templates).
 */
import { InputError } from '@mmmi/cli-kit';
import { symmetricEigen } from './eigen.js';
import { addScaledBasis, gramOf, rank, type LatentStructure } from './structure.js';

/** The whitening of one modality: w = Σ_ii^(−1/2)·z and its inverse, in place of a d×d matrix. */
export interface ModalityWhitening {
  modality: number;
  /** m: the dimension of the span of the modality's template vectors. */
  spanDim: number;
  /** K_ii·s²: the variance off the span (every direction orthogonal to the templates). */
  offSpanVariance: number;
  /** The variances along the span: the eigenvalues of s²·R, ascending. */
  spanVariances: number[];
  /** out[outOff … outOff+d) = Σ_ii^(−1/2)·z[zOff … zOff+d). */
  whiten(z: ArrayLike<number>, zOff: number, out: Float64Array | Float32Array, outOff: number): void;
  /** out = Σ_ii^(+1/2)·w: the latent that whitens to w. */
  unwhiten(w: ArrayLike<number>, wOff: number, out: Float64Array | Float32Array, outOff: number): void;
}

/** Eigenvalues of BᵀB below this fraction of the largest are directions B does not span. */
const SPAN_TOLERANCE = 1e-12;

/** The whitening of every modality of `m`; a modality whose Σ_ii is singular is refused, naming why. */
export function marginalWhitening(m: LatentStructure): ModalityWhitening[] {
  return Array.from({ length: m.nMod }, (_, i) => modalityWhitening(m, i));
}

export function modalityWhitening(m: LatentStructure, i: number): ModalityWhitening {
  const d = m.modDim;
  const r = rank(m);
  const kii = m.K[i * m.nMod + i];
  if (!(kii > 0)) {
    throw new InputError(
      `modality ${i + 1} cannot be whitened for the flow: it has no variance of its own (K[${i + 1},${i + 1}] = ${kii}, no local proto-latent reaches it), so its latent lies in the ${Math.min(r, d)}-dimensional span of its θ templates and Σ_${i + 1}${i + 1} is singular; give it a local proto-latent (--DAG_ul) or feed the latents unwhitened (--whiten off)`,
    );
  }
  // BᵀB from the cached Gram matrix of the basis vectors: O(r²) dot products of length d
  const gram = gramOf(m);
  const coef = (k: number) => m.columns[k].coef[i];
  const vec = (k: number) => m.columns[k].vector[i];
  const btb = new Float64Array(r * r);
  for (let k = 0; k < r; k++)
    for (let q = 0; q <= k; q++) {
      const v = coef(k) === 0 || coef(q) === 0 ? 0 : coef(k) * coef(q) * gram.get(vec(k), vec(q));
      btb[k * r + q] = v;
      btb[q * r + k] = v;
    }
  const { values: lambda, vectors: p } = r > 0 ? symmetricEigen(btb, r) : { values: new Float64Array(0), vectors: new Float64Array(0) };
  const top = Math.max(0, ...lambda);
  const kept = Array.from(lambda.keys()).filter((k) => lambda[k] > SPAN_TOLERANCE * top && lambda[k] > 0);
  const mDim = kept.length;

  // Q = B·P₊·Λ₊^(−1/2), column by column (column j = Σ_k B_k·P[k, j]/√λ_j); P[k, e] is
  // component k of eigenvector e, i.e. p[e·r + k] (symmetricEigen's rows are its eigenvectors)
  const qBasis = new Float64Array(mDim * d); // row j is column j of Q
  kept.forEach((e, j) => {
    const inv = 1 / Math.sqrt(lambda[e]);
    for (let k = 0; k < r; k++) {
      const w = coef(k) * p[e * r + k] * inv;
      if (w !== 0) addScaledBasis(qBasis, j * d, w, m.vectors[vec(k)], d);
    }
  });
  // C = Λ₊^(1/2)·P₊ᵀ (m×r); R = K_ii·I + C·S·Cᵀ
  const c = new Float64Array(mDim * r);
  kept.forEach((e, j) => {
    for (let k = 0; k < r; k++) c[j * r + k] = Math.sqrt(lambda[e]) * p[e * r + k];
  });
  const rMat = new Float64Array(mDim * mDim);
  for (let a = 0; a < mDim; a++)
    for (let b = 0; b < mDim; b++) {
      let s = a === b ? kii : 0;
      for (let k = 0; k < r; k++) for (let q = 0; q < r; q++) s += c[a * r + k] * m.core[k * r + q] * c[b * r + q];
      rMat[a * mDim + b] = s;
    }
  const re = mDim > 0 ? symmetricEigen(rMat, mDim) : { values: new Float64Array(0), vectors: new Float64Array(0) };
  if (Array.from(re.values).some((v) => !(v > 0))) {
    throw new InputError(
      `modality ${i + 1} cannot be whitened for the flow: Σ_${i + 1}${i + 1} is not positive definite on the span of its templates (eigenvalues ${Array.from(re.values).join(', ')})`,
    );
  }
  const s = m.scale;
  // R^(±1/2) − K_ii^(±1/2)·I, each m×m, through R's eigenvectors (rows of re.vectors)
  const correction = (power: number): Float64Array => {
    const out = new Float64Array(mDim * mDim);
    for (let a = 0; a < mDim; a++)
      for (let b = 0; b < mDim; b++) {
        let v = 0;
        for (let e = 0; e < mDim; e++) v += re.vectors[e * mDim + a] * re.values[e] ** power * re.vectors[e * mDim + b];
        out[a * mDim + b] = v - (a === b ? kii ** power : 0);
      }
    return out;
  };
  const minusHalf = correction(-0.5);
  const plusHalf = correction(0.5);
  const proj = new Float64Array(mDim);
  const mixed = new Float64Array(mDim);
  // out = factor·(κ·x + Q·inner·Qᵀ·x), κ the off-span factor K_ii^(±1/2)
  const apply = (factor: number, kappa: number, inner: Float64Array, x: ArrayLike<number>, xOff: number, out: Float64Array | Float32Array, outOff: number) => {
    for (let j = 0; j < mDim; j++) {
      let v = 0;
      for (let t = 0; t < d; t++) v += qBasis[j * d + t] * x[xOff + t];
      proj[j] = v;
    }
    for (let a = 0; a < mDim; a++) {
      let v = 0;
      for (let b = 0; b < mDim; b++) v += inner[a * mDim + b] * proj[b];
      mixed[a] = v;
    }
    for (let t = 0; t < d; t++) {
      let v = kappa * x[xOff + t];
      for (let j = 0; j < mDim; j++) v += qBasis[j * d + t] * mixed[j];
      out[outOff + t] = factor * v;
    }
  };
  return {
    modality: i,
    spanDim: mDim,
    offSpanVariance: s * s * kii,
    spanVariances: Array.from(re.values, (v) => s * s * v),
    whiten: (z, zOff, out, outOff) => apply(1 / s, kii ** -0.5, minusHalf, z, zOff, out, outOff),
    unwhiten: (w, wOff, out, outOff) => apply(s, kii ** 0.5, plusHalf, w, wOff, out, outOff),
  };
}
