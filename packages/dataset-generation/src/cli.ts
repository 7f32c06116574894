/**
 * `mmmi-generate` — the dataset generator's command line; it only parses and prints.
 *
 *   mmmi-generate @args.txt [flags]      generate one shard (job --job_id)
 *   mmmi-generate verify <folder>        check shards against their manifests
 *   mmmi-generate figures | sweep …      the paper's figures and MI tables (src/figures)
 */
import { existsSync } from 'node:fs';
import { formatOptionHelp, parseOptions, runCommand, UsageError, type OptionTable } from '@mmmi/cli-kit';
import { DegenerateMiError } from '@mmmi/latents';
import { FormatError } from '@mmmi/formats';
import { CheckpointError } from '@mmmi/flow-train';
import { generate } from './generate.js';
import { figuresMain, FIGURES_USAGE, sweepMain } from './figures/cli.js';
import { GENERATION_FLAGS } from './options.js';
import { buildIndex, IndexError } from './dataset-index.js';
import { FlowMapError } from './maps/flow-map.js';
import { StorageError } from './storage-errors.js';
import { verifyFolder } from './verify.js';

const INDEX_FLAGS = {
  dataset_name: { kind: 'string', help: 'the dataset to index, when the folder holds several' },
} as const satisfies OptionTable;

const USAGE = `usage: mmmi-generate @args.txt [flags]
       mmmi-generate verify <folder>
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

/** One folder argument and nothing else. */
function folderArgument(command: string, rest: string[]): string {
  const { positionals } = parseOptions(rest, {}, { positionals: true, argumentFiles: false });
  if (positionals.length !== 1) throw new UsageError(`${command} needs one folder, got ${positionals.length ? positionals.join(' ') : 'none'}`);
  return positionals[0];
}

export async function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  if (argv.length === 0 && existsSync(DEFAULT_ARGUMENT_FILE)) argv = [`@${DEFAULT_ARGUMENT_FILE}`];
  if ((argv[0] === 'figures' || argv[0] === 'sweep') && argv.includes('--help')) {
    out(FIGURES_USAGE);
    return 0;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv.includes('--help')) {
    out(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  return runCommand(
    async () => {
      const [command, ...rest] = argv;
      if (command === 'verify') {
        const folder = folderArgument('verify', rest);
        const { shards, partial, orphans, locks } = await verifyFolder(folder);
        for (const s of shards)
          out(
            `${s.ok ? 'ok     ' : 'FAILED '} ${s.file || s.manifest}${s.count ? ` (${s.count} samples)` : ''}${s.problems.length ? ': ' + s.problems.join('; ') : ''}`,
          );
        for (const p of partial) out(`partial ${p} (an unfinished job; rerun it to resume)`);
        for (const o of orphans)
          out(`orphan  ${o.name} (${o.bytes} bytes: a temp file of a killed run, unless one is running now; the next run of its job removes it)`);
        for (const l of locks) out(`lock    ${l}`);
        if (shards.length === 0) out(`no manifests in ${folder}`);
        return shards.length > 0 && shards.every((s) => s.ok) ? 0 : 1;
      }
      if (command === 'index') {
        const parsed = parseOptions(rest, INDEX_FLAGS, { positionals: true, argumentFiles: false });
        if (parsed.positionals.length !== 1) throw new UsageError('usage: mmmi-generate index <folder> [--dataset_name name]');
        const { path, index } = await buildIndex(parsed.positionals[0], { dataset: parsed.values.dataset_name });
        out(`${path}: ${index.count} draws of '${index.dataset}' in ${index.shards.length} shards (job ids ${index.shards.map((s) => s.job_id).join(', ')})`);
        return 0;
      }
      if (command === 'figures') return await figuresMain(rest, out);
      if (command === 'sweep') return await sweepMain(rest, out);
      const result = await generate(argv);
      out(result.npzPath);
      return 0;
    },
    {
      name: 'mmmi-generate',
      err,
      kinds: { input: [RangeError, FormatError, DegenerateMiError, CheckpointError, FlowMapError], failure: [StorageError, IndexError] },
      helpHint: 'mmmi-generate --help for usage',
    },
  );
}
