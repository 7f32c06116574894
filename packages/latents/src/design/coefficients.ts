/**
 * The coefficients an inverse design may change, as one vector of unknowns.
 *
 * The constructive model's MI is a smooth function of η (`eta_arg`), ρ_θ (`rho_theta_arg`),
 * ρ (`rho_arg`), α and β; the masks, N_u, N_u_theta and the templates stay as the base
 * configuration has them. The solver sees logarithms: log α and log β (they must stay
 * positive, so every point it tries is a valid model) and log |w| for each weight w with the
 * base's sign (flipping a proto-latent's sign is a symmetry of the model, and MI is close to
 * linear in the log of variance ratios, which keeps the problem well scaled across orders of
 * magnitude). A weight that is 0 in the base stays a plain real, free to leave 0.
 */
import { InputError } from '@mmmi/cli-kit';
import type { ConstructiveSpec } from '../spec.js';

type ListKey = 'eta' | 'rhoTheta' | 'rho';
type ScalarKey = 'alpha' | 'beta';

/** Flags the design may vary, and where each lives in the specification. */
export const DESIGNABLE_FLAGS = {
  rho_theta_arg: { key: 'rhoTheta', positive: false },
  rho_arg: { key: 'rho', positive: false },
  eta_arg: { key: 'eta', positive: false },
  alpha: { key: 'alpha', positive: true },
  beta: { key: 'beta', positive: true },
} as const satisfies Record<string, { key: ListKey | ScalarKey; positive: boolean }>;

export type DesignableFlag = keyof typeof DESIGNABLE_FLAGS;

/** What `--vary` means when it is not given: every weight of the proto-latents the modalities see. */
export const DEFAULT_VARY: readonly DesignableFlag[] = ['rho_theta_arg', 'rho_arg'];

export interface CoefficientSlot {
  flag: DesignableFlag;
  /** Entry of a list flag; undefined for a scalar. */
  index?: number;
  /** The unknown is log(sign·v); 0 for a plain real. */
  sign: -1 | 0 | 1;
}

export function parseVary(text: string | undefined): DesignableFlag[] {
  if (text === undefined) return [...DEFAULT_VARY];
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InputError(`--vary ${text}: name at least one of ${Object.keys(DESIGNABLE_FLAGS).join(', ')}`);
  for (const n of names) {
    if (!(n in DESIGNABLE_FLAGS)) {
      throw new InputError(
        `--vary ${n}: not a coefficient the design can change; choose from ${Object.keys(DESIGNABLE_FLAGS).join(', ')} (the masks and sizes stay as the base has them)`,
      );
    }
  }
  return [...new Set(names)] as DesignableFlag[];
}

/** One slot per varied number. */
export function coefficientSlots(spec: ConstructiveSpec, vary: readonly DesignableFlag[]): CoefficientSlot[] {
  const slots: CoefficientSlot[] = [];
  for (const flag of vary) {
    const { key, positive } = DESIGNABLE_FLAGS[flag];
    const value = spec[key];
    const sign = (v: number): -1 | 0 | 1 => (positive || v > 0 ? 1 : v < 0 ? -1 : 0);
    if (Array.isArray(value)) value.forEach((v, index) => slots.push({ flag, index, sign: sign(v) }));
    else slots.push({ flag, sign: sign(value) });
  }
  return slots;
}

/** The specification's coefficients as the solver's unknowns (log of the positive ones). */
export function toUnknowns(spec: ConstructiveSpec, slots: readonly CoefficientSlot[]): Float64Array {
  return Float64Array.from(slots, (s) => {
    const key = DESIGNABLE_FLAGS[s.flag].key;
    const v = s.index === undefined ? (spec[key] as number) : (spec[key] as number[])[s.index];
    return s.sign === 0 ? v : Math.log(s.sign * v);
  });
}

/** The specification with the unknowns put back. */
export function fromUnknowns(spec: ConstructiveSpec, slots: readonly CoefficientSlot[], x: Float64Array): ConstructiveSpec {
  const out: ConstructiveSpec = { ...spec, eta: [...spec.eta], rhoTheta: [...spec.rhoTheta], rho: [...spec.rho] };
  slots.forEach((s, i) => {
    const key = DESIGNABLE_FLAGS[s.flag].key;
    const v = s.sign === 0 ? x[i] : s.sign * Math.exp(x[i]);
    if (s.index === undefined) (out[key as ScalarKey] as number) = v;
    else (out[key as ListKey] as number[])[s.index] = v;
  });
  return out;
}

/** The varied flags' values, as an argument file writes them. */
export function flagValues(spec: ConstructiveSpec, vary: readonly DesignableFlag[]): Record<string, number | number[]> {
  return Object.fromEntries(vary.map((flag) => [flag, spec[DESIGNABLE_FLAGS[flag].key]]));
}
