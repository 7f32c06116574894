/**
 * Random design problems with a known solution, shared by the design bench and tests: a
 * base of N modalities that share N local proto-latents, and targets made by evaluating
 * random coefficients forward (so a design meeting them exists).
 */
import { constructiveStructure } from '../src/construct.js';
import type { DesignBase } from '../src/design/design.js';
import { parseTarget, type MiTarget } from '../src/design/targets.js';
import { conditionalMutualInformation } from '../src/mi.js';
import type { Rng } from '../src/rng.js';

/** N modalities sharing N local proto-latents (all-ones masks) and one θ proto-latent, random templates, d = 3072. */
export function sharedLatentTokens(n: number): string[] {
  const ones = (r: number, c: number) => JSON.stringify(Array.from({ length: r }, () => Array(c).fill(1)));
  const flags: Record<string, string> = {
    N_mod: String(n),
    N_u: String(n),
    rho_arg: JSON.stringify(Array(n).fill(1)),
    DAG_ul: ones(n, n),
    DAG_theta: ones(n, 1),
    alpha: '1.2',
    beta: '1.2',
    labels: JSON.stringify(Array(n).fill(0)),
    T_vectors_method: 'random',
  };
  return Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
}

/** The values `queries` take at random coefficients (ρ_θ ∈ [0.02, 0.3], ρ ∈ [0.3, 2], α ∈ [2, 6], β ∈ [1, 1.5]). */
export function feasibleTargets(base: DesignBase, rng: Rng, queries: string[]): MiTarget[] {
  const u = (a: number, b: number) => a + (b - a) * rng.uniform();
  const n = base.spec.nMod;
  const truth = { ...base.spec, rhoTheta: [u(0.02, 0.3)], rho: Array.from({ length: n }, () => u(0.3, 2)), alpha: u(2, 6), beta: u(1, 1.5) };
  const s = constructiveStructure(truth, base.templates);
  return queries.map((q) => {
    const t = parseTarget(`${q}=0`, n);
    return { ...t, value: conditionalMutualInformation(s, t.query.a, t.query.b, t.query.c) };
  });
}
