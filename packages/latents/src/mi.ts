/**
 * Exact Gaussian mutual information (SPEC §3), in nats.
 *
 *   I(A;B|C) = ½(log|Σ_AC| + log|Σ_BC| − log|Σ_C| − log|Σ_ABC|)
 *
 * over groups of {θ, X_1 … X_N}. Degenerate cases: when Σ_AC, Σ_BC and Σ_C are regular
 * but Σ_ABC is singular, A and B share a deterministic component given C and the MI is
 * +∞; when one of Σ_AC, Σ_BC, Σ_C is itself singular the quantity is undefined and a
 * DegenerateMiError says which group is degenerate.
 */
import { logDet, solveGroup, thetaConditionalVariance, thetaRegression, type Group, type MiMethod } from './logdet.js';
import type { LatentStructure } from './structure.js';

export class DegenerateMiError extends Error {
  override name = 'DegenerateMiError';
}

export function union(...groups: Group[]): Group {
  const mods = new Set<number>();
  let theta = false;
  for (const g of groups) {
    g.mods.forEach((i) => mods.add(i));
    theta ||= g.theta;
  }
  return { mods: [...mods].sort((a, b) => a - b), theta };
}

export function groupLabel(g: Group): string {
  const parts = g.mods.map((i) => `X_${i + 1}`);
  if (g.theta) parts.push('θ');
  return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`;
}

function checkDisjoint(a: Group, b: Group, c: Group): void {
  const seen = new Map<string, string>();
  const add = (g: Group, name: string) => {
    const keys = g.mods.map((i) => `X_${i + 1}`).concat(g.theta ? ['θ'] : []);
    for (const k of keys) {
      const prev = seen.get(k);
      if (prev && prev !== name) throw new RangeError(`${k} appears in both ${prev} and ${name}; the groups of I(A; B | C) must be disjoint`);
      seen.set(k, name);
    }
  };
  add(a, 'A');
  add(b, 'B');
  add(c, 'C');
  if (a.mods.length === 0 && !a.theta) throw new RangeError('I(A; B | C): A is empty');
  if (b.mods.length === 0 && !b.theta) throw new RangeError('I(A; B | C): B is empty');
}

/** I(A; B | C) in nats (C may be empty). */
export function conditionalMutualInformation(
  m: LatentStructure,
  a: Group,
  b: Group,
  c: Group = { mods: [], theta: false },
  method: MiMethod = 'numerical',
): number {
  checkDisjoint(a, b, c);
  const ac = logDet(m, union(a, c), method);
  const bc = logDet(m, union(b, c), method);
  const cc = logDet(m, c, method);
  for (const [g, r] of [
    [union(a, c), ac],
    [union(b, c), bc],
    [c, cc],
  ] as const) {
    if (r.value === -Infinity) {
      throw new DegenerateMiError(
        `I(${groupLabel(a)}; ${groupLabel(b)}${c.mods.length || c.theta ? ` | ${groupLabel(c)}` : ''}) is undefined: Σ of ${groupLabel(g)} is singular (${r.singular})`,
      );
    }
  }
  const abc = logDet(m, union(a, b, c), method);
  if (abc.value === -Infinity) return Infinity;
  // Not clamped at 0: a true zero (conditional independence) shows its rounding (~1e-12 at
  // d = 3072), which is more honest than hiding it.
  return 0.5 * (ac.value + bc.value - cc.value - abc.value);
}

export function mutualInformation(m: LatentStructure, a: Group, b: Group, method: MiMethod = 'numerical'): number {
  return conditionalMutualInformation(m, a, b, { mods: [], theta: false }, method);
}

const X = (...i: number[]): Group => ({ mods: i, theta: false });
const THETA: Group = { mods: [], theta: true };

export interface MiTable {
  labels: string[];
  values: number[];
}

/**
 * The reference's MI table, same labels and order (SPEC §3): I(X_i; θ) for every i,
 * I(X_1; X_j) for j ≥ 2, then I(X; θ) = I((X_1, X_2); θ), I(X_1; θ | X_2), I(X_2; θ | X_1),
 * the co-information I(X_1; X_2; θ) and I(X1; X2 | θ) — the last five need N ≥ 2.
 */
export function miTable(m: LatentStructure, method: MiMethod = 'numerical'): MiTable {
  const labels: string[] = [];
  const values: number[] = [];
  const n = m.nMod;
  for (let i = 0; i < n; i++) {
    labels.push(`I(X_${i + 1}; θ)`);
    values.push(mutualInformation(m, X(i), THETA, method));
  }
  for (let j = 1; j < n; j++) {
    labels.push(`I(X_1; X_${j + 1})`);
    values.push(mutualInformation(m, X(0), X(j), method));
  }
  if (n >= 2) {
    const i1t = values[0];
    const i2t = values[1];
    const ixt = mutualInformation(m, X(0, 1), THETA, method);
    const co = i1t + i2t - ixt;
    labels.push('I(X; θ)', 'I(X_1; θ | X_2)', 'I(X_2; θ | X_1)', 'I(X_1; X_2; θ)', 'I(X1; X2 | θ)');
    values.push(
      ixt,
      conditionalMutualInformation(m, X(0), THETA, X(1), method),
      conditionalMutualInformation(m, X(1), THETA, X(0), method),
      co,
      conditionalMutualInformation(m, X(0), X(1), THETA, method),
    );
    // I(X1;X2|θ) = I(X1;X2) − I(X1;X2;θ) is evaluated directly from log-determinants,
    // avoiding the cancellation of two large numbers.
  }
  return { labels, values };
}

/**
 * Pointwise MI between θ and a group of modalities for each sample:
 *   i(θ; x) = log p(θ | x_S) − log p(θ),
 * whose expectation is I(X_S; θ): θ | x ~ N(hᵀx, s²·c) with h the regression of θ on X_S
 * and c θ's conditional variance.
 *
 * `x` holds `count` samples of all N modalities (count × N × d, modality-major), `theta` count values.
 */
export function pointwiseMutualInformation(
  m: LatentStructure,
  theta: ArrayLike<number>,
  x: ArrayLike<number>,
  count: number,
  mods: readonly number[] = Array.from({ length: m.nMod }, (_, i) => i),
): Float64Array {
  const g = solveGroup(m, mods);
  if (!g) throw new DegenerateMiError(`pointwise MI: the latents of the group are linearly dependent (K restricted to it is singular)`);
  const s = g.mods;
  const n = s.length;
  const d = m.modDim;
  const cond = thetaConditionalVariance(m, g);
  if (!(cond > 0)) throw new DegenerateMiError('pointwise MI is infinite: θ is a deterministic function of the group');
  const h = thetaRegression(m, g);
  const s2 = m.scale * m.scale;
  const vTheta = s2 * m.thetaVar;
  const vCond = s2 * cond;
  const constant = -0.5 * Math.log(cond / m.thetaVar);
  const out = new Float64Array(count);
  const stride = m.nMod * d;
  for (let c = 0; c < count; c++) {
    let mu = 0;
    for (let a = 0; a < n; a++) {
      const off = c * stride + s[a] * d;
      for (let t = 0; t < d; t++) mu += h[a * d + t] * x[off + t];
    }
    const th = theta[c];
    out[c] = constant - ((th - mu) * (th - mu)) / (2 * vCond) + (th * th) / (2 * vTheta);
  }
  return out;
}

/**
 * Parse a group query such as `X1,X2;theta|X3`, `X;θ`, `X1..X5;X6..X10|theta`:
 * groups separated by `;`, an optional condition after `|`, members X<i> (1-based),
 * X<i>..X<j> ranges, X (all modalities) and theta/θ.
 */
export function parseMiQuery(q: string, nMod: number): { a: Group; b: Group; c: Group } {
  const [main, cond = ''] = q.split('|');
  const parts = main.split(';');
  if (parts.length !== 2) throw new RangeError(`MI query "${q}": expected two groups separated by ';' (e.g. X1,X2;theta|X3)`);
  const group = (text: string): Group => {
    const mods = new Set<number>();
    let theta = false;
    for (const raw of text
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)) {
      const item = raw.replace(/_/g, '');
      if (/^(theta|θ|t|y)$/i.test(item)) {
        theta = true;
        continue;
      }
      if (/^x$/i.test(item)) {
        for (let i = 0; i < nMod; i++) mods.add(i);
        continue;
      }
      const range = /^x(\d+)(?:(?:\.\.|-)x?(\d+))?$/i.exec(item);
      if (!range) throw new RangeError(`MI query "${q}": cannot read "${raw}" (use X1, X2..X5, X or theta)`);
      const lo = Number(range[1]);
      const hi = range[2] === undefined ? lo : Number(range[2]);
      if (lo > hi) throw new RangeError(`MI query "${q}": the range ${raw} is reversed; write X${hi}..X${lo}`);
      if (lo < 1 || hi > nMod) throw new RangeError(`MI query "${q}": ${raw} is outside X1…X${nMod}`);
      for (let i = lo; i <= hi; i++) mods.add(i - 1);
    }
    return { mods: [...mods].sort((x, y) => x - y), theta };
  };
  return { a: group(parts[0]), b: group(parts[1]), c: group(cond) };
}
