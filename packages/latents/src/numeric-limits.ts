/**
 * Flag values at which float64 no longer carries the model, named as the cause of a failure.
 *
 * The MI and alignment routines are exact in exact arithmetic, but their float64 evaluation
 * needs the model's numbers within range: K = G·Gᵀ squares the weights ρ_l·α^(−|i−l|), so
 * weights (or decay powers) that differ by more than about 10⁸ make K singular to float64
 * (condition beyond 10¹⁶), and the d·log|K| terms carry a rounding of about d·2⁻⁵² nats. When a
 * numeric routine then fails, its own words (a singular block, a continued fraction that does
 * not converge) do not say which input did it; this module names the flag and value.
 *
 * - `checkPrecisionLimits`: refuses before any work what can only give wrong numbers
 *   (a --mod_dim beyond MAX_MOD_DIM: the MI's rounding would reach whole nats, even +∞).
 * - `blameExtremeFlags`: after a numeric failure, the flags whose values are extreme
 *   (farther than 10⁶ from 1, or a percentile within 10⁻⁶ of 0 or 1) are named with the failure.
 */
import { InputError, UsageError } from '@mmmi/cli-kit';
import type { LatentSpec } from './spec.js';

/** Largest --mod_dim: d·2⁻⁵² stays below 10⁻⁶ nats. */
export const MAX_MOD_DIM = 2 ** 32;
/** A magnitude this far from 1 (either way) is extreme. */
const EXTREME_DECADES = 6;

/** What the refusal asks for. */
export const EXTREME_FIX = `keep weights and decay powers within 10^±${EXTREME_DECADES} of 1 and --percentile_to_align within [1e-${EXTREME_DECADES}, 1 − 1e-${EXTREME_DECADES}]`;

const far = (v: number) => v !== 0 && Math.abs(Math.log10(Math.abs(v))) > EXTREME_DECADES;

export function checkPrecisionLimits(spec: LatentSpec): void {
  if (spec.modDim > MAX_MOD_DIM) {
    throw new InputError(
      `--mod_dim ${spec.modDim}: beyond ${MAX_MOD_DIM} values per modality the exact MI's d·log|K| terms lose their precision in float64 (results off by whole nats, or infinite); use at most ${MAX_MOD_DIM}`,
    );
  }
}

/** The user's flag values that are extreme for float64, as "--flag value" with the reason. */
export function extremeFlagValues(spec: LatentSpec): string[] {
  const out: string[] = [];
  if (spec.paradigm === 'sampling') {
    for (const [flag, v] of [
      ['theta_var', spec.thetaVar],
      ['epsilon', spec.epsilon],
      ['delta', spec.delta],
    ] as const) {
      if (v !== null && far(v)) out.push(`--${flag} ${v}`);
    }
    const covs = [...(spec.covImages?.flat() ?? []), ...(Array.isArray(spec.covTheta) ? spec.covTheta : spec.covTheta === null ? [] : [spec.covTheta])];
    if (covs.some(far)) out.push(`--cov_images/--cov_theta with entries beyond 10^±${EXTREME_DECADES}`);
    return out;
  }
  for (const [flag, list] of [
    ['rho_arg', spec.rho],
    ['rho_theta_arg', spec.rhoTheta],
    ['eta_arg', spec.eta],
  ] as const) {
    const bad = list.map((v, i) => [v, i] as const).filter(([v]) => far(v));
    if (bad.length) out.push(`--${flag} ${JSON.stringify(list)} (entry ${bad.map(([v, i]) => `${i} = ${v}`).join(', ')})`);
  }
  // α^(−|i−l|) over the mask's entries and β^(−i) over DAG_theta's rows: the largest power used
  let alphaPower = 0;
  spec.dagUl.forEach((row, i) => row.forEach((m, l) => m !== 0 && (alphaPower = Math.max(alphaPower, Math.abs(i - l)))));
  let betaPower = 0;
  spec.dagTheta.forEach((row, i) => row.some((m) => m !== 0) && (betaPower = Math.max(betaPower, i)));
  if (far(spec.alpha ** alphaPower)) out.push(`--alpha ${spec.alpha} (α^${alphaPower} = ${spec.alpha ** alphaPower} in the decay)`);
  if (far(spec.beta ** betaPower)) out.push(`--beta ${spec.beta} (β^${betaPower} = ${spec.beta ** betaPower} in the decay)`);
  const p = spec.align?.percentile;
  if (p !== undefined && (p < 10 ** -EXTREME_DECADES || 1 - p < 10 ** -EXTREME_DECADES)) out.push(`--percentile_to_align ${p}`);
  return out;
}

/**
 * Runs the numeric work; a failure that is not already the input's own message (InputError,
 * UsageError) while some flag values are extreme is refused naming them, with the routine's
 * words kept after them.
 */
export async function blameExtremeFlags<T>(spec: LatentSpec, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const extreme = extremeFlagValues(spec);
    if (e instanceof InputError || e instanceof UsageError || extreme.length === 0) throw e;
    throw new InputError(`${extreme.join('; ')}: extreme for the float64 computation of this model, which failed (${(e as Error).message}); ${EXTREME_FIX}`);
  }
}
