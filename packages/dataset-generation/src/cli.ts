/**
 * `mmmi-generate` — the dataset generator's command line; it only parses and prints.
 *
 *   mmmi-generate @args.txt [flags]      generate one shard (job --job_id)
 *   mmmi-generate verify [--invert [--draws k]] <folder>   check shards against their manifests (and invert their maps)
 *   mmmi-generate figures | sweep …      the paper's figures and MI tables (src/figures)
 */
import { existsSync } from 'node:fs';
import { formatOptionHelp, parseOptions, runCli, UsageError, type OptionTable, type CliLines } from '@mmmi/cli-kit';
import { DegenerateMiError } from '@mmmi/latents';
import { FormatError } from '@mmmi/formats';
import { CheckpointError } from '@mmmi/flow-train';
import { generate } from './generate.js';
import { figuresMain, FIGURES_USAGE, sweepMain } from './figures/cli.js';
import { GENERATION_FLAGS } from './options.js';
import { buildIndex, IndexError } from './dataset-index.js';
import { FlowMapError } from './maps/flow-map.js';
import { StorageError } from './storage-errors.js';
import { DEFAULT_INVERT_DRAWS, verifyFolder } from './verify.js';
import { inversionTable } from './inversion.js';

const VERIFY_FLAGS = {
  invert: { kind: 'boolean', help: "also map each shard's first draws back (scaling, map, whitening inverses) and compare with the stored latents Noise" },
  draws: { kind: 'int', min: 1, default: DEFAULT_INVERT_DRAWS, help: `draws per shard that --invert checks (default ${DEFAULT_INVERT_DRAWS})` },
} as const satisfies OptionTable;

const INDEX_FLAGS = {
  dataset_name: { kind: 'name', help: 'the dataset to index, when the folder holds several' },
} as const satisfies OptionTable;

const USAGE = `usage: mmmi-generate @args.txt [flags]
       mmmi-generate verify [--invert [--draws k]] <folder>   --invert: X mapped back against Noise, per shard
       mmmi-generate index <folder> [--dataset_name name]   one dataset across its shards: <dataset_name>.index.json
       mmmi-generate figures [--out dir] [--only fig6,dag,radii,samples,tables] [@args.txt …]
       mmmi-generate sweep @args.txt --sweep alpha=1.2,1.4,1.6 [--query "X1;theta"] [--out table.csv]

Generates <dataset_loc>/<dataset_name>_<job_id>.npz with the exact MI table, a manifest,
a log and a preview grid. Without arguments: @generation_arguments/default.txt. A rerun with the same arguments skips a complete shard and
resumes a partial one. Exit codes: 0 done, 1 the run failed (disk, a shard that fails verify), 2 the arguments or inputs are wrong.

flags (the reference's names; later flags override earlier ones):
${formatOptionHelp(GENERATION_FLAGS)}`;

/** With no arguments at all, the job of the project's default configuration (from the repository root). */
export const DEFAULT_ARGUMENT_FILE = 'generation_arguments/default.txt';

export async function main(argv: string[], io: Partial<CliLines> = {}): Promise<number> {
  const { out = console.log, err = console.error } = io;
  const tokens = argv.length === 0 && existsSync(DEFAULT_ARGUMENT_FILE) ? [`@${DEFAULT_ARGUMENT_FILE}`] : argv;
  /** A sub-command's --help (anywhere among its tokens) prints `usage` instead of running it. */
  const helped =
    (usage: string, run: (rest: string[]) => Promise<number>) =>
    (rest: string[]): Promise<number> | number => {
      if (!rest.includes('--help')) return run(rest);
      out(usage);
      return 0;
    };
  return runCli(
    tokens,
    {
      name: 'mmmi-generate',
      usage: USAGE,
      commands: {
        verify: helped(USAGE, (rest) => runVerify(rest, out, err)),
        index: helped(USAGE, (rest) => runIndex(rest, out)),
        figures: helped(FIGURES_USAGE, (rest) => figuresMain(rest, out)),
        sweep: helped(FIGURES_USAGE, (rest) => sweepMain(rest, out)),
      },
      default: helped(USAGE, async (all) => {
        const result = await generate(all);
        out(result.npzPath);
        return 0;
      }),
      kinds: { input: [RangeError, FormatError, DegenerateMiError, CheckpointError, FlowMapError], failure: [StorageError, IndexError] },
    },
    { out, err },
  );
}

/** `verify [--invert [--draws k]] <folder>`: every shard against its manifest (and its maps inverted). */
async function runVerify(rest: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseOptions(rest, VERIFY_FLAGS, { positionals: true, argumentFiles: false });
  if (parsed.positionals.length !== 1)
    throw new UsageError(`verify needs one folder, got ${parsed.positionals.length ? parsed.positionals.join(' ') : 'none'}`);
  if (parsed.given.has('draws') && !parsed.values.invert) throw new UsageError('--draws counts the draws --invert checks: add --invert');
  const folder = parsed.positionals[0];
  const invert = parsed.values.invert ? { draws: parsed.values.draws, log: err } : undefined;
  const { shards, partial, orphans, locks } = await verifyFolder(folder, { invert });
  for (const s of shards) {
    out(
      `${s.ok ? 'ok     ' : 'FAILED '} ${s.file || s.manifest}${s.count ? ` (${s.count} samples)` : ''}${s.problems.length ? ': ' + s.problems.join('; ') : ''}`,
    );
    if (s.inversion) for (const line of inversionTable(s.inversion)) out(`        ${line}`);
  }
  for (const p of partial) out(`partial ${p} (an unfinished job; rerun it to resume)`);
  for (const o of orphans)
    out(`orphan  ${o.name} (${o.bytes} bytes: a temp file of a killed run, unless one is running now; the next run of its job removes it)`);
  for (const l of locks) out(`lock    ${l}`);
  if (shards.length === 0) out(`no manifests in ${folder}`);
  return shards.length > 0 && shards.every((s) => s.ok) ? 0 : 1;
}

/** `index <folder> [--dataset_name name]`: one dataset across its shards. */
async function runIndex(rest: string[], out: (s: string) => void): Promise<number> {
  const parsed = parseOptions(rest, INDEX_FLAGS, { positionals: true, argumentFiles: false });
  if (parsed.positionals.length !== 1) throw new UsageError('usage: mmmi-generate index <folder> [--dataset_name name]');
  const { path, index } = await buildIndex(parsed.positionals[0], { dataset: parsed.values.dataset_name });
  out(`${path}: ${index.count} draws of '${index.dataset}' in ${index.shards.length} shards (job ids ${index.shards.map((s) => s.job_id).join(', ')})`);
  return 0;
}
