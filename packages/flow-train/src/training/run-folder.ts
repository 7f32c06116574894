/**
 * The output folder of a training run, claimed before any data are read. A folder that holds
 * a run (its checkpoint, log.txt or args.json) is days of work: a fresh `train` into it is
 * refused unless `--resume` continues that very run or `--overwrite` starts afresh (said in a
 * log line, the old log.txt set aside); the registry entry the run will write is checked the
 * same way, and the checkpoint is never one the run reads (`--init_from`).
 */
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { claimOutputFolder, InputError, sameFile } from '@mmmi/cli-kit';
import { claimRegistryName, userRegistryDir } from '../registry.js';

export const CHECKPOINT_NAME = 'checkpoint.safetensors';
const RUN_FILES = [CHECKPOINT_NAME, 'log.txt', 'args.json'] as const;

export interface RunFolderClaim {
  /** The checkpoint this run continues ('' for a fresh run), after `--resume latest` was resolved. */
  resume: string;
  /** `--resume` as given ('latest' allows a fresh start in a folder of a run killed before its first checkpoint). */
  resumeFlag: string;
  overwrite: boolean;
  /** The registry (flag value, '' = the user's) and entry name ('' = the folder's name). */
  registry: string;
  name: string;
  /** Files the run reads: never its checkpoint. */
  inputs: { '--init_from'?: string; '--data_path'?: string };
  log: (message: string) => void;
}

/** The run in `folder`, in words (what is there and how far it got), or undefined when none. */
export function describeRun(folder: string): string | undefined {
  const present = RUN_FILES.filter((f) => existsSync(join(folder, f)));
  if (present.length === 0) return undefined;
  const parts = present.map((f) => {
    if (f === CHECKPOINT_NAME) return `${f} of ${(statSync(join(folder, f)).size / 1e6).toFixed(1)} MB, saved ${statSync(join(folder, f)).mtime.toISOString()}`;
    if (f === 'log.txt') return `log.txt${lastEpoch(join(folder, f))}`;
    return f;
  });
  return `a training run (${parts.join('; ')})`;
}

/** ' up to epoch N' from log.txt's last epoch line, or '' when it has none. */
function lastEpoch(logFile: string): string {
  const epochs = readFileSync(logFile, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const e = (JSON.parse(line) as { epoch?: unknown }).epoch;
        return typeof e === 'number' ? [e] : [];
      } catch {
        return [];
      }
    });
  return epochs.length ? ` up to epoch ${Math.max(...epochs)}` : '';
}

export interface ClaimedRunFolder {
  path: string;
  /** The registry entry name the run writes. */
  name: string;
  /** The run this one replaces (with --overwrite), in words. */
  replaces?: string;
}

/**
 * Claims `outputDir` for this run and the registry name it registers under, making nothing
 * (the folder is made once the data are read); throws an InputError naming the fix when the
 * run would replace another run's work.
 */
export async function claimRunFolder(outputDir: string, c: RunFolderClaim): Promise<ClaimedRunFolder> {
  const checkpoint = join(outputDir, CHECKPOINT_NAME);
  const continuing = c.resume !== '' && sameFile(c.resume, checkpoint);
  // a --resume from elsewhere writes its continuation here: that replaces the run here as a fresh start would
  const freshStartAllowed = c.resumeFlag === 'latest' && !existsSync(checkpoint);
  const claimed = claimOutputFolder(outputDir, {
    flag: '--output_dir',
    overwrite: c.overwrite,
    make: false,
    inputs: { '--data_path': c.inputs['--data_path'] },
    holds: (f) => (continuing || freshStartAllowed ? undefined : describeRun(f)),
    alternative: c.resume
      ? `continue that run with --resume latest instead of --resume ${c.resumeFlag}`
      : 'continue it by rerunning the same command with --resume latest',
  });
  const init = c.inputs['--init_from'];
  if (init && sameFile(init, checkpoint)) {
    throw new InputError(
      `--output_dir ${claimed.path}: its ${CHECKPOINT_NAME} is the --init_from checkpoint ${init}; a run never writes over its input: choose another --output_dir`,
    );
  }
  const registry = userRegistryDir(c.registry || undefined);
  const name = c.name || basename(claimed.path);
  await claimRegistryName(registry, name, checkpoint, { overwrite: c.overwrite, nameFlag: c.name ? '--name' : `--name (default: the --output_dir's name)` });
  return { path: claimed.path, name, replaces: claimed.replaces };
}

/** With --overwrite, just before the run starts: one log line says what is replaced; the old log.txt is set aside, not appended to. */
export function startAfresh(folder: ClaimedRunFolder, resume: string, log: (message: string) => void): void {
  if (!folder.replaces) return;
  const logFile = join(folder.path, 'log.txt');
  const setAside = existsSync(logFile) ? `${logFile}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}` : undefined;
  if (setAside) renameSync(logFile, setAside);
  log(
    `flow-train: --overwrite: ${resume ? `continuing ${resume}` : 'starting afresh'} in ${folder.path}, replacing ${folder.replaces}: its checkpoint, sample grids and registry entry '${folder.name}' are replaced as this run writes them${setAside ? `; its log.txt was moved to ${setAside}` : ''}`,
  );
}
