/**
 * `mmmi-latents` — the latent model from the command line; it only parses and prints.
 *
 *   mmmi-latents mi [@file.txt] [flags] [--json] [--method numerical|analytical] [--query Q]…
 *   mmmi-latents describe [@file.txt] [flags]     exact compact description of Σ (JSON)
 *   mmmi-latents design @base.txt --target "I(X_1;θ)=2" …   coefficients for the MI asked for
 */
import { formatOptionHelp, runCli, type OptionTable, type CliLines } from '@mmmi/cli-kit';
import { MODEL_FLAGS, parseArgs } from './args.js';
import { buildLatentModel, type LatentModel } from './model.js';
import { conditionalMutualInformation, DegenerateMiError, groupLabel, miTable, parseMiQuery } from './mi.js';
import type { MiMethod } from './logdet.js';
import { BUILT_IN_DEFAULT_TOKENS, specFromArgs } from './spec.js';
import { runDesign } from './design-cli.js';
import { checkCommandMemory } from './memory-need.js';
import { blameExtremeFlags, checkPrecisionLimits } from './numeric-limits.js';
import { describeStructure, thetaVariance } from './structure.js';

const CLI_FLAGS = {
  json: { kind: 'boolean', help: 'print JSON instead of a table' },
  method: { kind: 'choice', choices: ['numerical', 'analytical'], help: 'MI method (default: --calculate_MI, else numerical)' },
  query: { kind: 'string', repeatable: true, help: 'extra MI query, e.g. "X1,X2;theta|X3" (repeatable)' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

const USAGE = `usage: mmmi-latents <command> [@args.txt] [flags]

commands:
  mi          print the exact MI table of the configuration (nats)
  describe    print the exact compact description of Σ as JSON
  design      find the coefficients that give the MI you ask for (mmmi-latents design --help)

@file reads flags from an argument file (one or more per line, # comments); later flags
override earlier ones. Without an @file, flags apply on top of the built-in default
configuration, the paper's Fig. 1a model (simple_fig1_DAG). Values per modality: 3072
(32×32 RGB) unless --mod_dim says otherwise.

output flags:
${formatOptionHelp(CLI_FLAGS)}

model flags (the reference's names):
${formatOptionHelp(MODEL_FLAGS)}`;

function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN';
}

export async function main(argv: string[], io: Partial<CliLines> = {}): Promise<number> {
  const { out = console.log, err = console.error } = io;
  return runCli(
    argv,
    {
      name: 'mmmi-latents',
      usage: USAGE,
      commands: {
        mi: (rest) => runModel('mi', rest, out, err),
        describe: (rest) => runModel('describe', rest, out, err),
        design: (rest) => runDesign(rest, out, err),
      },
      kinds: { input: [RangeError, DegenerateMiError] },
    },
    { out, err },
  );
}

/** `mi` and `describe`: the model from the flags (on top of the built-in default without an @file), then its MI table or its description. */
async function runModel(command: 'mi' | 'describe', rest: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const withDefault = rest.some((t) => t.startsWith('@')) ? rest : [...BUILT_IN_DEFAULT_TOKENS, ...rest];
  const parsed = parseArgs(withDefault, { ...MODEL_FLAGS, ...CLI_FLAGS });
  const o = parsed.values;
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const spec = specFromArgs(parsed);
  checkPrecisionLimits(spec);
  checkCommandMemory(spec, command, err);
  // a numeric failure names the extreme flag values behind it (numeric-limits.ts)
  return await blameExtremeFlags(spec, async () => {
    const model = await buildLatentModel(spec);
    if (command === 'describe') out(JSON.stringify(describeStructure(model.structure)));
    else printMi(model, o.method ?? o.calculate_MI ?? 'numerical', o.query, Boolean(o.json), out);
    return 0;
  });
}

function printMi(model: LatentModel, method: MiMethod, queries: string[], json: boolean, out: (s: string) => void): void {
  const m = model.structure;
  const table = miTable(m, method);
  const extra = queries.map((q) => {
    const { a, b, c } = parseMiQuery(q, m.nMod);
    const cond = c.mods.length || c.theta ? ` | ${groupLabel(c)}` : '';
    return { query: q, label: `I(${groupLabel(a)}; ${groupLabel(b)}${cond})`, value: conditionalMutualInformation(m, a, b, c, method) };
  });
  const thetaVar = thetaVariance(m);
  if (json) {
    out(
      JSON.stringify({
        labels: table.labels,
        values: table.values.map(jsonNumber),
        theta_var: thetaVar,
        units: 'nats',
        method,
        scale: m.scale,
        ...(extra.length ? { queries: extra.map((e) => ({ ...e, value: jsonNumber(e.value) })) } : {}),
      }),
    );
    return;
  }
  const spec = model.spec;
  const what =
    spec.paradigm === 'constructive'
      ? `constructive, N_mod=${spec.nMod}, N_u=${spec.nU}, N_u_theta=${spec.nUTheta}, d=${spec.modDim}, templates ${spec.templates.method}`
      : `sampling, N_mod=${spec.nMod}, d=${spec.modDim}`;
  out(`Exact mutual information (${method}, nats) — ${what}`);
  const width = Math.max(...table.labels.map((l) => l.length), ...extra.map((e) => e.label.length));
  table.labels.forEach((l, i) => out(`  ${l.padEnd(width)}  ${formatValue(table.values[i])}`));
  for (const e of extra) out(`  ${e.label.padEnd(width)}  ${formatValue(e.value)}`);
  out(
    `  Var(θ) = ${thetaVar}${model.alignment ? `  (aligned: scale ${model.alignment.scale}, ${model.alignment.method} ${model.alignment.percentile}-quantile)` : ''}`,
  );
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+inf' : String(v);
  return v.toPrecision(16);
}
