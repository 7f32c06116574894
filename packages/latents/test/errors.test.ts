import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latentModelFromTokens } from '../src/model.js';
import { parseArgs } from '../src/args.js';

const tmp = mkdtempSync(join(tmpdir(), 'mmmi-args-'));
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const build = (...tokens: string[]) => latentModelFromTokens(['--mod_dim', '8', ...tokens]);

describe('argument files', () => {
  it('reads tokens line by line, skips comments and blanks, later tokens win', () => {
    const p = file('a.txt', '# comment\n\n--N_mod 3 --N_u 3\n--alpha 1.5\n');
    const parsed = parseArgs([`@${p}`, '--alpha', '2']);
    expect(parsed.values).toMatchObject({ N_mod: 3, N_u: 3, alpha: 2 });
    expect(parseArgs(['--alpha', '2', `@${p}`]).values.alpha).toBe(1.5);
  });

  it('refuses stray tokens, a forgotten or bare @, empty files, self-includes and inline comments, naming the cause', () => {
    expect(() => parseArgs(['--N_mod', '2', 'foo'])).toThrow(/unexpected argument 'foo' \(command line\); flags start with --, argument files with @/);
    const args = file('args.txt', '--N_mod 2\n');
    expect(() => parseArgs([args])).toThrow(new RegExp(`unexpected argument '${args}' \\(command line\\); to read the argument file, write @${args}`));
    expect(() => parseArgs(['@'])).toThrow(/a bare '@' \(command line\): write the argument file right after it/);
    expect(() => parseArgs([`@${file('bare.txt', '--N_mod 2 @\n')}`])).toThrow(/a bare '@' \(.*bare\.txt:1\)/);
    expect(() => parseArgs([`@${file('empty.txt', '# only a comment\n\n')}`])).toThrow(
      /argument file @.*empty\.txt has no flags \(only blank lines and comments\)/,
    );
    const self = join(tmp, 'self.txt');
    writeFileSync(self, `--N_mod 2\n@${self}\n`);
    expect(() => parseArgs([`@${self}`])).toThrow(new RegExp(`argument file @.*self\\.txt includes itself: ${self} → ${self}`));
    const a = join(tmp, 'loop-a.txt');
    const b = join(tmp, 'loop-b.txt');
    writeFileSync(a, `--N_mod 2\n@${b}\n`);
    writeFileSync(b, `--N_u 2\n@${a}\n`);
    expect(() => parseArgs([`@${a}`])).toThrow(new RegExp(`includes itself: ${a} → ${b} → ${a}`));
    expect(() => parseArgs([`@${file('inline.txt', '--N_mod 2   # two modalities\n')}`])).toThrow(
      /'#' inside a line \(.*inline\.txt:1\): comments take whole lines starting with #/,
    );
    // positionals only where a caller asks for them
    expect(parseArgs(['x', '--N_mod', '2'], undefined, { positionals: true }).positionals).toEqual(['x']);
  });

  it('takes a bare --calculate_MI as numerical, and --flag=value', () => {
    expect(parseArgs(['--calculate_MI']).values.calculate_MI).toBe('numerical');
    expect(parseArgs(['--calculate_MI', '--N_mod', '2']).values).toMatchObject({ calculate_MI: 'numerical', N_mod: 2 });
    expect(parseArgs(['--alpha=1.25']).values.alpha).toBe(1.25);
    expect(parseArgs(['--cov_theta', '-0.5']).values.cov_theta).toBe(-0.5);
  });

  it('reports malformed files with the flag, file and line', () => {
    const p = file('bad.txt', '--N_mod 2\n--labels [1, 6]\n');
    expect(() => parseArgs([`@${p}`])).toThrow(/--labels \[1, \(.*bad\.txt:2\): not valid JSON/);
    expect(() => parseArgs(['--N_mod', 'two'])).toThrow(/--N_mod two .*expected an integer/);
    expect(() => parseArgs(['--N_mdo', '2'])).toThrow(/unknown flag --N_mdo.*did you mean --N_mod/);
    expect(() => parseArgs(['--alpha'])).toThrow(/--alpha needs a value/);
    expect(() => parseArgs(['--alpha', 'nan'])).toThrow(/--alpha nan .*finite number/);
    expect(() => parseArgs(['@/nonexistent/args.txt'])).toThrow(/argument file @\/nonexistent\/args\.txt not found/);
    expect(() => parseArgs(['--generation_paradigm', 'magic'])).toThrow(/expected one of constructive, sampling/);
    expect(() => parseArgs(['--percentile_to_align', '95'])).toThrow(/--percentile_to_align 95 .*≤ 1 \(a fraction: write 0\.95/);
    expect(() => parseArgs(['--alpha', '0'])).toThrow(/--alpha 0 .*must be > 0/);
  });
});

describe('specification errors name the flag and the expected shape', () => {
  it('wrong list lengths', async () => {
    await expect(build('--N_u_theta', '2', '--eta_arg', '[1.0]')).rejects.toThrow(/--eta_arg \[1\]: expected a list of 2 numbers .*N_u_theta.*got 1 entries/);
    await expect(build('--N_u', '3', '--rho_arg', '[1,1]')).rejects.toThrow(/--rho_arg .*expected a list of 3 numbers/);
    await expect(build('--rho_theta_arg', '[1,2]')).rejects.toThrow(/--rho_theta_arg .*expected a list of 1 numbers/);
    await expect(build('--labels', '[1,6,2]')).rejects.toThrow(/--labels .*N_mod = 2/);
  });

  it('labels beyond the int32 the shards store them in (they would wrap to another class)', async () => {
    await expect(build('--labels', '[1,4294967297]')).rejects.toThrow(/--labels: entry 1 \(4294967297\) is beyond the int32/);
    await expect(build('--labels', '[1,1e20]')).rejects.toThrow(/entry 1 .*beyond the int32/);
  });

  it('wrong matrix shapes', async () => {
    await expect(build('--DAG_ul', '[[1,0],[0,1],[1,1]]')).rejects.toThrow(/--DAG_ul .*expected shape \(N_mod, N_u\) = \(2, 2\), got \(3, 2\)/);
    await expect(build('--DAG_theta', '[[1],[1,0]]')).rejects.toThrow(/--DAG_theta .*expected shape \(N_mod, N_u_theta\) = \(2, 1\)/);
    await expect(build('--generation_paradigm', 'sampling', '--cov_images', '[[1,0],[0,1],[0,0]]')).rejects.toThrow(
      /--cov_images .*\(N_mod, N_mod\) = \(2, 2\)/,
    );
  });

  it('non-finite values', async () => {
    await expect(build('--eta_arg', '[1e400]')).rejects.toThrow(/--eta_arg: entry 0 .*not a finite number/);
    await expect(build('--DAG_ul', '[[1,"a"],[0,1]]')).rejects.toThrow(/--DAG_ul: entry \[0\]\[1\]/);
    await expect(build('--rho_arg', 'random')).rejects.toThrow(/--rho_arg random: expected a JSON list/);
    await expect(build('--eta_arg', '[0]')).rejects.toThrow(/zero variance/);
    await expect(build('--percentile_to_align', '1')).rejects.toThrow(/--percentile_to_align 1: must be below 1/);
  });

  it('non-positive-definite covariance, with the Schur bound for θ', async () => {
    await expect(build('--generation_paradigm', 'sampling', '--cov_images', '[[1,2],[2,1]]', '--epsilon', '0')).rejects.toThrow(
      /--cov_images \[\[1,2\],\[2,1\]\] .*not positive definite/,
    );
    // b = 0.5·1_8 for both images, Σ_XX = I: bound = 2·8·0.25 = 4
    await expect(
      build('--generation_paradigm', 'sampling', '--cov_images', '[[1,0],[0,1]]', '--cov_theta', '0.5', '--theta_var', '3', '--epsilon', '0'),
    ).rejects.toThrow(/Schur bound bᵀΣ_XX⁻¹b = 4\b.*increase --theta_var above 4/);
    await expect(build('--generation_paradigm', 'sampling', '--cov_theta', '[1,1]', '--theta_var', '5')).rejects.toThrow(
      /--theta_var 5: .*max\(‖σ_1θ‖², ‖σ_2θ‖²\) = 8/,
    );
    await expect(build('--generation_paradigm', 'sampling', '--N_mod', '3')).rejects.toThrow(/--cov_images is required for N_mod = 3/);
  });

  it('flags of the other paradigm, missing templates', async () => {
    await expect(build('--cov_images', '[[1,0],[0,1]]')).rejects.toThrow(/--cov_images belongs to the sampling paradigm/);
    await expect(build('--generation_paradigm', 'sampling', '--percentile_to_align', '0.9')).rejects.toThrow(/belongs to the constructive/);
    await expect(build('--T_vectors_method', '/nope/templates.npy')).rejects.toThrow(/--T_vectors_method \/nope\/templates\.npy: .*no such file/);
  });
});
