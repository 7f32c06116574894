/**
 * The quantities a user asks the harness about, in the MI table's notation ("X1;θ",
 * "X1,X2;θ", "X1;X2|θ"), and their exact values from the dataset's own latent structure.
 */
import { InputError } from '@mmmi/cli-kit';
import { conditionalMutualInformation, DegenerateMiError, groupLabel, parseMiQuery, type Group, type LatentStructure } from '@mmmi/latents';

export interface MiPair {
  /** What the user wrote. */
  text: string;
  /** The MI table's label, e.g. 'I(X_1; θ)' or 'I(X_1; X_2 | θ)'. */
  label: string;
  a: Group;
  b: Group;
  /** The condition (empty for unconditional pairs). */
  c: Group;
  /** Exact I(A; B | C), nats. */
  truth: number;
}

export const isEmptyGroup = (g: Group): boolean => g.mods.length === 0 && !g.theta;

export function pairLabel(a: Group, b: Group, c: Group): string {
  return isEmptyGroup(c) ? `I(${groupLabel(a)}; ${groupLabel(b)})` : `I(${groupLabel(a)}; ${groupLabel(b)} | ${groupLabel(c)})`;
}

/** Parses one pair and computes its truth; an unreadable or undefined pair is an InputError naming it. */
export function parsePair(text: string, structure: LatentStructure): MiPair {
  let q: { a: Group; b: Group; c: Group };
  try {
    q = parseMiQuery(text, structure.nMod);
  } catch (e) {
    throw new InputError(`--pair "${text}": ${(e as Error).message}`, { cause: e });
  }
  let truth: number;
  try {
    truth = conditionalMutualInformation(structure, q.a, q.b, q.c);
  } catch (e) {
    if (e instanceof RangeError || e instanceof DegenerateMiError) throw new InputError(`--pair "${text}": ${e.message}`, { cause: e });
    throw e;
  }
  if (!Number.isFinite(truth)) throw new InputError(`--pair "${text}": its MI is infinite (a deterministic relation); no estimator can be held against it`);
  return { text, label: pairLabel(q.a, q.b, q.c), ...q, truth };
}

/** The modalities any of the pairs reads (0-based, sorted). */
export function modalitiesRead(pairs: readonly MiPair[]): number[] {
  const s = new Set<number>();
  for (const p of pairs) for (const g of [p.a, p.b, p.c]) g.mods.forEach((i) => s.add(i));
  return [...s].sort((x, y) => x - y);
}
