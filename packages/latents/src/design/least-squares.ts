/**
 * Bounded nonlinear least squares for the inverse design: min_x ½‖r(x)‖² with r: Rⁿ → Rᵐ.
 *
 * Levenberg–Marquardt with Levenberg's damping: each step solves
 *   (JᵀJ + μI)·δ = −Jᵀr, μ = λ·max_j (JᵀJ)_jj   (or δ = −Jᵀ(JJᵀ + μI)⁻¹r when m < n)
 * with J the Jacobian by central differences, h_j = 10⁻⁶·max(1, |x_j|), so J's error is
 * O(h²) relative; a step is taken when it lowers ‖r‖ (λ ÷ 3), else λ × 4 and the step is
 * solved again. Bounds are the caller's: it works in unbounded coordinates (e.g. log α for
 * α > 0), and a point where r cannot be evaluated (a degenerate model) returns null and
 * counts as a failed step. The iteration stops when ‖r‖∞ ≤ tol, when λ exceeds 10¹², or
 * when ‖r‖ has not fallen by a relative 10⁻¹² over ten accepted steps.
 * Restarts from seeded random perturbations of the start (N(0, spread²) in each coordinate)
 * keep the best result; they stop at the first that meets the tolerance.
 */
import { cholesky, choleskySolve } from '../linalg.js';
import { Rng } from '../rng.js';

export interface LeastSquaresProblem {
  /** Number of unknowns. */
  n: number;
  /** Residuals at x, or null where they cannot be evaluated. */
  residuals(x: Float64Array): Float64Array | null;
}

export interface LeastSquaresResult {
  x: Float64Array;
  r: Float64Array;
  /** ‖r‖₂. */
  norm: number;
  /** ‖r‖∞. */
  maxAbs: number;
  iterations: number;
  evaluations: number;
}

export interface LeastSquaresOptions {
  /** Stop when every |r_k| ≤ tol. */
  tol: number;
  maxIterations?: number;
}

const norm2 = (r: Float64Array) => Math.sqrt(r.reduce((s, v) => s + v * v, 0));
const maxAbs = (r: Float64Array) => r.reduce((s, v) => Math.max(s, Math.abs(v)), 0);

function jacobian(p: LeastSquaresProblem, x: Float64Array, m: number): { j: Float64Array; evaluations: number } | null {
  const j = new Float64Array(m * p.n);
  for (let c = 0; c < p.n; c++) {
    const h = 1e-6 * Math.max(1, Math.abs(x[c]));
    const xp = Float64Array.from(x);
    const xm = Float64Array.from(x);
    xp[c] += h;
    xm[c] -= h;
    const rp = p.residuals(xp);
    const rm = p.residuals(xm);
    if (!rp || !rm) return null;
    for (let k = 0; k < m; k++) j[k * p.n + c] = (rp[k] - rm[k]) / (2 * h);
  }
  return { j, evaluations: 2 * p.n };
}

/** Row k · row q of the m × n matrix j. */
function dotRows(j: Float64Array, k: number, q: number, n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s += j[k * n + c] * j[q * n + c];
  return s;
}

/** One Levenberg–Marquardt run from x0 (see the module comment). */
export function levenbergMarquardt(p: LeastSquaresProblem, x0: Float64Array, options: LeastSquaresOptions): LeastSquaresResult | null {
  const maxIterations = options.maxIterations ?? 200;
  let x = Float64Array.from(x0);
  let r = p.residuals(x);
  if (!r) return null;
  const m = r.length;
  const n = p.n;
  let evaluations = 1;
  let lambda = 1e-3;
  let iterations = 0;
  const history: number[] = [norm2(r)];
  while (iterations < maxIterations && maxAbs(r) > options.tol && lambda < 1e12) {
    iterations++;
    const jac = jacobian(p, x, m);
    if (!jac) break;
    evaluations += jac.evaluations;
    const { j } = jac;
    // the smaller of the two equivalent systems: (JᵀJ + μI)δ = −Jᵀr (n × n), or, for an
    // underdetermined design (m < n), δ = −Jᵀ(JJᵀ + μI)⁻¹r (m × m), whose matrix keeps full
    // rank where JᵀJ is singular
    const dual = m < n;
    const size = dual ? m : n;
    const a = new Float64Array(size * size);
    if (dual) {
      for (let k = 0; k < m; k++) for (let q = 0; q < m; q++) a[k * m + q] = dotRows(j, k, q, n);
    } else {
      for (let k = 0; k < m; k++) for (let c = 0; c < n; c++) for (let d = 0; d < n; d++) a[c * n + d] += j[k * n + c] * j[k * n + d];
    }
    // Levenberg's damping, μ = λ·(largest diagonal entry): the unknowns share one scale
    // (logarithms), so the step is the smallest change that lowers the residuals, not a long
    // move along a direction they barely see
    let maxDiag = 0;
    for (let c = 0; c < size; c++) maxDiag = Math.max(maxDiag, a[c * size + c]);
    const scale = Math.max(maxDiag, 1e-300);
    let accepted = false;
    while (!accepted && lambda < 1e12) {
      const damped = Float64Array.from(a);
      for (let c = 0; c < size; c++) damped[c * size + c] += lambda * scale;
      const { factor: l, failedAt } = cholesky(damped, size, { relative: 0 });
      if (failedAt >= 0) {
        lambda *= 4;
        continue;
      }
      const delta = new Float64Array(n);
      if (dual) {
        const y = choleskySolve(l, m, r, 1);
        for (let c = 0; c < n; c++) for (let k = 0; k < m; k++) delta[c] -= j[k * n + c] * y[k];
      } else {
        const g = new Float64Array(n);
        for (let k = 0; k < m; k++) for (let c = 0; c < n; c++) g[c] -= j[k * n + c] * r[k];
        delta.set(choleskySolve(l, n, g, 1));
      }
      const trial = Float64Array.from(x, (v, c) => v + delta[c]);
      const rt = p.residuals(trial);
      evaluations++;
      if (rt && rt.every(Number.isFinite) && norm2(rt) < norm2(r)) {
        x = trial;
        r = rt;
        lambda = Math.max(lambda / 3, 1e-12);
        accepted = true;
      } else {
        lambda *= 4;
      }
    }
    if (!accepted) break;
    history.push(norm2(r));
    if (history.length > 10) {
      const before = history[history.length - 11];
      if (before - norm2(r) <= 1e-12 * before) break;
    }
  }
  return { x, r, norm: norm2(r), maxAbs: maxAbs(r), iterations, evaluations };
}

/** The best of a run from x0 and of up to `restarts` runs from seeded perturbations of it. */
export function leastSquaresWithRestarts(
  p: LeastSquaresProblem,
  x0: Float64Array,
  options: LeastSquaresOptions & { restarts: number; seed: number; spread?: number },
): LeastSquaresResult | null {
  const rng = new Rng(options.seed, 0);
  let best: LeastSquaresResult | null = null;
  let evaluations = 0;
  for (let attempt = 0; attempt <= options.restarts; attempt++) {
    const start = attempt === 0 ? x0 : Float64Array.from(x0, (v) => v + (options.spread ?? 0.5) * rng.normal());
    const result = levenbergMarquardt(p, start, options);
    if (result) {
      evaluations += result.evaluations;
      if (!best || result.norm < best.norm) best = result;
      if (result.maxAbs <= options.tol) break;
    }
  }
  return best && { ...best, evaluations };
}
