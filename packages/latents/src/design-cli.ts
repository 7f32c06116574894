/**
 * `mmmi-latents design`: parsing and printing of the inverse design (the work is in
 * design/). Exit 0 when every target is met, 2 when they cannot all be met (the nearest
 * design is still printed and, with --out, written, marked as such).
 */
import { basename, dirname, extname, join } from 'node:path';
import { claimOutputFile, EXIT, formatOptionHelp, UsageError, type OptionTable } from '@mmmi/cli-kit';
import { writeFileAtomic } from '@mmmi/formats';
import { MODEL_FLAGS, parseArgs } from './args.js';
import { designedArgumentFile } from './design/argument-file.js';
import { DESIGNABLE_FLAGS, parseVary } from './design/coefficients.js';
import { designCoefficients, designGrid, prepareDesignBase, type DesignResult } from './design/design.js';
import { parseTarget, parseTargetGrid, parseTargetProfile } from './design/targets.js';
import { checkCommandMemory } from './memory-need.js';
import { blameExtremeFlags, checkPrecisionLimits } from './numeric-limits.js';
import { BUILT_IN_DEFAULT_TOKENS, specFromArgs } from './spec.js';

export const DESIGN_FLAGS = {
  target: { kind: 'string', repeatable: true, valueName: 'I(A;B|C)=v', help: 'an MI target in nats, e.g. "I(X_1;θ)=2.0" (repeatable)' },
  target_grid: {
    kind: 'string',
    valueName: 'I(A;B|C)=a..b:n',
    help: 'one design per value of a target, n values evenly from a to b (with --out: one file each)',
  },
  target_profile: {
    kind: 'string',
    valueName: 'I(..X_i..)=a..b',
    help: 'a target per modality i = 1 … N_mod, values evenly from a to b, e.g. "I(θ;X_i)=3..0.5"',
  },
  vary: {
    kind: 'string',
    valueName: 'flags',
    help: `coefficients to change, comma-separated: ${Object.keys(DESIGNABLE_FLAGS).join(', ')} (default rho_theta_arg,rho_arg)`,
  },
  out: { kind: 'string', valueName: '<file.txt>', help: 'write the designed argument file (a grid: <file>_00.txt, _01.txt, …)' },
  overwrite: { kind: 'boolean', help: 'replace existing --out files (never an @argument file read)' },
  tol: { kind: 'float', min: 0, minExclusive: true, default: 1e-10, help: 'allowed |achieved − target|, nats' },
  restarts: { kind: 'int', min: 0, default: 8, help: 'solver restarts from perturbed starts' },
  seed: { kind: 'int', min: 0, default: 0, help: 'seed of the restarts' },
  json: { kind: 'boolean', help: 'print JSON instead of a table' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

export const DESIGN_USAGE = `usage: mmmi-latents design @base.txt --target "I(X_1;θ)=2" [--target …] [--vary rho_theta_arg,rho_arg] [--out designed.txt]
       mmmi-latents design @base.txt --target_grid "I(X_1;θ)=0.5..5:10" [--target …] --out family.txt
       mmmi-latents design @base.txt --target_profile "I(θ;X_i)=3..0.5" [--out designed.txt]

Finds the coefficients of the base configuration (constructive paradigm) that give the asked
mutual information, keeping its masks, sizes and templates: bounded Levenberg–Marquardt on
the exact MI, with restarts. When the targets cannot all be met it names the conflicting
ones and gives the nearest design (least squares of the MI residuals, nats); exit 2.

design flags:
${formatOptionHelp(DESIGN_FLAGS)}`;

function resultJson(r: DesignResult, file: string | null) {
  return {
    met: r.met,
    tol: r.tol,
    max_error: r.maxError,
    targets: r.targets.map((t, k) => ({ target: t.label, value: t.value, achieved: r.achieved[k], error: Math.abs(r.achieved[k] - t.value) })),
    values: r.values,
    conflicts: r.conflicts,
    notes: r.notes,
    file,
  };
}

function printResult(r: DesignResult, file: string | null, out: (s: string) => void): void {
  out(
    r.met
      ? `all ${r.targets.length} targets met (|error| ≤ ${r.tol} nats)`
      : `NOT all targets met: the nearest design misses by up to ${r.maxError.toExponential(3)} nats`,
  );
  const width = Math.max(6, ...r.targets.map((t) => t.label.length));
  out(`  ${'target'.padEnd(width)}  ${'wanted'.padStart(12)}  ${'achieved'.padStart(20)}  |error|`);
  r.targets.forEach((t, k) =>
    out(
      `  ${t.label.padEnd(width)}  ${String(t.value).padStart(12)}  ${r.achieved[k].toPrecision(16).padStart(20)}  ${Math.abs(r.achieved[k] - t.value).toExponential(1)}`,
    ),
  );
  for (const [flag, v] of Object.entries(r.values)) out(`  --${flag} ${JSON.stringify(v)}`);
  for (const c of r.conflicts) out(`  conflict: ${c.why}`);
  for (const n of r.notes) out(`  note: ${n}`);
  if (file) out(`wrote ${file}`);
}

const gridFile = (out: string, i: number, n: number) =>
  join(dirname(out), `${basename(out, extname(out))}_${String(i).padStart(String(n - 1).length, '0')}${extname(out) || '.txt'}`);

/** An --out file, claimed before the solver runs: new unless --overwrite, and never an @argument file the command reads. */
function claimDesignFile(file: string, o: { overwrite?: boolean }, tokens: readonly string[]): string {
  const argumentFiles = tokens.filter((t) => t.startsWith('@')).map((t) => t.slice(1));
  claimOutputFile(file, { flag: '--out', overwrite: o.overwrite, inputs: { '@argument file': argumentFiles } });
  return file;
}

export async function runDesign(rest: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const tokens = rest.some((t) => t.startsWith('@')) ? rest : [...BUILT_IN_DEFAULT_TOKENS, ...rest];
  const parsed = parseArgs(tokens, { ...MODEL_FLAGS, ...DESIGN_FLAGS });
  const o = parsed.values;
  if (o.help) {
    out(DESIGN_USAGE);
    return EXIT.ok;
  }
  const vary = parseVary(o.vary);
  const designFlags = new Set(Object.keys(DESIGN_FLAGS));
  // the base: the model flags alone (the design's own flags removed)
  for (const name of designFlags) parsed.given.delete(name);
  const spec = specFromArgs(parsed);
  checkPrecisionLimits(spec);
  checkCommandMemory(spec, 'design', err);
  // a numeric failure on the base names the extreme flag values behind it (numeric-limits.ts; design.ts for the targets)
  const base = await blameExtremeFlags(spec, () => prepareDesignBase(parsed, vary));
  const nMod = base.spec.nMod;
  const fixed = [...o.target.map((t) => parseTarget(t, nMod)), ...(o.target_profile ? parseTargetProfile(o.target_profile, nMod) : [])];
  const options = { tol: o.tol, restarts: o.restarts, seed: o.seed };
  const source = rest.filter((t) => t.startsWith('@')).join(' ') || 'the built-in default (simple_fig1_DAG)';
  if (o.target_grid) {
    if (!o.out && !o.json) err('mmmi-latents: (no --out: the designs are printed, not written)');
    const grid = parseTargetGrid(o.target_grid, nMod);
    const files = grid.values.map((_, i) => (o.out ? claimDesignFile(gridFile(o.out, i, grid.values.length), o, rest) : null));
    const results = await designGrid(base, grid, fixed, options);
    for (const [i, r] of results.entries()) {
      const file = files[i];
      if (file) await writeFileAtomic(file, [Buffer.from(designedArgumentFile(base, r, source))]);
    }
    if (o.json) out(JSON.stringify(results.map((r, i) => resultJson(r, files[i]))));
    else
      results.forEach((r, i) => {
        out(`${grid.label} = ${grid.values[i]}:`);
        printResult(r, files[i], out);
      });
    const missed = results.filter((r) => !r.met).length;
    if (missed) err(`mmmi-latents: error: ${missed} of ${results.length} grid points cannot be met (see their conflicts)`);
    return missed ? EXIT.usage : EXIT.ok;
  }
  if (fixed.length === 0) throw new UsageError('design needs a target: --target "I(X_1;θ)=2.0", --target_grid or --target_profile');
  if (o.out) claimDesignFile(o.out, o, rest);
  const r = await designCoefficients(base, fixed, options);
  let file: string | null = null;
  if (o.out) {
    await writeFileAtomic(o.out, [Buffer.from(designedArgumentFile(base, r, source))]);
    file = o.out;
  }
  if (o.json) out(JSON.stringify(resultJson(r, file)));
  else printResult(r, file, out);
  if (!r.met) err(`mmmi-latents: error: the targets cannot all be met: ${r.conflicts.map((c) => c.why).join('; ')}`);
  return r.met ? EXIT.ok : EXIT.usage;
}
