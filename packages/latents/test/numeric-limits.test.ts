import { InputError } from '@mmmi/cli-kit';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { main } from '../src/cli.js';
import { parseMiQuery } from '../src/mi.js';
import { checkPrecisionLimits, extremeFlagValues, MAX_MOD_DIM } from '../src/numeric-limits.js';
import { BUILT_IN_DEFAULT_TOKENS, specFromArgs } from '../src/spec.js';

const spec = (...tokens: string[]) => specFromArgs(parseArgs([...BUILT_IN_DEFAULT_TOKENS, ...tokens]));

async function run(args: string[]) {
  const err: string[] = [];
  const code = await main(args, { out: () => undefined, err: (s) => err.push(s) });
  return { code, err: err.join('\n') };
}

describe('extreme flag values', () => {
  it('are named only beyond 10^±6 of 1, decay powers counted over the mask entries in use', () => {
    expect(extremeFlagValues(spec())).toEqual([]);
    expect(extremeFlagValues(spec('--rho_arg', '[1e300,0.2]'))).toEqual(['--rho_arg [1e+300,0.2] (entry 0 = 1e+300)']);
    expect(extremeFlagValues(spec('--rho_arg', '[1e6,1e-6]'))).toEqual([]);
    // Fig. 1a's DAG_ul is diagonal: α is never raised to a power there; an all-ones mask uses α^1
    expect(extremeFlagValues(spec('--alpha', '1e300'))).toEqual([]);
    expect(extremeFlagValues(spec('--alpha', '1e-20', '--DAG_ul', '[[1,1],[1,1]]'))).toEqual(['--alpha 1e-20 (α^1 = 1e-20 in the decay)']);
    expect(extremeFlagValues(spec('--percentile_to_align', '1e-300'))).toEqual(['--percentile_to_align 1e-300']);
  });

  it('a --mod_dim beyond float64 precision is refused before any work', () => {
    expect(() => checkPrecisionLimits(spec('--mod_dim', String(MAX_MOD_DIM)))).not.toThrow();
    expect(() => checkPrecisionLimits(spec('--mod_dim', String(MAX_MOD_DIM + 1)))).toThrow(InputError);
  });

  it.each([
    [
      ['--rho_arg', '[1e300,0.2]'],
      /^mmmi-latents: error: --rho_arg \[1e\+300,0\.2\] \(entry 0 = 1e\+300\): extreme for the float64 computation of this model, which failed \(.*singular.*\); keep weights/,
    ],
    [['--eta_arg', '[1e-300]'], /^mmmi-latents: error: --eta_arg \[1e-300\] \(entry 0 = 1e-300\): extreme .*θ has zero variance/],
    [['--percentile_to_align', '1e-300'], /^mmmi-latents: error: --percentile_to_align 1e-300: extreme for the float64 computation/],
    [['--mod_dim', '1000000000000'], /^mmmi-latents: error: --mod_dim 1000000000000: beyond 4294967296 values per modality/],
  ])('mi %j fails naming the flag and value, exit 2', async (flags, message) => {
    const r = await run(['mi', ...flags]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('a numeric failure without extreme values keeps its own words', async () => {
    const r = await run(['mi', '--cov_theta', '[5,5]', '--generation_paradigm', 'sampling']);
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/extreme/);
  });
});

describe('ranges', () => {
  it('a reversed modality range is called reversed; one beyond N_mod is outside', () => {
    expect(() => parseMiQuery('X3..X1;theta', 3)).toThrow(/the range X3\.\.X1 is reversed; write X1\.\.X3$/);
    expect(() => parseMiQuery('X1..X4;theta', 3)).toThrow(/X1\.\.X4 is outside X1…X3/);
    expect(parseMiQuery('X1..X3;theta', 3).a.mods).toEqual([0, 1, 2]);
  });
});
