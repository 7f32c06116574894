/**
 * Targets that the DAG itself fixes at 0: I(A; B | C) = 0 for every value of the
 * coefficients, so no design can give any other value.
 *
 * The constructive model is a linear Gaussian DAG whose roots are the independent
 * proto-latents (local u_l, θ proto-latents u_θk) and whose other nodes X_1 … X_N and θ each
 * have only roots as parents: u_l → X_i where DAG_ul[i][l]·ρ_l ≠ 0, u_θk → X_i where
 * DAG_theta[i][k]·ρ_θk ≠ 0 and the template T[k,i] is not the zero vector, u_θk → θ where
 * η_k ≠ 0 (a weight counts as present when it is not 0 or when --vary frees it; α and β are
 * positive and never remove an edge). By d-separation, A ⊥ B | C holds in every distribution
 * of this DAG, so the MI is exactly 0 whatever the coefficients, when no path joins them. In
 * this two-layer DAG a path alternates roots (never conditioned: C holds modalities and θ)
 * and collider nodes, which are open exactly when they are in C (they have no descendants).
 * So A and B are connected given C exactly when a parent of A and a parent of B lie in the
 * same class of proto-latents joined by "both are parents of one node of C".
 *
 * This is exact, not sampled: a d-separated target is 0 for every coefficient (a proof), with
 * no evaluation that rounding could blur. The converse does not hold for this model: its
 * weights are not free per edge (g[i,l] = ρ_l·α^(−|i−l|)), so the rows of two modalities on
 * the proto-latents on one side of both are proportional, and e.g. I(X_1; X_4 | X_2, θ) can
 * vanish for every coefficient although a path joins them. Such targets are not flagged here;
 * the solver reports them as missed.
 */
import type { Group } from '../logdet.js';
import { groupLabel } from '../mi.js';
import type { ConstructiveSpec } from '../spec.js';
import type { TemplateSet } from '../templates.js';
import type { DesignableFlag } from './coefficients.js';
import type { Conflict } from './feasibility.js';
import type { MiTarget } from './targets.js';

/** Proto-latent nodes: local l is l, θ proto-latent k is N_u + k. */
function parentsOf(spec: ConstructiveSpec, templates: TemplateSet, vary: readonly DesignableFlag[]): { modality: number[][]; theta: number[] } {
  const free = (flag: DesignableFlag, v: number) => v !== 0 || vary.includes(flag);
  const zeroTemplate = (k: number, i: number) => {
    const v = templates.vectors[templates.index[k][i]];
    return v.kind === 'const' ? v.value === 0 : v.data.every((x) => x === 0);
  };
  const modality = Array.from({ length: spec.nMod }, (_, i) => {
    const p: number[] = [];
    for (let l = 0; l < spec.nU; l++) if (spec.dagUl[i][l] !== 0 && free('rho_arg', spec.rho[l])) p.push(l);
    for (let k = 0; k < spec.nUTheta; k++) {
      if (spec.dagTheta[i][k] !== 0 && free('rho_theta_arg', spec.rhoTheta[k]) && !zeroTemplate(k, i)) p.push(spec.nU + k);
    }
    return p;
  });
  const theta: number[] = [];
  for (let k = 0; k < spec.nUTheta; k++) if (free('eta_arg', spec.eta[k])) theta.push(spec.nU + k);
  return { modality, theta };
}

/** True when A ⊥ B | C in every distribution of the DAG (see the module comment). */
export function dSeparated(spec: ConstructiveSpec, templates: TemplateSet, vary: readonly DesignableFlag[], query: { a: Group; b: Group; c: Group }): boolean {
  const parents = parentsOf(spec, templates, vary);
  const of = (g: Group) => [...g.mods.flatMap((i) => parents.modality[i]), ...(g.theta ? parents.theta : [])];
  // union–find over proto-latents: the parents of each conditioned node are joined
  const root = Array.from({ length: spec.nU + spec.nUTheta }, (_, i) => i);
  const find = (x: number): number => (root[x] === x ? x : (root[x] = find(root[x])));
  const conditioned = [...query.c.mods.map((i) => parents.modality[i]), ...(query.c.theta ? [parents.theta] : [])];
  for (const p of conditioned) for (const x of p.slice(1)) root[find(x)] = find(p[0]);
  const reachable = new Set(of(query.a).map(find));
  return !of(query.b).some((x) => reachable.has(find(x)));
}

/** A conflict for each target the DAG fixes at 0 whose value is not 0 (within `tol`). */
export function structuralZeroConflicts(
  spec: ConstructiveSpec,
  templates: TemplateSet,
  vary: readonly DesignableFlag[],
  targets: readonly MiTarget[],
  tol: number,
): Conflict[] {
  return targets
    .filter((t) => Math.abs(t.value) > tol && dSeparated(spec, templates, vary, t.query))
    .map((t) => {
      const { a, b, c } = t.query;
      const conditioned = c.mods.length || c.theta ? `, and no proto-latent links them through the conditioned ${groupLabel(c)}` : '';
      return {
        targets: [t.label],
        why: `${t.label} is 0 for every coefficient of this DAG: ${groupLabel(a)} and ${groupLabel(b)} share no proto-latent${conditioned}; drop the target or change the DAG (--DAG_ul, --DAG_theta)`,
      };
    });
}
