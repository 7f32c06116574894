/**
 * `mmmi-generate` — the dataset generator's command line; it only parses and prints.
 *
 *   mmmi-generate @args.txt [flags]      generate one shard (job --job_id)
 *   mmmi-generate verify <folder>        check shards against their manifests
 *   mmmi-generate figures | sweep …      the paper's figures and MI tables (src/figures)
 */
import { existsSync } from 'node:fs';
import { formatFlagHelp } from '@mmmi/latents';
import { generate } from './generate.js';
import { figuresMain, FIGURES_USAGE, sweepMain } from './figures/cli.js';
import { GENERATION_FLAGS } from './options.js';
import { buildIndex } from './dataset-index.js';
import { verifyFolder } from './verify.js';

const USAGE = `usage: mmmi-generate @args.txt [flags]
       mmmi-generate verify <folder>
       mmmi-generate index <folder> [--dataset_name name]   one dataset across its shards: <dataset_name>.index.json
       mmmi-generate figures [--out dir] [--only fig6,dag,radii,samples,tables] [@args.txt …]
       mmmi-generate sweep @args.txt --sweep alpha=1.2,1.4,1.6 [--query "X1;theta"] [--out table.csv]

Generates <dataset_loc>/<dataset_name>_<job_id>.npz with the exact MI table, a manifest,
a log and a preview grid. Without arguments: @generation_arguments/default.txt. A rerun with the same arguments skips a complete shard and
resumes a partial one.

flags (the reference's names; later flags override earlier ones):
${formatFlagHelp(GENERATION_FLAGS)}`;

/** With no arguments at all, the job of the project's default configuration (from the repository root). */
export const DEFAULT_ARGUMENT_FILE = 'generation_arguments/default.txt';

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
  try {
    if (argv[0] === 'verify') {
      if (!argv[1]) throw new Error('verify needs a folder');
      const { shards, partial, orphans, locks } = await verifyFolder(argv[1]);
      for (const s of shards) out(`${s.ok ? 'ok     ' : 'FAILED '} ${s.file || s.manifest}${s.count ? ` (${s.count} samples)` : ''}${s.problems.length ? ': ' + s.problems.join('; ') : ''}`);
      for (const p of partial) out(`partial ${p} (an unfinished job; rerun it to resume)`);
      for (const o of orphans) out(`orphan  ${o.name} (${o.bytes} bytes: a temp file of a killed run, unless one is running now; the next run of its job removes it)`);
      for (const l of locks) out(`lock    ${l}`);
      if (shards.length === 0) out(`no manifests in ${argv[1]}`);
      return shards.length > 0 && shards.every((s) => s.ok) ? 0 : 1;
    }
    if (argv[0] === 'index') {
      const rest = argv.slice(1);
      const folder = rest.find((t, i) => !t.startsWith('--') && rest[i - 1] !== '--dataset_name');
      const at = rest.indexOf('--dataset_name');
      const unknown = rest.filter((t, i) => t.startsWith('--') && t !== '--dataset_name' && rest[i - 1] !== '--dataset_name');
      if (!folder || unknown.length || (at >= 0 && !rest[at + 1])) throw new Error('usage: mmmi-generate index <folder> [--dataset_name name]');
      const { path, index } = await buildIndex(folder, { dataset: at >= 0 ? rest[at + 1] : undefined });
      out(`${path}: ${index.count} draws of '${index.dataset}' in ${index.shards.length} shards (job ids ${index.shards.map((s) => s.job_id).join(', ')})`);
      return 0;
    }
    if (argv[0] === 'figures') return await figuresMain(argv.slice(1), out);
    if (argv[0] === 'sweep') return await sweepMain(argv.slice(1), out);
    const result = await generate(argv);
    out(result.npzPath);
    return 0;
  } catch (e) {
    err(`mmmi-generate: error: ${(e as Error).message}`);
    return 2;
  }
}
