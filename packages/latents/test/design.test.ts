import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { main } from '../src/cli.js';
import { parseVary } from '../src/design/coefficients.js';
import { designCoefficients, prepareDesignBase } from '../src/design/design.js';
import { necessaryConditionConflicts } from '../src/design/feasibility.js';
import { parseTarget, parseTargetGrid, parseTargetProfile } from '../src/design/targets.js';
import { conditionalMutualInformation, miTable } from '../src/mi.js';
import { latentModelFromTokens } from '../src/model.js';
import { Rng } from '../src/rng.js';
import { feasibleTargets, sharedLatentTokens } from '../bench/design-problems.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const fig1 = `@${repo}generation_arguments/simple_fig1_DAG.txt`;

const sharedTokens = sharedLatentTokens;

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('targets', () => {
  it("reads the MI table's notation, grids and profiles", () => {
    const t = parseTarget('I(X_1,X_2;θ|X_3)=0.5', 3);
    expect(t).toMatchObject({
      label: 'I((X_1, X_2); θ | X_3)',
      value: 0.5,
      query: { a: { mods: [0, 1], theta: false }, b: { mods: [], theta: true }, c: { mods: [2], theta: false } },
    });
    expect(parseTarget('X1;theta=2', 2).label).toBe('I(X_1; θ)');
    expect(parseTargetGrid('I(X_1;θ)=0.5..5:10', 2).values).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]);
    const profile = parseTargetProfile('I(θ;X_i)=3..0.5', 6);
    expect(profile.map((p) => p.label)).toEqual(['I(θ; X_1)', 'I(θ; X_2)', 'I(θ; X_3)', 'I(θ; X_4)', 'I(θ; X_5)', 'I(θ; X_6)']);
    expect(profile.map((p) => p.value)).toEqual([3, 2.5, 2, 1.5, 1, 0.5]);
  });

  it('refuses malformed targets, unknown quantities and names the design cannot vary, naming the cause', () => {
    expect(() => parseTarget('I(X_1;θ)2', 2)).toThrow(/--target I\(X_1;θ\)2: expected I\(A;B\|C\)=value/);
    expect(() => parseTarget('I(X_11;θ)=1', 10)).toThrow(/X_11 is outside X1…X10/);
    expect(() => parseTarget('I(X_1;gamma)=1', 2)).toThrow(/cannot read "gamma"/);
    expect(() => parseTarget('I(X_1;θ)=two', 2)).toThrow(/'two' is not a number/);
    expect(() => parseTargetGrid('I(X_1;θ)=0.5..5', 2)).toThrow(/expected I\(A;B\|C\)=from\.\.to:points/);
    expect(() => parseTargetProfile('I(θ;X_1)=3..0.5', 2)).toThrow(/must name X_i/);
    expect(() => parseVary('rho_arg,gamma')).toThrow(
      /--vary gamma: not a coefficient the design can change; choose from rho_theta_arg, rho_arg, eta_arg, alpha, beta/,
    );
    for (const bad of [() => parseTarget('I(X_1;θ)2', 2), () => parseVary('gamma')]) expect(bad).toThrow(InputError);
  });
});

describe('feasibility by law', () => {
  it('names negative targets and nested pairs in the wrong order', () => {
    const targets = [parseTarget('I(X_1;θ)=3', 3), parseTarget('I(X;θ)=2', 3), parseTarget('I(X_1;X_2|θ)=-0.1', 3)];
    const conflicts = necessaryConditionConflicts(targets);
    expect(conflicts.map((c) => c.targets)).toEqual([['I(X_1; X_2 | θ)'], ['I(X_1; θ)', 'I((X_1, X_2, X_3); θ)']]);
    expect(conflicts[1].why).toMatch(/adding variables to a side never lowers mutual information/);
    expect(necessaryConditionConflicts([parseTarget('I(X_1;θ)=1', 3), parseTarget('I(X;θ)=2', 3)])).toEqual([]);
  });
});

describe('design', () => {
  it('meets random feasible targets to 1e-9 nats at d = 3072, N_mod 2 to 10, conditional targets included', async () => {
    const rng = new Rng(11, 0);
    for (const n of [2, 3, 5, 10]) {
      const base = await prepareDesignBase(parseArgs(sharedTokens(n)), parseVary('rho_theta_arg,rho_arg,alpha,beta'));
      const targets = feasibleTargets(base, rng, ['X1;theta', 'X1;X2', 'X1;X2|theta']);
      const r = await designCoefficients(base, targets);
      expect(r.met, `N_mod ${n}: ${r.maxError}`).toBe(true);
      for (const [k, t] of targets.entries()) expect(Math.abs(r.achieved[k] - t.value)).toBeLessThan(1e-9);
      // the achieved values are the complete model's, recomputed independently
      const again = await latentModelFromTokens([
        ...sharedTokens(n),
        '--rho_theta_arg',
        JSON.stringify(r.values.rho_theta_arg),
        '--rho_arg',
        JSON.stringify(r.values.rho_arg),
        '--alpha',
        String(r.values.alpha),
        '--beta',
        String(r.values.beta),
      ]);
      for (const [k, t] of targets.entries()) expect(conditionalMutualInformation(again.structure, t.query.a, t.query.b, t.query.c)).toBe(r.achieved[k]);
    }
  });

  it('detects targets the model cannot meet and names the conflicting one, with the nearest design', async () => {
    const base = await prepareDesignBase(parseArgs([fig1]), parseVary(undefined));
    // in Fig. 1a each modality has its own local proto-latent: X_1 and X_2 are independent given θ
    const r = await designCoefficients(base, [parseTarget('I(X_1;θ)=2', 2), parseTarget('I(X_1;X_2)=1', 2), parseTarget('I(X_1;X_2|θ)=0.5', 2)]);
    expect(r.met).toBe(false);
    expect(r.conflicts).toEqual([
      {
        targets: ['I(X_1; X_2 | θ)'],
        why: 'without I(X_1; X_2 | θ) the other targets are met, with it the solver finds no design: it conflicts with them on this model',
      },
    ]);
    expect(r.maxError).toBeCloseTo(0.5, 6);
    const byLaw = await designCoefficients(base, [parseTarget('I(X_1;θ)=3', 2), parseTarget('I(X;θ)=2', 2)]);
    expect(byLaw.met).toBe(false);
    expect(byLaw.conflicts[0].targets).toEqual(['I(X_1; θ)', 'I((X_1, X_2); θ)']);
  });

  it('refuses the sampling paradigm and a target the model cannot evaluate, before solving', async () => {
    await expect(prepareDesignBase(parseArgs(['--generation_paradigm', 'sampling']), ['rho_arg'])).rejects.toThrow(/sampling paradigm/);
    const base = await prepareDesignBase(parseArgs([fig1]), ['rho_arg']);
    await expect(designCoefficients(base, [parseTarget('I(X_1;X_1)=1', 2)])).rejects.toThrow(/a target cannot be evaluated on this model/);
  });
});

describe('mmmi-latents design', () => {
  it('writes an argument file that reproduces the achieved table through mmmi-latents mi (mmmi-generate: dataset-generation/test/design.test.ts)', async () => {
    const dir = tempDir('mmmi-design-');
    const file = join(dir, 'designed.txt');
    const r = await run(['design', fig1, '--target', 'I(X_1;θ)=2.0', '--target', 'I(X_1;X_2)=1.0', '--out', file, '--json']);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out);
    expect(result.met).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# designed by mmmi-latents design from @.*simple_fig1_DAG\.txt\n# varied: rho_theta_arg, rho_arg/);
    expect(text).toMatch(/# {3}I\(X_1; θ\) = 2 {2}achieved [\d.]+ {2}\(error \d\.\d\de-1\d\)/);
    const model = await latentModelFromTokens([`@${file}`]);
    const table = miTable(model.structure);
    expect(table.values[table.labels.indexOf('I(X_1; θ)')]).toBe(result.targets[0].achieved);
    expect(table.values[table.labels.indexOf('I(X_1; X_2)')]).toBe(result.targets[1].achieved);
    const mi = await run(['mi', `@${file}`, '--json']);
    const printed = JSON.parse(mi.out);
    expect(printed.values[printed.labels.indexOf('I(X_1; θ)')]).toBe(result.targets[0].achieved);
  });

  it('--out: an existing file is refused (kept) before solving unless --overwrite; the @argument file read, never', async () => {
    const dir = tempDir('mmmi-design-');
    const base = join(dir, 'base.txt');
    copyFileSync(fig1.slice(1), base);
    const before = readFileSync(base, 'utf8');
    const onInput = await run(['design', `@${base}`, '--target', 'I(X_1;θ)=2', '--out', join(dir, '.', 'base.txt'), '--overwrite']);
    expect(onInput.code).toBe(2);
    expect(onInput.err).toMatch(/--out .*base\.txt: is the input @argument file .*base\.txt; a command never writes over its input/);
    expect(readFileSync(base, 'utf8')).toBe(before);
    const old = join(dir, 'designed.txt');
    writeFileSync(old, '# last week\n');
    const kept = await run(['design', fig1, '--target', 'I(X_1;θ)=2', '--out', old]);
    expect(kept.code).toBe(2);
    expect(kept.err).toMatch(/--out .*designed\.txt: exists \(a file of 12 bytes\) and this run did not make it; pass --overwrite to replace it/);
    expect(kept.out).toBe('');
    expect(readFileSync(old, 'utf8')).toBe('# last week\n');
    writeFileSync(join(dir, 'family_1.txt'), 'x');
    const grid = await run(['design', fig1, '--target_grid', 'I(X_1;θ)=0.5..2:3', '--out', join(dir, 'family.txt')]);
    expect(grid.code).toBe(2);
    expect(grid.err).toMatch(/family_1\.txt: exists/);
    expect(existsSync(join(dir, 'family_0.txt'))).toBe(false);
    const replaced = await run(['design', fig1, '--target', 'I(X_1;θ)=2', '--out', old, '--overwrite']);
    expect(replaced.code, replaced.err).toBe(0);
    expect(readFileSync(old, 'utf8')).toMatch(/^# designed by mmmi-latents design/);
  });

  it('a grid writes one file per point; infeasible targets exit 2 with the conflict; bad input exits 2 before work', async () => {
    const dir = tempDir('mmmi-design-');
    const grid = await run(['design', fig1, '--target_grid', 'I(X_1;θ)=0.5..2:4', '--out', join(dir, 'family.txt')]);
    expect(grid.code, grid.err).toBe(0);
    for (const i of [0, 1, 2, 3]) {
      const f = join(dir, `family_${i}.txt`);
      expect(existsSync(f)).toBe(true);
      const m = await latentModelFromTokens([`@${f}`]);
      const t = parseTarget('I(X_1;θ)=0', 2);
      expect(Math.abs(conditionalMutualInformation(m.structure, t.query.a, t.query.b) - [0.5, 1, 1.5, 2][i])).toBeLessThan(1e-9);
    }
    const infeasible = await run(['design', fig1, '--target', 'I(X_1;θ)=3', '--target', 'I(X;θ)=2']);
    expect(infeasible.code).toBe(2);
    expect(infeasible.err).toMatch(/mmmi-latents: error: the targets cannot all be met: I\(X_1; θ\) = 3 > I\(\(X_1, X_2\); θ\) = 2: adding variables/);
    const bad = await run(['design', fig1, '--target', 'I(X_1;θ)=2', '--vary', 'gamma', '--out', join(dir, 'never.txt')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--vary gamma: not a coefficient/);
    expect(existsSync(join(dir, 'never.txt'))).toBe(false);
    expect((await run(['design', fig1])).err).toMatch(/design needs a target/);
  });
});
