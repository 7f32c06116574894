/**
 * The small dense linear algebra the classical estimators need, in float64, row-major:
 * column means and sample covariances, triangular solves, the symmetrisation the
 * eigen-decompositions take, and a block-Krylov (block Lanczos) solver for the top eigenpairs
 * of a symmetric operator that is only applied, never formed (PCA of 3072-dimensional images).
 * The Cholesky factorisation (with its rank test), its log-determinant and the symmetric
 * eigen-decomposition (Householder + implicit QL, eigenvalues ascending, eigenvectors as rows)
 * are latents' (`@mmmi/latents`), the toolkit's one of each.
 *
 * Nothing here knows about mutual information; everything is deterministic (the Krylov
 * solver's random start comes from a fixed-seed generator).
 */
import { descending, symmetricEigen, type SymmetricEigen } from '@mmmi/latents';
import { mulberry32 } from './random.js';

/** Column means of the n×d row-major matrix `a`. */
export function columnMeans(a: Float64Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mean[j] += a[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  return mean;
}

/** A centred copy of the n×d row-major matrix `a` (its column means subtracted). */
export function centred(a: Float64Array, n: number, d: number, mean = columnMeans(a, n, d)): Float64Array {
  const c = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) c[o + j] = a[o + j] - mean[j];
  }
  return c;
}

/**
 * The unbiased sample covariance (divisor n − 1) of the n rows of the n×d row-major matrix
 * `a`, as a full symmetric d×d row-major matrix. Two passes: the means first, then the sum of
 * the centred rows' outer products (upper triangle, mirrored), so that a large common offset
 * costs no precision. n·d²/2 multiply-adds.
 */
export function covariance(a: Float64Array, n: number, d: number): Float64Array {
  if (n < 2) throw new RangeError(`covariance: ${n} rows, at least 2 are needed`);
  if (a.length !== n * d) throw new RangeError(`covariance: expected ${n}×${d} = ${n * d} values, got ${a.length}`);
  const mean = columnMeans(a, n, d);
  const c = new Float64Array(d * d);
  const r = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) r[j] = a[o + j] - mean[j];
    for (let j = 0; j < d; j++) {
      const rj = r[j];
      const row = j * d;
      for (let l = j; l < d; l++) c[row + l] += rj * r[l];
    }
  }
  for (let j = 0; j < d; j++)
    for (let l = j; l < d; l++) {
      const v = c[j * d + l] / (n - 1);
      c[j * d + l] = v;
      c[l * d + j] = v;
    }
  return c;
}

/** The principal submatrix of the d×d matrix `a` on rows and columns [from, to). */
export function principalBlock(a: Float64Array, d: number, from: number, to: number): Float64Array {
  const m = to - from;
  const b = new Float64Array(m * m);
  for (let i = 0; i < m; i++) b.set(a.subarray((from + i) * d + from, (from + i) * d + to), i * m);
  return b;
}

/**
 * Solves L X = B in place for X (forward substitution), L d×d lower-triangular row-major, B
 * d×m row-major: every column of B at once.
 */
export function solveLowerInPlace(l: Float64Array, d: number, b: Float64Array, m: number): void {
  for (let i = 0; i < d; i++) {
    const bi = i * m;
    for (let k = 0; k < i; k++) {
      const lik = l[i * d + k];
      if (lik === 0) continue;
      const bk = k * m;
      for (let c = 0; c < m; c++) b[bi + c] -= lik * b[bk + c];
    }
    const lii = l[i * d + i];
    for (let c = 0; c < m; c++) b[bi + c] /= lii;
  }
}

/**
 * (a + aᵀ)/2 for the d×d row-major matrix `a`: what the eigen-decompositions here take, so that
 * a slightly asymmetric input (the Rayleigh–Ritz matrix, built entry by entry) is symmetrised
 * rather than read by one triangle. Refuses a non-finite entry.
 */
export function symmetrised(a: Float64Array, d: number): Float64Array {
  if (a.length !== d * d) throw new RangeError(`symmetricEigen: expected ${d}×${d} = ${d * d} values, got ${a.length}`);
  const sym = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const x = 0.5 * (a[i * d + j] + a[j * d + i]);
      if (!Number.isFinite(x)) throw new RangeError(`symmetricEigen: entry (${i}, ${j}) is ${x}`);
      sym[i * d + j] = x;
    }
  }
  return sym;
}

/**
 * A symmetric positive semi-definite operator on R^dim, applied to a block of b vectors stored
 * one after another (b×dim row-major: vector c is block[c·dim, (c + 1)·dim)); returns the b
 * products A·v in the same layout.
 */
export type BlockOperator = (block: Float64Array, b: number) => Float64Array;

export interface TopEigenOptions {
  /**
   * Vectors per Krylov block (default min(k, 4)): eigenvalues of multiplicity up to this are
   * resolved in exact arithmetic (higher ones by rounding, or by the restarts once the space is
   * invariant). Small blocks need the fewest products; measured on image-like spectra, 2–4
   * beat 8 and 16 by 1.5–2×.
   */
  blockSize?: number;
  /** Converged when every wanted residual ‖A v − θ v‖ ≤ tolerance · θ_max (default 1e-9). */
  tolerance?: number;
  /** The most basis vectors kept (default min(dim, max(1500, 4k))); at dim the answer is exact. */
  maxBasis?: number;
  /** Seed of the random start block (default 1). */
  seed?: number;
  /**
   * Multiply-adds of one operator application to one vector (default dim²). The Rayleigh–Ritz
   * check runs once the work since the last one costs at least as much as a check (about
   * 10 s³ + 2 s dim for basis size s), or the basis has grown by a quarter since.
   */
  productCost?: number;
}

export interface TopEigen {
  /** The k largest Ritz values, descending. */
  values: Float64Array;
  /** k×dim row-major: row i is the unit Ritz vector of values[i]; the rows are orthonormal. */
  vectors: Float64Array;
  /** Residual norms ‖A v_i − θ_i v_i‖ of the k pairs. */
  residuals: Float64Array;
  /** Whether every residual met the tolerance (always true once the basis spans R^dim). */
  converged: boolean;
  /** Basis vectors used (the Rayleigh–Ritz dimension). */
  basisSize: number;
  /** Operator applications, counted in vectors. */
  products: number;
}

/**
 * The k largest eigenpairs of a symmetric positive semi-definite operator on R^dim by block
 * Krylov (block Lanczos with full reorthogonalisation) and Rayleigh–Ritz:
 *
 *   K = span{Q₀, A Q₀, A² Q₀, …}, Q₀ a random dim×b block; T = Kᵀ A K; the top-k eigenpairs
 *   (θ, y) of T give Ritz pairs (θ, K y).
 *
 * Every new block is A times the previous one, orthogonalised twice against the whole basis
 * (classical Gram–Schmidt, twice is enough), then within itself; a vector that loses all but
 * 1e-10 of its norm (the Krylov space has become invariant: a rank-deficient operator, or
 * fewer distinct eigenvalues than wanted) is replaced by a fresh random vector, so the basis
 * keeps growing until it spans R^dim. Both K and A K are stored, so the residual of every Ritz
 * pair, ‖(A K) y − θ K y‖, is computed exactly rather than estimated. The Rayleigh–Ritz step runs
 * whenever the work since the last one (products, orthogonalisation) costs as much as it does,
 * or the basis has grown by a quarter (so the basis overshoots convergence by at most that),
 * and stops once the k residuals are all ≤
 * tolerance · θ_max; then every θ_i is within its residual of an eigenvalue of A (and within
 * residual²/gap of the one it approximates), and the Ritz values are never above the true top-k
 * eigenvalues. When the basis reaches dim the result is the exact decomposition.
 *
 * Cost: (basis size) operator applications, plus about 4 · dim · basis² for the
 * orthogonalisation and the Rayleigh–Ritz steps. Memory: 2 · dim · basis doubles.
 */
export function topEigen(apply: BlockOperator, dim: number, k: number, options: TopEigenOptions = {}): TopEigen {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`topEigen: dimension ${dim}`);
  if (!Number.isInteger(k) || k < 1 || k > dim) throw new RangeError(`topEigen: k = ${k} eigenpairs of a ${dim}-dimensional operator`);
  const blockSize = Math.min(options.blockSize ?? Math.min(k, 4), dim);
  const tolerance = options.tolerance ?? 1e-9;
  const maxBasis = Math.min(dim, Math.max(options.maxBasis ?? Math.max(1500, 4 * k), k + blockSize));
  const random = mulberry32(options.seed ?? 1);
  const basis: Float64Array[] = [];
  const products: Float64Array[] = [];
  // t[i·maxBasis + j] = basis_i · A basis_j, filled in as the basis grows
  const t = new Float64Array(maxBasis * maxBasis);
  const productCost = options.productCost ?? dim * dim;
  let sinceCheck = 0;
  let lastCheck = k + blockSize;
  let block = Array.from({ length: blockSize }, () => randomVector(dim, random));
  let productCount = 0;

  for (;;) {
    block = orthonormaliseAgainst(block, basis, dim, random);
    if (block.length === 0) break; // basis spans R^dim
    const packed = new Float64Array(dim * block.length);
    block.forEach((q, c) => packed.set(q, c * dim));
    const applied = apply(packed, block.length);
    productCount += block.length;
    // the block's products, its orthogonalisation (two passes) and its column of T
    sinceCheck += block.length * (productCost + 5 * basis.length * dim);
    const ab = block.map((_, c) => applied.slice(c * dim, (c + 1) * dim));
    const s0 = basis.length;
    basis.push(...block);
    products.push(...ab);
    const s = basis.length;
    for (let j = s0; j < s; j++)
      for (let i = 0; i < s; i++) {
        const x = dot(basis[i], products[j], dim);
        t[i * maxBasis + j] = x;
        if (i < s0) t[j * maxBasis + i] = x;
      }
    const checkCost = 10 * s ** 3 + 2 * s * dim;
    if ((s >= k + blockSize && (sinceCheck >= checkCost || s >= 1.25 * lastCheck)) || s >= maxBasis || s >= dim) {
      sinceCheck = 0;
      lastCheck = s;
      const ritz = descending(symmetricEigen(symmetrised(leading(t, maxBasis, s), s), s));
      const limit = tolerance * Math.max(ritz.values[0], 0);
      // the last wanted pair converges last: test from there, stop at the first failure
      let ok = true;
      for (let i = k - 1; i >= 0 && ok; i--) ok = residual(basis, products, ritz, i, dim).norm <= limit;
      if (ok || s >= maxBasis || s >= dim) return ritzPairs(basis, products, ritz, k, dim, ok || s >= dim, productCount);
    }
    // the next block: A times this one, at most what is left of R^dim and of the budget
    block = ab.slice(0, Math.min(ab.length, maxBasis - s)).map((v) => v.slice());
  }
  const s = basis.length;
  return ritzPairs(basis, products, descending(symmetricEigen(symmetrised(leading(t, maxBasis, s), s), s)), k, dim, true, productCount);
}

/** The leading s×s block of a matrix stored with row stride `stride`. */
function leading(a: Float64Array, stride: number, s: number): Float64Array {
  const out = new Float64Array(s * s);
  for (let i = 0; i < s; i++) out.set(a.subarray(i * stride, i * stride + s), i * s);
  return out;
}

/** Ritz vector i, K y_i, and its residual ‖(A K) y_i − θ_i K y_i‖. */
function residual(
  basis: Float64Array[],
  products: Float64Array[],
  ritz: Required<SymmetricEigen>,
  i: number,
  dim: number,
): { vector: Float64Array; norm: number } {
  const s = basis.length;
  const v = new Float64Array(dim);
  const av = new Float64Array(dim);
  for (let j = 0; j < s; j++) {
    const yj = ritz.vectors[i * s + j];
    if (yj === 0) continue;
    axpy(yj, basis[j], v, dim);
    axpy(yj, products[j], av, dim);
  }
  const theta = ritz.values[i];
  let rr = 0;
  for (let l = 0; l < dim; l++) rr += (av[l] - theta * v[l]) ** 2;
  return { vector: v, norm: Math.sqrt(rr) };
}

function ritzPairs(
  basis: Float64Array[],
  products: Float64Array[],
  ritz: Required<SymmetricEigen>,
  k: number,
  dim: number,
  converged: boolean,
  productCount: number,
): TopEigen {
  const values = ritz.values.slice(0, k);
  const vectors = new Float64Array(k * dim);
  const residuals = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const r = residual(basis, products, ritz, i, dim);
    vectors.set(r.vector, i * dim);
    residuals[i] = r.norm;
  }
  return { values, vectors, residuals, converged, basisSize: basis.length, products: productCount };
}

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
  }
  if (i < n) s0 += a[i] * b[i];
  return s0 + s1;
}

function randomVector(dim: number, random: () => number): Float64Array {
  const v = new Float64Array(dim);
  for (let i = 0; i < dim; i++) v[i] = 2 * random() - 1;
  return v;
}

/**
 * Orthonormalises the vectors of `block` against `basis` and each other (Gram–Schmidt, twice);
 * a vector left with under 1e-10 of its norm is replaced by a random one, and when no new
 * direction remains (the basis spans R^dim) fewer vectors come back. Vectors are modified.
 */
function orthonormaliseAgainst(block: Float64Array[], basis: Float64Array[], dim: number, random: () => number): Float64Array[] {
  const accepted: Float64Array[] = [];
  for (const start of block) {
    let v = start;
    for (let attempt = 0; ; attempt++) {
      if (basis.length + accepted.length >= dim) return accepted;
      const before = Math.sqrt(dot(v, v, dim));
      let after = 0;
      if (before > 0) {
        for (let pass = 0; pass < 2; pass++) {
          for (const q of basis) axpy(-dot(q, v, dim), q, v, dim);
          for (const q of accepted) axpy(-dot(q, v, dim), q, v, dim);
        }
        after = Math.sqrt(dot(v, v, dim));
      }
      if (after > 1e-10 * before && after > 0) {
        for (let i = 0; i < dim; i++) v[i] /= after;
        accepted.push(v);
        break;
      }
      // numerically inside the span: try a random direction (a few times; then give up on it)
      if (attempt >= 3) break;
      v = randomVector(dim, random);
    }
  }
  return accepted;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}
