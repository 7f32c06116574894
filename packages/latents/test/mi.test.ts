import { readFileSync } from 'node:fs';
import { mulberry32 } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { constructiveStructure } from '../src/construct.js';
import { conditionalMutualInformation, DegenerateMiError, miTable, parseMiQuery } from '../src/mi.js';
import { latentModelFromTokens } from '../src/model.js';
import { denseCmi, denseConstructiveSigma, indexOf, type DenseGroup } from './dense-reference.js';
import { randomCase } from './random-specs.js';

const relClose = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

/** The reference table computed densely, from the labels' definitions. */
function denseTable(sigma: Float64Array, n: number, at: ReturnType<typeof indexOf>, nMod: number): number[] {
  const X = (...i: number[]): DenseGroup => ({ mods: i, theta: false });
  const T: DenseGroup = { mods: [], theta: true };
  const none: DenseGroup = { mods: [], theta: false };
  const I = (a: DenseGroup, b: DenseGroup, c = none) => denseCmi(sigma, n, at, a, b, c) as number;
  const v: number[] = [];
  for (let i = 0; i < nMod; i++) v.push(I(X(i), T));
  for (let j = 1; j < nMod; j++) v.push(I(X(0), X(j)));
  if (nMod >= 2) {
    const ixt = I(X(0, 1), T);
    v.push(ixt, I(X(0), T, X(1)), I(X(1), T, X(0)), v[0] + v[1] - ixt, I(X(0), X(1), T));
  }
  return v;
}

describe('structured MI against brute-force dense float64', () => {
  it('matches on 150 random specifications (table and random queries), numerical = analytical', () => {
    let analyticalChecked = 0;
    let queries = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const c = randomCase(seed);
      const m = constructiveStructure(c.spec, c.templates);
      const { sigma, n } = denseConstructiveSigma(c.dense);
      const at = indexOf(c.dense.d, c.dense.nMod, 'constructive');
      const table = miTable(m);
      const expected = denseTable(sigma, n, at, c.dense.nMod);
      expect(table.values.length).toBe(expected.length);
      table.values.forEach((v, i) => {
        if (!relClose(v, expected[i], 1e-9)) throw new Error(`seed ${seed} ${table.labels[i]}: ${v} vs dense ${expected[i]}`);
      });
      if (c.onesTemplates) {
        const an = miTable(m, 'analytical');
        an.values.forEach((v, i) => expect(relClose(v, table.values[i], 1e-9)).toBe(true));
        analyticalChecked++;
      }
      // random disjoint groups
      const rand = mulberry32(seed * 7919);
      for (let q = 0; q < 4; q++) {
        const owner = Array.from({ length: c.dense.nMod + 1 }, () => Math.floor(rand() * 4)); // 0:A 1:B 2:C 3:none
        if (!owner.includes(0)) owner[0] = 0;
        if (!owner.includes(1)) owner[owner.length - 1] = 1;
        if (!owner.includes(0)) continue;
        const g = (k: number): DenseGroup => ({
          mods: owner.slice(0, -1).flatMap((o, i) => (o === k ? [i] : [])),
          theta: owner[owner.length - 1] === k,
        });
        const want = denseCmi(sigma, n, at, g(0), g(1), g(2));
        if (want === 'undefined') continue;
        const got = conditionalMutualInformation(m, g(0), g(1), g(2));
        if (!relClose(got, want, 1e-9)) throw new Error(`seed ${seed} query ${JSON.stringify([g(0), g(1), g(2)])}: ${got} vs ${want}`);
        queries++;
      }
    }
    expect(analyticalChecked).toBeGreaterThan(20);
    expect(queries).toBeGreaterThan(300);
  });

  it('agrees with the dense computation on which MI is +∞ or undefined when proto-latents are too few', () => {
    let infinite = 0;
    let undefinedCount = 0;
    for (let seed = 1000; seed < 1120; seed++) {
      const c = randomCase(seed, { allowSingular: true });
      const m = constructiveStructure(c.spec, c.templates);
      const { sigma, n } = denseConstructiveSigma(c.dense);
      const at = indexOf(c.dense.d, c.dense.nMod, 'constructive');
      const all = Array.from({ length: c.dense.nMod }, (_, i) => i);
      if (all.length < 2) continue;
      const a = { mods: all.slice(0, 1), theta: false };
      const b = { mods: all.slice(1), theta: false };
      const want = denseCmi(sigma, n, at, a, b, { mods: [], theta: true });
      if (want === 'undefined') {
        expect(() => conditionalMutualInformation(m, a, b, { mods: [], theta: true })).toThrow(DegenerateMiError);
        undefinedCount++;
      } else {
        const got = conditionalMutualInformation(m, a, b, { mods: [], theta: true });
        if (want === Infinity) infinite++;
        expect(got === want || relClose(got, want, 1e-9)).toBe(true);
      }
    }
    expect(infinite + undefinedCount).toBeGreaterThan(5);
  });
});

describe('full size', () => {
  it('simple_fig1_DAG at d = 3072 matches the 50-digit anchor to 1e-8 relative', async () => {
    const anchor = JSON.parse(readFileSync(new URL('./golden/simple_fig1_full.json', import.meta.url), 'utf8'));
    const { structure } = await latentModelFromTokens(['@../../generation_arguments/simple_fig1_DAG.txt']);
    for (const method of ['numerical', 'analytical'] as const) {
      const t = miTable(structure, method);
      expect(t.labels).toEqual(anchor.labels);
      t.values.forEach((v, i) => {
        const want = Number(anchor.values_20_digits[i]);
        // the last entry is 0 (conditional independence): compare absolutely
        const ok = Math.abs(want) < 1e-30 ? Math.abs(v) < 1e-10 : Math.abs(v - want) <= 1e-8 * Math.abs(want);
        if (!ok) throw new Error(`${method} ${t.labels[i]}: ${v} vs ${want}`);
      });
    }
  });

  it('multimodal_decay_DAG: I(θ; X_i) and I(X_1; X_i) decay with i, numerical = analytical', async () => {
    const { structure } = await latentModelFromTokens(['@../../generation_arguments/multimodal_decay_DAG.txt']);
    const num = miTable(structure, 'numerical');
    const an = miTable(structure, 'analytical');
    num.values.forEach((v, i) => expect(relClose(v, an.values[i], 1e-10)).toBe(true));
    const thetaMi = num.values.slice(0, 10);
    for (let i = 1; i < 10; i++) expect(thetaMi[i]).toBeLessThan(thetaMi[i - 1]);
  });
});

describe('MI queries', () => {
  it('parses groups, ranges, θ and conditions', () => {
    const q = parseMiQuery('X1,X3..X4;theta|X2', 5);
    expect(q.a).toEqual({ mods: [0, 2, 3], theta: false });
    expect(q.b).toEqual({ mods: [], theta: true });
    expect(q.c).toEqual({ mods: [1], theta: false });
    expect(parseMiQuery('X;θ', 3).a.mods).toEqual([0, 1, 2]);
    expect(() => parseMiQuery('X1;X9', 3)).toThrow(/outside X1…X3/);
    expect(() => parseMiQuery('X1', 3)).toThrow(/two groups/);
  });

  it('rejects overlapping groups', async () => {
    const { structure } = await latentModelFromTokens(['--mod_dim', '4']);
    expect(() => conditionalMutualInformation(structure, { mods: [0], theta: false }, { mods: [0], theta: true })).toThrow(/disjoint/);
  });
});
