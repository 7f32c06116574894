/**
 * The toolkit's one symmetric eigen-decomposition, in float64: Householder reduction to
 * tridiagonal form, then the implicit QL algorithm (EISPACK tred2/tql2, as in JAMA), O(n³).
 *
 *   A = Vᵀ·diag(λ)·V,   λ₀ ≤ λ₁ ≤ … ≤ λₙ₋₁,   V orthogonal,
 *
 * Convention (every caller reads it this way):
 * - `values` ascending;
 * - `vectors` row-major n×n holding V, i.e. row k (`vectors[k·n … k·n + n)`) is the unit
 *   eigenvector of `values[k]`: A·v_k = λ_k·v_k with v_k[j] = vectors[k·n + j];
 * - only the lower triangle of `a` is read (the upper is taken to mirror it).
 * A caller that wants another order reorders at the call (e.g. `descending(symmetricEigen(…))`).
 *
 * Rows as eigenvectors keep every inner loop on contiguous memory, which matters most at
 * n = 2048 (the FID's covariances). Used by the Fréchet distance's matrix square root (stable
 * where the covariances are singular or nearly so), the estimators' canonical correlations,
 * PCA and Rayleigh–Ritz steps, and latents' whitening, sampler square root and alignment spectra.
 * The accuracy is backward stable: each λ is exact for a matrix within a few ε·‖A‖ of `a`.
 */

export interface SymmetricEigen {
  /** Eigenvalues, ascending (or as reordered by `descending`). */
  values: Float64Array;
  /** Row-major n×n; row k is the unit eigenvector of values[k]. Absent for values-only. */
  vectors?: Float64Array;
}

const EPS = 2 ** -52;

function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x > y) {
    const r = y / x;
    return x * Math.sqrt(1 + r * r);
  }
  if (y === 0) return 0;
  const r = x / y;
  return y * Math.sqrt(1 + r * r);
}

/**
 * Eigenvalues, ascending (and, unless `valuesOnly`, eigenvectors as rows) of the symmetric n×n
 * row-major matrix `a` (only its lower triangle is read); see the module comment.
 */
export function symmetricEigen(a: Float64Array, n: number, valuesOnly?: false): Required<SymmetricEigen>;
export function symmetricEigen(a: Float64Array, n: number, valuesOnly: boolean): SymmetricEigen;
export function symmetricEigen(a: Float64Array, n: number, valuesOnly = false): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  // w[b*n + a] holds JAMA's V[a][b]: the lower triangle of A is read through the symmetry.
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      w[j * n + i] = a[i * n + j];
      w[i * n + j] = a[i * n + j];
    }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(w, d, e, n, valuesOnly);
  diagonalize(w, d, e, n, valuesOnly);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (valuesOnly) return { values };
  // column i of V is row i of w
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(w.subarray(src * n, src * n + n), dst * n));
  return { values, vectors };
}

/** Householder tridiagonalisation (tred2). V(r, c) is w[c*n + r]. */
function tridiagonalize(w: Float64Array, d: Float64Array, e: Float64Array, n: number, valuesOnly: boolean): void {
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + i - 1];
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        w[i * n + j] = f;
        const col = j * n;
        g = e[j] + w[col + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += w[col + k] * d[k];
          e[k] += w[col + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        const col = j * n;
        for (let k = j; k <= i - 1; k++) w[col + k] -= f * e[k] + g * d[k];
        d[j] = w[col + i - 1];
        w[col + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!valuesOnly) {
    for (let i = 0; i < n - 1; i++) {
      w[i * n + n - 1] = w[i * n + i];
      w[i * n + i] = 1;
      const h = d[i + 1];
      const next = (i + 1) * n;
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = w[next + k] / h;
        for (let j = 0; j <= i; j++) {
          const col = j * n;
          let g = 0;
          for (let k = 0; k <= i; k++) g += w[next + k] * w[col + k];
          for (let k = 0; k <= i; k++) w[col + k] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) w[next + k] = 0;
    }
  }
  if (valuesOnly) {
    // The tridiagonal's diagonal is left on V's diagonal by the reduction.
    for (let j = 0; j < n; j++) d[j] = w[j * n + j];
  } else {
    for (let j = 0; j < n; j++) {
      d[j] = w[j * n + n - 1];
      w[j * n + n - 1] = 0;
    }
    w[(n - 1) * n + n - 1] = 1;
  }
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e) (tql2); rotations applied to the rows of w. */
function diagonalize(w: Float64Array, d: Float64Array, e: Float64Array, n: number, valuesOnly: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= EPS * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (!valuesOnly) rotateRows(w, i * n, (i + 1) * n, c, s, n);
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > EPS * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

function rotateRows(w: Float64Array, ri: number, rj: number, c: number, s: number, n: number): void {
  for (let k = 0; k < n; k++) {
    const h = w[rj + k];
    const v = w[ri + k];
    w[rj + k] = s * v + c * h;
    w[ri + k] = c * v - s * h;
  }
}

/**
 * The same decomposition with the eigenvalues descending (row k of `vectors` still the
 * eigenvector of `values[k]`): both reversed, for callers that want the largest first.
 */
export function descending<E extends SymmetricEigen>(e: E): E {
  const n = e.values.length;
  const values = e.values.slice().reverse();
  if (!e.vectors) return { ...e, values };
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) vectors.set(e.vectors.subarray((n - 1 - k) * n, (n - k) * n), k * n);
  return { ...e, values, vectors };
}
