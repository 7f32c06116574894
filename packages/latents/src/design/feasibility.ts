/**
 * Targets that no Gaussian model can meet, found before any solving, each with the law it
 * breaks:
 * - MI, conditional or not, is never negative;
 * - I(A; B) ≤ I(A′; B′) when A ⊆ A′ and B ⊆ B′ (the chain rule: adding variables to either
 *   side never lowers an unconditional MI), in either order of the two groups.
 * Targets that pass these may still conflict through the model's structure; the solver
 * finds those (design.ts).
 */
import type { Group } from '../logdet.js';
import type { MiTarget } from './targets.js';

export interface Conflict {
  /** Labels of the targets that cannot hold together. */
  targets: string[];
  why: string;
}

const within = (x: Group, y: Group) => (!x.theta || y.theta) && x.mods.every((i) => y.mods.includes(i));
const unconditional = (t: MiTarget) => t.query.c.mods.length === 0 && !t.query.c.theta;

/** I(small) ≤ I(large) by the chain rule, for unconditional queries. */
function nested(small: MiTarget, large: MiTarget): boolean {
  const { a, b } = small.query;
  const { a: a2, b: b2 } = large.query;
  return (within(a, a2) && within(b, b2)) || (within(a, b2) && within(b, a2));
}

export function necessaryConditionConflicts(targets: readonly MiTarget[]): Conflict[] {
  const conflicts: Conflict[] = [];
  for (const t of targets) {
    if (t.value < 0) conflicts.push({ targets: [t.label], why: `${t.label} = ${t.value}: mutual information is never negative` });
  }
  for (const s of targets) {
    for (const l of targets) {
      if (s === l || !unconditional(s) || !unconditional(l) || !nested(s, l) || !(s.value > l.value)) continue;
      conflicts.push({
        targets: [s.label, l.label],
        why: `${s.label} = ${s.value} > ${l.label} = ${l.value}: adding variables to a side never lowers mutual information`,
      });
    }
  }
  return conflicts;
}
