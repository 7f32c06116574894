/**
 * Chi-square distribution in plain double precision: ln Γ, the regularized incomplete
 * gamma functions, the χ² CDF and its quantile.
 *
 * Math.
 *   P(a,x) = γ(a,x)/Γ(a),  Q(a,x) = 1 − P(a,x),  χ²_k CDF(x) = P(k/2, x/2).
 *   Both tails are D(a,x)·S with D(a,x) = xᵃe⁻ˣ/Γ(a+1):
 *     x < a+1:  P = D · Σ_{k≥0} xᵏ / ((a+1)(a+2)…(a+k))                   (Kummer series)
 *     x ≥ a+1:  Q = a·D / (x+1−a − 1(1−a)/(x+3−a − 2(2−a)/(x+5−a − …)))   (Legendre CF, Lentz)
 *   Only the smaller tail is summed; the other is 1 minus it.
 *   Near x ≈ a with large a, ln D = a ln x − x − ln Γ(a+1) is a difference of numbers ~ a ln a,
 *   so in double precision it would lose ~log10(a) digits. Instead (Loader's saddle-point form)
 *     ln D = a·log1pmx((x−a)/a) − ½ ln(2πa) − stirlerr(a),   log1pmx(u) = ln(1+u) − u,
 *   where stirlerr(a) = ln Γ(a+1) − (a+½) ln a + a − ½ ln 2π is small; both pieces keep full
 *   relative precision (for |x−a| > a/2 the first is a·ln(x/a) − (x−a), free of cancellation).
 *   Near x ≈ a the series and the CF need O(√a) terms, still cheap (≈ 3·10⁴ at a = 10⁷).
 *   What remains is a relative error of order ε·|ln P| (or ε·|ln Q|) from the final exp.
 *
 * Quantile: Newton steps on ln(tail) as a function of ln x, where tail is P for p < ½ and Q
 * otherwise (so 1 − p is never formed from a rounded p near 1). Both ln P and ln Q are
 * concave in ln x (the log of a gamma variable has a log-concave density), so Newton
 * converges monotonically after at most one overshoot; a bracket guards it anyway.
 */

const LN_SQRT_2PI = 0.9189385332046727; // ½ ln(2π)
const EPS = 2.220446049250313e-16;

function checkFinitePositive(name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${String(v)}`);
  }
}

function checkProbability(p: number): void {
  if (typeof p !== 'number' || !(p > 0 && p < 1)) {
    throw new RangeError(`p must be a probability strictly between 0 and 1, got ${String(p)}`);
  }
}

function checkNotNaN(name: string, v: number): void {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new RangeError(`${name} must be a number, got ${String(v)}`);
}

/** ln(1+u) − u, accurate also where the two terms nearly cancel (|u| small). */
export function log1pmx(u: number): number {
  if (!(u >= -1)) return NaN;
  if (u === -1) return -Infinity;
  if (Math.abs(u) > 0.5) return Math.log1p(u) - u;
  // ln(1+u) = 2 atanh v with v = u/(2+u), and 2v − u = −u·v: no cancelling terms remain.
  const v = u / (2 + u);
  const v2 = v * v;
  let sum = -u * v;
  let pw = 2 * v * v2;
  for (let k = 3; ; k += 2) {
    const next = sum + pw / k;
    if (next === sum) return sum;
    sum = next;
    pw *= v2;
  }
}

// Stirling-series coefficients B₂ₖ / (2k(2k−1)), k = 1…8.
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400];

/** Stirling-series remainder ln Γ(x+1) − (x+½) ln x + x − ½ ln 2π for x ≥ 10 (truncation < 1e-19 there). */
function stirlingTail(x: number): number {
  const r = 1 / (x * x);
  let sum = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) sum = sum * r + STIRLING[k];
  return sum / x;
}

/**
 * ln Γ(x) for x > 0. Stirling series for x ≥ 10 (relative error ~1e-16 there); below 10
 * the argument is shifted up by the recurrence Γ(x) = Γ(x+k)/(x(x+1)…(x+k−1)).
 */
export function logGamma(x: number): number {
  checkNotNaN('x', x);
  if (x <= 0) throw new RangeError(`x must be > 0, got ${x}`);
  if (x === Infinity) return Infinity;
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingTail(x);
  let prod = 1;
  let y = x;
  while (y < 10) prod *= y++;
  return (y - 0.5) * Math.log(y) - y + LN_SQRT_2PI + stirlingTail(y) - Math.log(prod);
}

/** ln Γ(a+1) − (a+½) ln a + a − ½ ln 2π. */
function stirlerr(a: number): number {
  if (a >= 10) return stirlingTail(a);
  return logGamma(a + 1) - (a + 0.5) * Math.log(a) + a - LN_SQRT_2PI;
}

/** ln D(a,x) = ln(xᵃ e⁻ˣ / Γ(a+1)). */
function logPrefactor(a: number, x: number): number {
  // For a < 1 the direct form has no large cancelling terms (and (x−a)/a could overflow).
  if (a < 1) return a * Math.log(x) - x - logGamma(a + 1);
  // Away from x ≈ a, u = (x−a)/a near −1 would carry the rounding of x−a into ln(1+u).
  const u = (x - a) / a;
  const core = Math.abs(u) <= 0.5 ? a * log1pmx(u) : a * Math.log(x / a) - (x - a);
  return core - 0.5 * Math.log(2 * Math.PI * a) - stirlerr(a);
}

interface GammaTails {
  /** ln P(a,x) */
  logP: number;
  /** ln Q(a,x) */
  logQ: number;
  /** ln D(a,x), D = xᵃe⁻ˣ/Γ(a+1); a·D is d P / d ln x. */
  logD: number;
}

const MAX_TERMS = 100_000_000;

/** Both tails in log form; a > 0 and 0 < x < ∞ are assumed. */
function gammaTails(a: number, x: number): GammaTails {
  const logD = logPrefactor(a, x);
  if (x < a + 1) {
    let sum = 1;
    let term = 1;
    for (let k = 1; ; k++) {
      const r = x / (a + k);
      term *= r;
      sum += term;
      // r shrinks with k, so the remaining terms sum to less than term·r/(1−r).
      if (term * r < 0.25 * EPS * sum * (1 - r)) break;
      if (k > MAX_TERMS) throw new Error(`gammaP series did not converge (a=${a}, x=${x})`);
    }
    const logP = logD + Math.log(sum);
    return { logP, logQ: Math.log1p(-Math.exp(logP)), logD };
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; ; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 0.5 * EPS) break;
    if (i > MAX_TERMS) throw new Error(`gammaQ continued fraction did not converge (a=${a}, x=${x})`);
  }
  const logQ = logD + Math.log(a * h);
  return { logP: Math.log1p(-Math.exp(logQ)), logQ, logD };
}

function checkGammaArgs(a: number, x: number): void {
  checkFinitePositive('a', a);
  checkNotNaN('x', x);
  if (x < 0) throw new RangeError(`x must be >= 0, got ${x}`);
}

/** Regularized lower incomplete gamma P(a,x) = γ(a,x)/Γ(a), a > 0, x ≥ 0. */
export function gammaP(a: number, x: number): number {
  checkGammaArgs(a, x);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return Math.exp(gammaTails(a, x).logP);
}

/** Regularized upper incomplete gamma Q(a,x) = Γ(a,x)/Γ(a) = 1 − P(a,x), a > 0, x ≥ 0. */
export function gammaQ(a: number, x: number): number {
  checkGammaArgs(a, x);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return Math.exp(gammaTails(a, x).logQ);
}

/** P(X ≤ x) for X ~ χ²_df; df > 0 need not be an integer. */
export function chi2Cdf(x: number, df: number): number {
  checkFinitePositive('df', df);
  checkNotNaN('x', x);
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  return Math.exp(gammaTails(df / 2, x / 2).logP);
}

/** Standard normal quantile, |error| < 4.5e-4 (Abramowitz & Stegun 26.2.23); a starting point only. */
function roughNormalQuantile(p: number): number {
  const q = p < 0.5 ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(q));
  const z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  return p < 0.5 ? -z : z;
}

function initialGuess(p: number, df: number): number {
  const h = 2 / (9 * df);
  const base = 1 - h + roughNormalQuantile(p) * Math.sqrt(h);
  const wilsonHilferty = base > 0 ? df * base * base * base : 0;
  if (p >= 0.5 && wilsonHilferty > 0) return wilsonHilferty;
  // P(a,y) ≤ yᵃ/Γ(a+1), so this is a lower bound on the quantile, and a good one when x ≪ df.
  const a = df / 2;
  const bound = 2 * Math.exp((Math.log(p) + logGamma(a + 1)) / a);
  return Math.max(wilsonHilferty, bound);
}

/**
 * x with P(X ≤ x) = p for X ~ χ²_df, to ~1e-15 relative. Throws RangeError for p ∉ (0,1)
 * or df not finite and > 0.
 */
export function chi2Quantile(p: number, df: number): number {
  checkProbability(p);
  checkFinitePositive('df', df);
  const a = df / 2;
  const lower = p < 0.5;
  const logTarget = Math.log(lower ? p : 1 - p); // 1 − p is exact for p ≥ ½
  let x = initialGuess(p, df);
  let lo = 0;
  let hi = Infinity;
  let prevStep = Infinity;
  for (let iter = 0; iter < 200; iter++) {
    const t = gammaTails(a, x / 2);
    // g is the tail's log-mismatch signed so that it increases with x.
    const g = lower ? t.logP - logTarget : logTarget - t.logQ;
    if (g === 0) return x;
    if (g > 0) hi = x;
    else lo = x;
    const slope = a * Math.exp(t.logD - (lower ? t.logP : t.logQ)); // d g / d ln x
    const step = -g / slope;
    if (Math.abs(step) < 4 * EPS) return x * Math.exp(step);
    // A step that no longer shrinks quadratically is rounding noise in the tail value.
    if (Math.abs(step) < 1e-12 && Math.abs(step) > 0.5 * prevStep) return x * Math.exp(step);
    prevStep = Math.abs(step);
    let next = x * Math.exp(step);
    if (!(next > lo && next < hi)) {
      // Newton leaving a bracket this narrow means the root sits at its edge, within rounding.
      if ((hi - lo) / hi < 1e-14) return next <= lo ? lo : hi;
      if (lo > 0 && hi < Infinity) next = Math.sqrt(lo * hi);
      else next = lo > 0 ? lo * 4 : hi / 4;
    }
    x = next;
  }
  return x;
}
