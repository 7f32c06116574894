/**
 * The flows' linear start: canonical correlation analysis (Hotelling 1936) of the standardised
 * training rows. It finds invertible linear maps ξ = A_x x, η = A_y y under which
 *
 *   Cov(ξ) = I,  Cov(η) = I,  Cov(ξ_j, η_l) = r_j if j = l < k, else 0,
 *
 * r_1 ≥ … ≥ r_k ≥ 0 the sample canonical correlations, k = min(dx, dy): exactly the tridiagonal
 * form of the base (./base.ts). The paper's argument that the tridiagonal base loses no
 * generality is this decomposition; here it also gives training its starting point. The data
 * enter the flows already in canonical coordinates (a fixed invertible linear map of each side,
 * so MI and PMI are unchanged) and the base's ρ starts at r: the model starts at the Gaussian
 * maximum-likelihood fit of the training rows, and training only has to learn what is not
 * linear. (Without it, Adam must first walk each ρ_j = tanh a_j from 0 to its value, a_j growing
 * by about one learning rate per step, and rotate every side into its canonical directions:
 * measured on 5-D rotated Gaussians, several hundred steps, and early stopping then kept flows
 * short of the rotation.)
 *
 * Construction: with Cholesky factors Σ_xx = L_x L_xᵀ, Σ_yy = L_y L_yᵀ, the whitened
 * cross-covariance M = L_x⁻¹ Σ_xy L_y⁻ᵀ (dx×dy) has singular value decomposition M = U S Vᵀ; the
 * rows of A_x = Uᵀ L_x⁻¹ and A_y = Vᵀ L_y⁻¹. U comes from the eigenvectors of M Mᵀ; v_j = Mᵀ u_j / r_j
 * (so u_jᵀ M v_j = r_j > 0, and the pairing holds even where correlations are equal), and the
 * directions with r_j ≈ 0 and the longer side's extra ones complete V by Gram–Schmidt.
 */
import { InputError } from '@mmmi/cli-kit';
import { cholesky, descending, symmetricEigen } from '@mmmi/latents';
import { SINGULAR_PIVOT } from '../gaussian.js';
import { covariance, principalBlock, solveLowerInPlace, symmetrised } from '../linear-algebra.js';

export interface CanonicalForm {
  /** dx×dx, row-major: ξ = A_x x. */
  ax: Float64Array;
  /** dy×dy, row-major: η = A_y y. */
  ay: Float64Array;
  /** The k = min(dx, dy) sample canonical correlations, descending, in [0, 1). */
  rho: Float64Array;
}

/** Below this a canonical correlation is treated as zero when pairing directions. */
const NEGLIGIBLE = 1e-9;

/** L⁻¹ of a d×d lower-triangular L, row-major. */
function inverseLower(l: Float64Array, d: number): Float64Array {
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) inv[i * d + i] = 1;
  solveLowerInPlace(l, d, inv, d);
  return inv;
}

/** a (m×p) · b (p×q), row-major. */
function multiply(a: Float64Array, b: Float64Array, m: number, p: number, q: number): Float64Array {
  const c = new Float64Array(m * q);
  for (let i = 0; i < m; i++) for (let k = 0; k < p; k++) for (let j = 0; j < q; j++) c[i * q + j] += a[i * p + k] * b[k * q + j];
  return c;
}

/** Completes `rows` (orthonormal vectors of length d) to an orthonormal basis of R^d by Gram–Schmidt on the standard basis. */
function completeBasis(rows: Float64Array[], d: number): Float64Array[] {
  const basis = rows.slice();
  for (let e = 0; e < d && basis.length < d; e++) {
    const v = new Float64Array(d);
    v[e] = 1;
    for (let pass = 0; pass < 2; pass++)
      for (const b of basis) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += b[i] * v[i];
        for (let i = 0; i < d; i++) v[i] -= dot * b[i];
      }
    const norm = Math.hypot(...v);
    if (norm > 1e-6) basis.push(v.map((t) => t / norm));
  }
  return basis;
}

function factor(s: Float64Array, d: number, side: 'x' | 'y'): Float64Array {
  const ch = cholesky(s, d, { ratio: SINGULAR_PIVOT });
  if (ch.failedAt >= 0)
    throw new InputError(
      `${side} feature ${ch.failedAt} is, to within ${SINGULAR_PIVOT} of its variance, a linear combination of the ${side} features before it on the training rows: ` +
        `a flow cannot have a density there; drop redundant features or reduce ${side} with PCA (pcaFeatures)`,
    );
  return ch.factor;
}

/** The canonical form of n rows of x (n×dx) and y (n×dy), row-major; see the module notes. */
export function canonicalForm(x: ArrayLike<number>, dx: number, y: ArrayLike<number>, dy: number, n: number): CanonicalForm {
  const d = dx + dy;
  const joint = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dx; j++) joint[i * d + j] = x[i * dx + j];
    for (let j = 0; j < dy; j++) joint[i * d + dx + j] = y[i * dy + j];
  }
  const s = covariance(joint, n, d);
  const lx = factor(principalBlock(s, d, 0, dx), dx, 'x');
  const ly = factor(principalBlock(s, d, dx, d), dy, 'y');
  // M = Lx⁻¹ Σxy Ly⁻ᵀ: first Lx⁻¹ Σxy (dx×dy), then its transpose solved against Ly gives Mᵀ (dy×dx)
  const m = new Float64Array(dx * dy);
  for (let i = 0; i < dx; i++) m.set(s.subarray(i * d + dx, i * d + d), i * dy);
  solveLowerInPlace(lx, dx, m, dy);
  const mt = new Float64Array(dy * dx);
  for (let i = 0; i < dx; i++) for (let j = 0; j < dy; j++) mt[j * dx + i] = m[i * dy + j];
  solveLowerInPlace(ly, dy, mt, dx);
  // U: eigenvectors of M Mᵀ (rows, descending)
  const mmt = new Float64Array(dx * dx);
  for (let a = 0; a < dx; a++)
    for (let b = 0; b < dx; b++) {
      let t = 0;
      for (let j = 0; j < dy; j++) t += mt[j * dx + a] * mt[j * dx + b];
      mmt[a * dx + b] = t;
    }
  const eig = descending(symmetricEigen(symmetrised(mmt, dx), dx));
  const k = Math.min(dx, dy);
  const rho = new Float64Array(k);
  const uRows: Float64Array[] = [];
  for (let j = 0; j < dx; j++) uRows.push(eig.vectors.slice(j * dx, (j + 1) * dx));
  const vRows: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    rho[j] = Math.sqrt(Math.min(Math.max(eig.values[j], 0), 1 - 1e-12));
    if (rho[j] <= NEGLIGIBLE) continue;
    // v_j = Mᵀ u_j / r_j
    const v = new Float64Array(dy);
    for (let l = 0; l < dy; l++) {
      let t = 0;
      for (let i = 0; i < dx; i++) t += mt[l * dx + i] * uRows[j][i];
      v[l] = t / rho[j];
    }
    vRows.push(v);
  }
  // directions with r ≈ 0 (left unpaired above) and the longer side's extras: any orthonormal completion
  const vBasis = completeBasis(vRows, dy);
  const flatten = (rows: Float64Array[], dim: number) => {
    const out = new Float64Array(dim * dim);
    rows.forEach((r, i) => out.set(r, i * dim));
    return out;
  };
  return { ax: multiply(flatten(uRows, dx), inverseLower(lx, dx), dx, dx, dx), ay: multiply(flatten(vBasis, dy), inverseLower(ly, dy), dy, dy, dy), rho };
}
