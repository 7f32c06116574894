/**
 * Brute-force dense float64 reference for the tests, written from SPEC §1–§3 alone and
 * sharing no code with src/: build A (constructive) or Σ (sampling) element by element,
 * then log-determinants by a plain Cholesky.
 */

export interface DenseConstructive {
  nMod: number;
  nU: number;
  nUTheta: number;
  d: number;
  alpha: number;
  beta: number;
  eta: number[];
  rhoTheta: number[];
  rho: number[];
  dagTheta: number[][];
  dagUl: number[][];
  /** T[k][i]: template of θ proto-latent k in modality i (length d). */
  T: Float64Array[][];
}

/** Σ in constructive order [θ, X_1 … X_N], from A with Σ = A·Aᵀ. */
export function denseConstructiveSigma(p: DenseConstructive): { sigma: Float64Array; n: number } {
  const rows = 1 + p.nMod * p.d;
  const cols = p.nUTheta + p.nU * p.d;
  const A = new Float64Array(rows * cols);
  for (let k = 0; k < p.nUTheta; k++) A[k] = p.eta[k];
  for (let i = 0; i < p.nMod; i++) {
    for (let t = 0; t < p.d; t++) {
      const row = 1 + i * p.d + t;
      for (let k = 0; k < p.nUTheta; k++) {
        A[row * cols + k] = p.dagTheta[i][k] * p.rhoTheta[k] * Math.pow(p.beta, -i) * p.T[k][i][t];
      }
      for (let l = 0; l < p.nU; l++) {
        A[row * cols + p.nUTheta + l * p.d + t] = p.dagUl[i][l] * p.rho[l] * Math.pow(p.alpha, -Math.abs(i - l));
      }
    }
  }
  const sigma = new Float64Array(rows * rows);
  for (let a = 0; a < rows; a++)
    for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += A[a * cols + c] * A[b * cols + c];
      sigma[a * rows + b] = s;
      sigma[b * rows + a] = s;
    }
  return { sigma, n: rows };
}

/** log|Σ[idx, idx]| by Cholesky; −Infinity when a pivot is not clearly positive. */
export function denseLogDet(sigma: Float64Array, n: number, idx: number[]): number {
  const m = idx.length;
  if (m === 0) return 0;
  const L = new Float64Array(m * m);
  let maxDiag = 0;
  for (const i of idx) maxDiag = Math.max(maxDiag, sigma[i * n + i]);
  let logDet = 0;
  for (let j = 0; j < m; j++) {
    let diag = sigma[idx[j] * n + idx[j]];
    for (let p = 0; p < j; p++) diag -= L[j * m + p] ** 2;
    if (!(diag > 1e-10 * maxDiag)) return -Infinity;
    const ljj = Math.sqrt(diag);
    L[j * m + j] = ljj;
    logDet += 2 * Math.log(ljj);
    for (let i = j + 1; i < m; i++) {
      let s = sigma[idx[i] * n + idx[j]];
      for (let p = 0; p < j; p++) s -= L[i * m + p] * L[j * m + p];
      L[i * m + j] = s / ljj;
    }
  }
  return logDet;
}

/** Index sets in a Σ of either order. */
export function indexOf(d: number, nMod: number, order: 'constructive' | 'sampling') {
  return (mods: number[], theta: boolean): number[] => {
    const idx: number[] = [];
    const off = order === 'constructive' ? 1 : 0;
    if (theta && order === 'constructive') idx.push(0);
    for (const i of mods) for (let t = 0; t < d; t++) idx.push(off + i * d + t);
    if (theta && order === 'sampling') idx.push(nMod * d);
    return idx;
  };
}

export type DenseGroup = { mods: number[]; theta: boolean };

/** I(A;B|C) from dense log-determinants: +∞ or 'undefined' in the degenerate cases. */
export function denseCmi(
  sigma: Float64Array,
  n: number,
  at: (mods: number[], theta: boolean) => number[],
  a: DenseGroup,
  b: DenseGroup,
  c: DenseGroup,
): number | 'undefined' {
  const u = (...g: DenseGroup[]) => ({ mods: [...new Set(g.flatMap((x) => x.mods))].sort((x, y) => x - y), theta: g.some((x) => x.theta) });
  const ld = (g: DenseGroup) => denseLogDet(sigma, n, at(g.mods, g.theta));
  const ac = ld(u(a, c));
  const bc = ld(u(b, c));
  const cc = ld(c);
  if (ac === -Infinity || bc === -Infinity || cc === -Infinity) return 'undefined';
  const abc = ld(u(a, b, c));
  if (abc === -Infinity) return Infinity;
  return 0.5 * (ac + bc - cc - abc);
}
