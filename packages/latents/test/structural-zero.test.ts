import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { constructiveStructure } from '../src/construct.js';
import { parseVary } from '../src/design/coefficients.js';
import { designCoefficients, prepareDesignBase } from '../src/design/design.js';
import { dSeparated, structuralZeroConflicts } from '../src/design/structural-zero.js';
import { parseTarget } from '../src/design/targets.js';
import type { Group } from '../src/logdet.js';
import { conditionalMutualInformation } from '../src/mi.js';
import { randomCase } from './random-specs.js';

/** Every query I(A; B | C) with A, B single nodes (a modality or θ) and C any subset of the rest. */
function queries(nMod: number): { a: Group; b: Group; c: Group }[] {
  const node = (x: number): Group => (x === nMod ? { mods: [], theta: true } : { mods: [x], theta: false });
  const out: { a: Group; b: Group; c: Group }[] = [];
  for (let a = 0; a <= nMod; a++)
    for (let b = a + 1; b <= nMod; b++) {
      const rest = Array.from({ length: nMod + 1 }, (_, i) => i).filter((i) => i !== a && i !== b);
      for (let mask = 0; mask < 1 << rest.length; mask++) {
        const chosen = rest.filter((_, j) => mask & (1 << j));
        out.push({ a: node(a), b: node(b), c: { mods: chosen.filter((i) => i < nMod), theta: chosen.includes(nMod) } });
      }
    }
  return out;
}

describe('targets the DAG fixes at 0', () => {
  it('d-separation agrees with the exact MI at random coefficients: 0 whenever separated, positive nearly always otherwise', () => {
    let separated = 0;
    let connected = 0;
    let positive = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const c = randomCase(seed);
      // a sparser variant too: each modality keeps only its own local proto-latent
      const sparse = { ...c.spec, dagUl: c.spec.dagUl.map((row, i) => row.map((_, l) => (l === i ? 1 : 0))) };
      for (const spec of [c.spec, sparse]) {
        const m = constructiveStructure(spec, c.templates);
        for (const q of queries(spec.nMod)) {
          let mi: number;
          try {
            mi = conditionalMutualInformation(m, q.a, q.b, q.c);
          } catch {
            continue; // a singular group: no MI to compare
          }
          if (dSeparated(spec, c.templates, [], q)) {
            separated++;
            expect(Math.abs(mi)).toBeLessThan(1e-12);
          } else {
            connected++;
            if (mi > 1e-10) positive++;
          }
        }
      }
    }
    // both outcomes occur often enough for the comparison to mean something
    expect(separated).toBeGreaterThan(100);
    expect(connected).toBeGreaterThan(100);
    // connected pairs are almost all dependent; the few exceptions are the α-decay's proportional rows (see the module comment)
    expect(positive / connected).toBeGreaterThan(0.95);
  });

  const threeModalities = [
    '--N_mod', '3', '--N_u', '3', '--rho_arg', '[1,1,1]', '--DAG_ul', '[[1,0,0],[0,1,0],[0,0,1]]',
    '--N_u_theta', '2', '--eta_arg', '[1,1]', '--rho_theta_arg', '[1,1]', '--DAG_theta', '[[1,0],[1,1],[0,1]]', '--mod_dim', '8',
  ]; // prettier-ignore

  it('names a target fixed at 0 as such, and a conditioned collider that links the pair is no structural zero', async () => {
    const base = await prepareDesignBase(parseArgs(threeModalities), parseVary(undefined));
    const t = (text: string) => parseTarget(text, 3);
    const zero = structuralZeroConflicts(base.spec, base.templates, base.vary, [t('I(X_1;X_3)=1'), t('I(X_1;X_3|X_2)=1'), t('I(X_1;X_3)=0')], 1e-10);
    expect(zero.map((c) => c.why)).toEqual([
      'I(X_1; X_3) is 0 for every coefficient of this DAG: X_1 and X_3 share no proto-latent; drop the target or change the DAG (--DAG_ul, --DAG_theta)',
    ]);
    // X_2 has both θ proto-latents as parents: conditioning on it links X_1 and X_3, and so does θ
    expect(
      conditionalMutualInformation(
        constructiveStructure(base.spec, base.templates),
        { mods: [0], theta: false },
        { mods: [2], theta: false },
        { mods: [1], theta: false },
      ),
    ).toBeGreaterThan(0.01);
    // a weight the design keeps at 0 removes its edge; one it may change does not
    const cut = await prepareDesignBase(parseArgs([...threeModalities, '--rho_theta_arg', '[1,0]']), parseVary('rho_arg'));
    expect(dSeparated(cut.spec, cut.templates, cut.vary, t('I(X_1;X_3|X_2)=1').query)).toBe(true);
    const free = await prepareDesignBase(parseArgs([...threeModalities, '--rho_theta_arg', '[1,0]']), parseVary('rho_theta_arg'));
    expect(dSeparated(free.spec, free.templates, free.vary, t('I(X_1;X_3|X_2)=1').query)).toBe(false);
  });

  it('design reports the structural zero instead of asking for more restarts, and still meets the other targets', async () => {
    const base = await prepareDesignBase(parseArgs(threeModalities), parseVary(undefined));
    const r = await designCoefficients(base, [parseTarget('I(X_1;X_3)=1', 3), parseTarget('I(X_1;X_2)=0.2', 3)], { restarts: 1 });
    expect(r.met).toBe(false);
    expect(r.conflicts.map((c) => c.targets)).toEqual([['I(X_1; X_3)']]);
    expect(r.conflicts[0].why).toMatch(/is 0 for every coefficient of this DAG/);
    expect(r.conflicts.some((c) => /restarts/.test(c.why))).toBe(false);
    expect(Math.abs(r.achieved[1] - 0.2)).toBeLessThan(1e-10);
  });
});
