/**
 * Special functions the estimators need. Only what is used, each to full double precision on
 * the domain the estimators call it on.
 */

/** Euler–Mascheroni constant γ = −ψ(1). */
export const EULER_GAMMA = 0.5772156649015329;

/**
 * The digamma function ψ(x) = d/dx ln Γ(x), for x > 0.
 *
 * Below 6 the recurrence ψ(x) = ψ(x + 1) − 1/x lifts the argument to x ≥ 6; there the
 * asymptotic (Stirling) series is used,
 *
 *   ψ(x) ≈ ln x − 1/(2x) − Σ_{m=1..8} B_{2m} / (2m x^{2m})
 *        = ln x − 1/(2x) − 1/(12x²) + 1/(120x⁴) − 1/(252x⁶) + 1/(240x⁸) − 1/(132x¹⁰)
 *          + 691/(32760x¹²) − 1/(12x¹⁴) + 3617/(8160x¹⁶),
 *
 * whose truncation error is below the first omitted term, 43867/(14364 x¹⁸) ≤ 3.1·10⁻¹⁴ at
 * x = 6. The result is accurate to a few units in the last place of the larger of |ψ(x)| and 1.
 *
 * Like `Math.log`, returns NaN outside the domain (x ≤ 0 or NaN) and +∞ at +∞; the poles and
 * the negative axis are never needed by the estimators.
 */
export function digamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return x;
  let shift = 0;
  while (x < 6) {
    shift -= 1 / x;
    x += 1;
  }
  const t = 1 / (x * x);
  const series = t * (1 / 12 - t * (1 / 120 - t * (1 / 252 - t * (1 / 240 - t * (1 / 132 - t * (691 / 32760 - t * (1 / 12 - (t * 3617) / 8160)))))));
  return shift + Math.log(x) - 0.5 / x - series;
}
