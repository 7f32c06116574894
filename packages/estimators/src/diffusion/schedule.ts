/**
 * MINDE's diffusion: the variance-preserving SDE (Song et al. 2021) with the constants of the
 * authors' code,
 *
 *   dX_t = −½ β(t) X_t dt + √β(t) dW_t,   β(t) = β_min + t (β_max − β_min),   t ∈ [t_ε, 1],
 *
 * so that X_t = α_t X_0 + σ_t ε with α_t² = exp(−β_min t − ½ (β_max − β_min) t²) and
 * σ_t² = 1 − α_t². In the log signal-to-noise ratio λ = log(α²/σ²), which falls with t,
 *
 *   dλ/dt = −β(t)/σ_t²,   hence   β(t)/σ_t² dt = −dλ,
 *
 * and α² = sigmoid(λ), σ² = sigmoid(−λ). The Girsanov integrand of MINDE carries the weight
 * g²/σ² = β/σ² (./readout.ts), which is exactly dλ: drawing λ uniformly on [λ(1), λ(t_ε)] is the
 * authors' importance sampling of t (density ∝ β/σ²), and their normalising constant is the width
 * of that range. With their β_min = 0.1, β_max = 20, t_ε = 10⁻³ it is [−10.05, 9.12].
 */

export interface VpSchedule {
  betaMin: number;
  betaMax: number;
  /** The smallest diffusion time (the SDE is not integrated down to t = 0, where σ → 0). */
  tEpsilon: number;
}

/** The log signal-to-noise ratio range the estimate integrates over. */
export interface LogSnrRange {
  /** λ(1): almost pure noise. */
  min: number;
  /** λ(t_ε): almost clean data. */
  max: number;
}

/** λ(t) = log α_t² − log σ_t², computed without cancellation at small t (σ² = −expm1(log α²)). */
export function logSnrAt(t: number, s: VpSchedule): number {
  const logAlpha2 = -(s.betaMin * t + 0.5 * (s.betaMax - s.betaMin) * t * t);
  return logAlpha2 - Math.log(-Math.expm1(logAlpha2));
}

export const logSnrRange = (s: VpSchedule): LogSnrRange => ({ min: logSnrAt(1, s), max: logSnrAt(s.tEpsilon, s) });

/** α and σ of X_λ = α X_0 + σ ε at log-SNR λ. */
export function signalAndNoise(lambda: number): { alpha: number; sigma: number } {
  return { alpha: Math.sqrt(1 / (1 + Math.exp(-lambda))), sigma: Math.sqrt(1 / (1 + Math.exp(lambda))) };
}

/** A seeded standard normal stream (Box–Muller on the package's uniform stream), so the noise does not depend on the tfjs backend. */
export function normalStream(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const u = 1 - uniform(); // (0, 1]: log(u) finite
    const r = Math.sqrt(-2 * Math.log(u));
    const phi = 2 * Math.PI * uniform();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
}
