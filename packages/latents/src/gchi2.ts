/**
 * Generalized chi-square distribution: Q = Σⱼ λⱼ·χ²_{nⱼ}, independent terms, λⱼ ≥ 0, integer nⱼ ≥ 1.
 *
 * Math. With cumulant generating function K(s) = ln E e^{sQ} = −½ Σ nⱼ ln(1 − 2λⱼs), defined for
 * s < 1/(2 max λ), Laplace inversion of the step function gives, for a real c:
 *   P(Q > x)  =  (1/2πi) ∫_{c−i∞}^{c+i∞} e^{K(s) − sx} / s ds,   0 < c < 1/(2 max λ),
 *   P(Q ≤ x)  = −(1/2πi) ∫_{c−i∞}^{c+i∞} e^{K(s) − sx} / s ds,   c < 0,
 *   pdf(x)    =  (1/2πi) ∫_{c−i∞}^{c+i∞} e^{K(s) − sx} ds.
 * Imhof's (1961) formula P(Q > x) = ½ + (1/π) ∫₀^∞ sin θ(u)/(u ρ(u)) du is the c → 0 limit of
 * the first line (the ½ is the half residue at s = 0). On that line the tail probability is
 * ½ minus an integral near ½, so far tails keep only absolute accuracy (a quantile at
 * p = 1e-10 would be good to ~1e-9), and the integrand decays only like u^{−1−N/2}, N = Σ nⱼ,
 * hopeless for N = 1 or 2. Moving the contour changes neither value, so here:
 *   · c is the saddle point ŝ of K(s) − sx (K'(ŝ) = x): the integrand peaks at the real axis
 *     without oscillating, and the tail comes out with relative accuracy. Within ~1 sd of
 *     the mean ŝ nears the pole at 0, and c = ±1/sd instead.
 *   · the path bends right, s(t) = c + αt² + it, α = K'''(c)/(6K''(c)) (the curvature of the
 *     steepest-descent path at c), so e^{−sx} adds a Gaussian decay e^{−αxt²}; α is reduced
 *     where the path would pass near a branch point 1/(2λⱼ) (see evaluate).
 *   · by conjugate symmetry the integral is (1/π) ∫₀^∞ Im[h(s(t)) s'(t)] dt, done by adaptive
 *     Gauss–Kronrod (7,15); magnitudes and phases are formed relative to t = 0, where the
 *     ~N-sized and ~√N-sized terms would otherwise cancel in floating point.
 * Weights are divided by the largest one first (Q/λmax), which keeps λ² finite.
 *
 * Quantile: Newton steps on ln(tail) in ln x (tail = CDF for p < ½, else survival), with the
 * pdf from the same quadrature, started from the Satterthwaite fit g·χ²_h (same mean and
 * variance), which is exact when all weights are equal; a bracket guards the steps.
 */
import { chi2Quantile, log1pmx, logGamma } from './chi2.js';

/** One term λ·χ²_n of the sum. */
export interface GeneralizedChi2Term {
  /** λ ≥ 0; terms with λ = 0 contribute nothing. */
  readonly weight: number;
  /** n, a positive integer (the multiplicity of λ). */
  readonly dof: number;
}

/** Q/scale, so that the largest weight is 1 and extreme weights cannot overflow λ². */
interface Model {
  /** distinct positive weights divided by scale, descending, with merged multiplicities */
  lam: Float64Array;
  n: Float64Array;
  /** the largest weight */
  scale: number;
  mean: number;
  /** Var = 2 Σ nλ² = K''(0) */
  variance: number;
  /** N = Σ n */
  dof: number;
}

function prepare(terms: readonly GeneralizedChi2Term[]): Model | null {
  if (!Array.isArray(terms)) throw new RangeError('terms must be an array of {weight, dof}');
  const merged = new Map<number, number>();
  terms.forEach((term, i) => {
    const w = term?.weight;
    const d = term?.dof;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new RangeError(`terms[${i}].weight must be a finite number >= 0, got ${String(w)}`);
    }
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0) {
      throw new RangeError(`terms[${i}].dof must be a positive integer, got ${String(d)}`);
    }
    if (w > 0) merged.set(w, (merged.get(w) ?? 0) + d);
  });
  if (merged.size === 0) return null;
  const ws = [...merged.keys()].sort((a, b) => b - a);
  const scale = ws[0];
  const lam = Float64Array.from(ws, (w) => w / scale);
  const n = Float64Array.from(ws, (w) => merged.get(w) as number);
  let mean = 0;
  let variance = 0;
  let dof = 0;
  for (let j = 0; j < lam.length; j++) {
    mean += n[j] * lam[j];
    variance += 2 * n[j] * lam[j] * lam[j];
    dof += n[j];
  }
  return { lam, n, scale, mean, variance, dof };
}

/** ŝ with K'(ŝ) = x, by Newton on 1/K'(s) − 1/x (exactly linear for one weight), bracketed. */
function saddlePoint(m: Model, x: number, scale: number): number {
  const { lam, n } = m;
  let lo: number;
  let hi: number;
  if (x > m.mean) {
    lo = 0;
    hi = 0.5; // the pole of K' at 1/(2 max λ), max λ = 1
  } else {
    // K'(s) < N/(−2s) for s < 0, so the root lies above −N/(2x).
    lo = Math.max(-m.dof / (2 * x), -Number.MAX_VALUE);
    hi = 0;
  }
  let s = 0;
  for (let iter = 0; iter < 200; iter++) {
    let k1 = 0;
    let k2 = 0;
    for (let j = 0; j < lam.length; j++) {
      const q = lam[j] / (1 - 2 * lam[j] * s);
      k1 += n[j] * q;
      k2 += 2 * n[j] * q * q;
    }
    if (k1 > x) hi = s;
    else lo = s;
    // h(s) = 1/K' − 1/x, h' = −K''/K'².
    let next = s + ((1 / k1 - 1 / x) * k1 * k1) / k2;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const step = Math.abs(next - s);
    s = next;
    if (step <= 1e-10 * (Math.abs(s) + scale) || hi - lo <= 1e-12 * (Math.abs(s) + scale)) break;
  }
  return s;
}

/** atan(z) − z for |z| < ½, without the cancellation of the direct difference. */
function atanmx(z: number): number {
  const z2 = z * z;
  let pw = -z * z2;
  let sum = pw / 3;
  for (let k = 5; ; k += 2) {
    pw *= -z2;
    const next = sum + pw / k;
    if (next === sum) return sum;
    sum = next;
  }
}

// Gauss–Kronrod (7,15) on [−1,1]: Kronrod abscissae (x₀ = 0 last), Kronrod and Gauss weights,
// written with the published tables' digits (more than a double holds; each parses to the nearest double).
/* eslint-disable no-loss-of-precision */
const XGK = [
  0.991455371120812639206854697526329, 0.949107912342758524526189684047851, 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
  0.586087235467691130294144845693013, 0.405845151377397166906606412076961, 0.207784955007898467600689403773245, 0.0,
];
const WGK = [
  0.02293532201052922496373200805897, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
  0.16900472663926790282658342659855, 0.190350578064785409913256402421014, 0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
];
const WG = [0.129484966168869693270611432679082, 0.27970539148927666790146777142378, 0.381830050505118944950369775488975, 0.417959183673469387755102040816327];
/* eslint-enable no-loss-of-precision */

/**
 * Writes, for t ≥ 0 and relative to the value at t = 0: out[0] the tail integrand (with ±1/s),
 * out[1] the pdf integrand, out[2] the log of out[0]'s envelope (out[0] without its sine).
 */
type Integrand = (t: number, out: Float64Array) => void;

interface Panel {
  a: number;
  b: number;
  tail: number;
  pdf: number;
  err: number;
  abs: number;
}

const buf = new Float64Array(3);

function gk15(f: Integrand, a: number, b: number): Panel {
  const half = 0.5 * (b - a);
  const mid = 0.5 * (a + b);
  f(mid, buf);
  let kTail = WGK[7] * buf[0];
  let gTail = WG[3] * buf[0];
  let kPdf = WGK[7] * buf[1];
  let abs = WGK[7] * Math.abs(buf[0]);
  for (let i = 0; i < 7; i++) {
    for (let side = -1; side <= 1; side += 2) {
      f(mid + side * half * XGK[i], buf);
      kTail += WGK[i] * buf[0];
      kPdf += WGK[i] * buf[1];
      abs += WGK[i] * Math.abs(buf[0]);
      if (i % 2 === 1) gTail += WG[(i - 1) / 2] * buf[0];
    }
  }
  return { a, b, tail: kTail * half, pdf: kPdf * half, err: Math.abs((kTail - gTail) * half), abs: abs * half };
}

/** Adaptive (7,15) on [0, T], starting from panels h, 2h, 4h, …, refining the worst panel first. */
function integrate(f: Integrand, h: number, T: number): { tail: number; pdf: number } {
  const panels: Panel[] = [];
  let a = 0;
  for (let b = Math.min(h, T); a < T; b = Math.min(2 * b, T)) {
    panels.push(gk15(f, a, b));
    a = b;
  }
  for (;;) {
    let tail = 0;
    let pdf = 0;
    let err = 0;
    let abs = 0;
    let worst = 0;
    for (let k = 0; k < panels.length; k++) {
      const p = panels[k];
      tail += p.tail;
      pdf += p.pdf;
      err += p.err;
      abs += p.abs;
      if (p.err > panels[worst].err) worst = k;
    }
    // |K15 − G7| overstates the K15 error; rounding sets the floor near 1e-16·∫|f|.
    if (err <= 1e-15 * Math.abs(tail) + 1e-16 * abs || panels.length >= 2000) return { tail, pdf };
    const p = panels[worst];
    const m = 0.5 * (p.a + p.b);
    panels[worst] = gk15(f, p.a, m);
    panels.push(gk15(f, m, p.b));
  }
}

interface Evaluation {
  lower: number;
  upper: number;
  pdf: number;
}

function evaluate(m: Model, x: number): Evaluation {
  const { lam, n } = m;
  const J = lam.length;
  if (x < 1e-20 * lam[J - 1]) {
    // Far below every weight, P(Q ≤ x) = x^{N/2} / (Γ(N/2+1) Π (2λⱼ)^{nⱼ/2}) · (1 + O(x/min λ))
    // (the volume of an ellipsoid), while the contour's scales would underflow.
    let logLower = 0.5 * m.dof * Math.log(x) - logGamma(0.5 * m.dof + 1);
    for (let j = 0; j < J; j++) logLower -= 0.5 * n[j] * Math.log(2 * lam[j]);
    const lower = Math.exp(logLower);
    return { lower, upper: 1 - lower, pdf: (0.5 * m.dof * lower) / x };
  }
  const sd = Math.sqrt(m.variance);
  // Keep |c| ≥ ~1/sd so the pole of 1/s at 0 stays about one integrand width from the path
  // (and c ≤ ¼, well inside the strip c < ½ where the upper-tail formula holds).
  const delta = Math.min(1 / sd, 0.25);
  const upperSide = x >= m.mean;
  const sHat = saddlePoint(m, x, delta);
  const c = upperSide ? Math.max(sHat, delta) : Math.min(sHat, -delta);

  const r0 = new Float64Array(J);
  let k2 = 0;
  let k3 = 0;
  // ln e^{K(c)−cx}, the integrand's scale. Where |2λc| is small, −½n ln(1−2λc) ≈ nλc nearly
  // cancels against −cx, so it is written −½n·log1pmx(−2λc) + nλc and the nλc parts are
  // summed with −x first.
  let logScale = 0;
  let meanSmall = 0;
  for (let j = 0; j < J; j++) {
    const u = -2 * lam[j] * c;
    r0[j] = 1 + u;
    const q = lam[j] / r0[j];
    k2 += 2 * n[j] * q * q;
    k3 += 8 * n[j] * q * q * q;
    if (Math.abs(u) <= 0.5) {
      logScale -= 0.5 * n[j] * log1pmx(u);
      meanSmall += n[j] * lam[j];
    } else {
      logScale -= 0.5 * n[j] * Math.log1p(u);
    }
  }
  logScale += c * (meanSmall - x);
  let slopeGap = -x; // K'(c) − x, zero at the saddle
  for (let j = 0; j < J; j++) slopeGap += (n[j] * lam[j]) / r0[j];
  const c2 = c * c;

  const integrandFor =
    (alpha: number): Integrand =>
    (t, out) => {
      const at2 = alpha * t * t;
      let dRe = -x * at2; // ln|e^{K(s)−sx}| − logScale
      // arg e^{K(s)−sx} = Σ ½n·atan2(y, r) − xt. Both parts are ~√N near the saddle and cancel
      // through K'(c) ≈ x, so each term is taken relative to its share nλt/r0 of t·K'(c).
      let phase = t * slopeGap;
      for (let j = 0; j < J; j++) {
        const l = lam[j];
        const r = r0[j] - 2 * l * at2; // Re(1 − 2λs)
        const y = 2 * l * t; // −Im(1 − 2λs)
        const u = (y * y - 2 * l * at2 * (r + r0[j])) / (r0[j] * r0[j]); // |1−2λs|²/r0² − 1
        dRe -= 0.25 * n[j] * Math.log1p(u);
        const z = y / r;
        phase +=
          r > 0 && Math.abs(z) < 0.5
            ? n[j] * (0.5 * atanmx(z) + (2 * l * l * t * at2) / (r * r0[j])) // ½(atan z − z) + λt(1/r − 1/r0)
            : n[j] * (0.5 * Math.atan2(y, r) - (l * t) / r0[j]);
      }
      // ds/dt = 2αt + i
      dRe += 0.5 * Math.log1p(4 * alpha * at2);
      phase += Math.atan2(1, 2 * alpha * t);
      out[1] = Math.exp(dRe) * Math.sin(phase);
      // 1/s for the upper tail, −1/s for the lower; s = (c + αt²) + it.
      const sr = c + at2;
      const logEnv = dRe - 0.5 * Math.log1p((at2 * (2 * c + at2) + t * t) / c2);
      const argS = upperSide ? Math.atan2(t, sr) : Math.atan2(-t, -sr);
      out[0] = Math.exp(logEnv) * Math.sin(phase - argS);
      out[2] = logEnv;
    };

  // The parabola must not pass close to a branch point 1/(2λⱼ) or to the pole at 0: there
  // |1 − 2λⱼs| < 1 − 2λⱼc (or |s| < |c|), and the integrand can grow along the path by up to
  // (…)^{−nⱼ/2}. Term j dips only if α > λⱼ/r0ⱼ, around τ = t² = τ₀(1−ρ), τ₀ = r0ⱼ/(2λⱼα),
  // ρ = λⱼ/(αr0ⱼ), over a relative width √(2ρ); the envelope is sampled densely there (its
  // maximum lies just before the dip, where the decay of the other factors is less) and on a
  // geometric grid, and α is halved until the envelope never exceeds twice its value at
  // t = 0. The grid also finds T, where the envelope has dropped below e^{−41.5} ≈ 1e-18.
  const h = 1 / Math.sqrt(k2);
  const probe = new Float64Array(3);
  let alpha = k3 / (6 * k2);
  let f = integrandFor(alpha);
  let T = h;
  for (let attempt = 0; attempt < 64; attempt++) {
    f = integrandFor(alpha);
    // [τ at the bottom, width in τ, largest possible gain −(n/4)·ln(ρ(2−ρ))]. Dips with
    // ρ ≥ ½ are wider than the grid spacing and are left to the grid, as are dips that can
    // gain at most e^{0.25}.
    let dips: [number, number, number][] = [];
    for (let j = 0; j < J; j++) {
      const rho = lam[j] / (alpha * r0[j]);
      const gain = rho < 0.5 ? -0.25 * n[j] * Math.log(rho * (2 - rho)) : 0;
      if (gain > 0.25) {
        const tau0 = r0[j] / (2 * lam[j] * alpha);
        dips.push([tau0 * (1 - rho), tau0 * Math.sqrt(2 * rho), gain]);
      }
    }
    if (dips.length > 32) dips = dips.sort((a, b) => b[2] - a[2]).slice(0, 32);
    if (2 * c * alpha + 1 < 0) {
      const tauS = -(2 * c * alpha + 1) / (2 * alpha * alpha);
      dips.push([tauS, Math.sqrt(tauS + 1 / (4 * alpha * alpha)) / alpha, Infinity]);
    }
    let worst = -Infinity;
    let lastDip = 0; // the integration range must cover every dip that is not negligible
    for (const [tau, width] of dips) {
      let local = -Infinity;
      for (let k = 0; k <= 40; k++) {
        const tk = tau - (k * width) / 4;
        if (tk <= 0) break;
        f(Math.sqrt(tk), probe);
        local = Math.max(local, probe[2]);
      }
      worst = Math.max(worst, local);
      if (local > -41.5) lastDip = Math.max(lastDip, Math.sqrt(tau));
    }
    T = 0.25 * h;
    for (let k = 0; k < 600; k++) {
      f(T, probe);
      worst = Math.max(worst, probe[2]);
      if (probe[2] < -41.5 && T > lastDip) break;
      T *= 1.1;
    }
    if (worst <= Math.LN2) break;
    alpha *= 0.5;
  }

  const { tail, pdf } = integrate(f, h, T);
  const tailProb = Math.min(1, Math.max(0, (Math.exp(logScale) / (Math.PI * Math.abs(c))) * tail));
  const density = Math.max(0, (Math.exp(logScale) / Math.PI) * pdf);
  return upperSide ? { lower: 1 - tailProb, upper: tailProb, pdf: density } : { lower: tailProb, upper: 1 - tailProb, pdf: density };
}

/**
 * P(Q ≤ x) for Q = Σ weightⱼ·χ²_{dofⱼ}. With no positive weight Q ≡ 0 (a point mass).
 * Throws RangeError for NaN x or an invalid term.
 */
export function generalizedChi2Cdf(x: number, terms: readonly GeneralizedChi2Term[]): number {
  if (typeof x !== 'number' || Number.isNaN(x)) throw new RangeError(`x must be a number, got ${String(x)}`);
  const m = prepare(terms);
  if (m === null) return x >= 0 ? 1 : 0;
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  return evaluate(m, x / m.scale).lower;
}

/**
 * x with P(Q ≤ x) = p for Q = Σ weightⱼ·χ²_{dofⱼ}, to ~1e-13 relative or better. With no
 * positive weight the answer is 0. Throws RangeError for p ∉ (0,1) or an invalid term.
 */
export function generalizedChi2Quantile(p: number, terms: readonly GeneralizedChi2Term[]): number {
  if (typeof p !== 'number' || !(p > 0 && p < 1)) {
    throw new RangeError(`p must be a probability strictly between 0 and 1, got ${String(p)}`);
  }
  const m = prepare(terms);
  if (m === null) return 0;
  const lower = p < 0.5;
  const logTarget = Math.log(lower ? p : 1 - p); // 1 − p is exact for p ≥ ½
  // Works on Q/scale throughout; the pdf below is that of Q/scale, consistently.
  const g = m.variance / (2 * m.mean);
  let x = g * chi2Quantile(p, m.mean / g);
  let lo = 0;
  let hi = Infinity;
  let prevStep = Infinity;
  for (let iter = 0; iter < 100; iter++) {
    const ev = evaluate(m, x);
    const tail = lower ? ev.lower : ev.upper;
    // ln(tail/target), signed to increase with x; its derivative in ln x is x·pdf/tail
    const mismatch = lower ? Math.log(tail) - logTarget : logTarget - Math.log(tail);
    if (mismatch === 0) return x * m.scale;
    if (mismatch > 0) hi = x;
    else lo = x;
    const step = (-mismatch * tail) / (x * ev.pdf);
    if (Math.abs(step) < 1e-14) return x * Math.exp(step) * m.scale;
    // A step that no longer shrinks quadratically is quadrature noise in the tail value.
    if (Math.abs(step) < 1e-11 && Math.abs(step) > 0.5 * prevStep) return x * Math.exp(step) * m.scale;
    prevStep = Math.abs(step);
    let next = x * Math.exp(step);
    if (!(next > lo && next < hi)) {
      // Newton leaving a bracket this narrow means the root sits at its edge, within noise.
      if ((hi - lo) / hi < 1e-13) return (next <= lo ? lo : hi) * m.scale;
      if (lo > 0 && hi < Infinity) next = Math.sqrt(lo * hi);
      else next = lo > 0 ? lo * 2 : hi / 2;
    }
    x = next;
  }
  return x * m.scale;
}
