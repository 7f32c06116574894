import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const args = (name: string) => `@${repoRoot}generation_arguments/${name}.txt`;

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('mmmi-latents mi', () => {
  it('prints the JSON table for every paper configuration', async () => {
    for (const name of ['simple_fig1_DAG', 'galaxy_images_curve_DAG', 'galaxy_rot_curve_0_1_DAG', 'galaxy_rot_curve_1_0_DAG', 'multimodal_decay_DAG']) {
      const r = await run(['mi', args(name), '--json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.labels.length).toBe(j.values.length);
      expect(j.values.every((v: unknown) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
      expect(j.theta_var).toBeGreaterThan(0);
    }
  });

  it('later flags override the file; queries are answered', async () => {
    const base = JSON.parse((await run(['mi', args('multimodal_decay_DAG'), '--json'])).out);
    const r = JSON.parse((await run(['mi', args('multimodal_decay_DAG'), '--alpha', '1.6', '--json', '--query', 'X;theta', '--query', 'X1;X10|X2..X9'])).out);
    expect(r.values[0]).not.toBe(base.values[0]);
    expect(r.queries.map((q: { label: string }) => q.label)).toEqual([
      'I((X_1, X_2, X_3, X_4, X_5, X_6, X_7, X_8, X_9, X_10); θ)',
      'I(X_1; X_10 | (X_2, X_3, X_4, X_5, X_6, X_7, X_8, X_9))',
    ]);
    expect(r.queries[0].value).toBeGreaterThan(r.values[0]);
  });

  it('prints a readable table and fails clearly on bad input', async () => {
    const ok = await run(['mi', args('simple_fig1_DAG')]);
    expect(ok.out).toMatch(/I\(X_1; θ\)\s+5\.1136724199/);
    const bad = await run(['mi', '--DAG_ul', '[[1,0]]']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^mmmi-latents: error: --DAG_ul/);
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('without an argument file, uses the built-in default (simple_fig1_DAG) under the given flags', async () => {
    const def = JSON.parse((await run(['mi', '--json'])).out);
    const file = JSON.parse((await run(['mi', args('simple_fig1_DAG'), '--json'])).out);
    expect(def.values).toEqual(file.values);
    const changed = JSON.parse((await run(['mi', '--rho_theta_arg', '[0.5]', '--json'])).out);
    expect(changed.values[0]).toBeGreaterThan(def.values[0]);
  });

  it('describe prints an exact description', async () => {
    const r = await run(['describe', args('simple_fig1_DAG')]);
    const j = JSON.parse(r.out);
    expect(j.format).toBe('mmmi-latent-structure/1');
    expect(j.nMod).toBe(2);
  });
});

const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));

describe.skipIf(!built)('installed binary and nx target', () => {
  it('bin/mmmi-latents.js runs the built CLI', () => {
    const out = execFileSync('node', ['packages/latents/bin/mmmi-latents.js', 'mi', '@generation_arguments/simple_fig1_DAG.txt', '--json'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(JSON.parse(out).values[0]).toBeCloseTo(5.1136724199655905, 12);
  });

  it('nx run latents:mi passes @file and the reference flags through intact', async () => {
    const direct = JSON.parse(
      (await run(['mi', args('multimodal_decay_DAG'), '--alpha', '1.4', '--beta', '1.6', '--json', '--calculate_MI', 'analytical'])).out,
    );
    const r = spawnSync(
      'npx',
      [
        'nx',
        'run',
        'latents:mi',
        '@generation_arguments/multimodal_decay_DAG.txt',
        '--alpha',
        '1.4',
        '--beta',
        '1.6',
        '--json',
        '--calculate_MI',
        'analytical',
        '--skip-nx-cache',
      ],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', NX_ISOLATE_PLUGINS: 'false', NX_TUI: 'false' } },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('{"labels"'));
    expect(line, r.stdout).toBeDefined();
    const viaNx = JSON.parse(line!);
    expect(viaNx.method).toBe('analytical');
    expect(viaNx.values).toEqual(direct.values);
  });
});
