/**
 * Partial work is never deleted: another run's workspace stops a job (naming it, its draws and
 * the arguments that differ) or, with --overwrite, is set aside and kept byte for byte; a
 * stopped workspace records every complete batch and takes no more.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { generate, prepareJob } from '../src/generate.js';
import { argumentDifferences, claimWorkspace, setAsideWorkspace, ShardWorkspace } from '../src/workspace.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
const perDraw = { X: 2, Noise: 2, Y: 1 };
const batch = (draws: number, v: number) => ({
  X: new Float32Array(2 * draws).fill(v),
  Noise: new Float32Array(2 * draws).fill(-v),
  Y: new Float32Array(draws).fill(v / 2),
});
const filesOf = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));

/** A workspace of fingerprint `fp` started with `args`, holding `batches` batches of 3 draws. */
async function partial(dir: string, fp: string, args: Record<string, unknown>, batches: number): Promise<void> {
  const ws = await ShardWorkspace.open(dir, fp, args);
  for (let b = 0; b < batches; b++) await ws.append(batch(3, b + 1), 3, perDraw);
  await ws.checkpoint();
  await ws.close();
}

describe("another run's unfinished work", () => {
  it('stops the job with the folder, its draws, the arguments that differ and the two ways on; nothing is touched', async () => {
    const dir = join(tempDir('mmmi-ws-'), '.x_0.partial');
    await partial(dir, 'A', { dataset_size: 500, alpha: 1.2, threads: 4 }, 2);
    const before = filesOf(dir);
    const claim = claimWorkspace(dir, 'B', { dataset_size: 600, alpha: 1.2, threads: 1 }, { overwrite: false, log: () => undefined });
    await expect(claim).rejects.toThrow(InputError);
    await expect(claimWorkspace(dir, 'B', { dataset_size: 600, alpha: 1.2 }, { overwrite: false, log: () => undefined })).rejects.toThrow(
      `${dir} holds the unfinished work of another run of this shard (6 draws; it was started with other arguments: --dataset_size was 500, now 600): rerun with that run's arguments (${join(dir, 'arguments.json')}) to resume it, or pass --overwrite to set it aside (renamed beside it, kept) and start afresh`,
    );
    expect(filesOf(dir)).toEqual(before);
    // the same data arguments: the difference is in the toolkit or the map, and the message says so
    await expect(claimWorkspace(dir, 'B', { dataset_size: 500, alpha: 1.2, threads: 8 }, { overwrite: false, log: () => undefined })).rejects.toThrow(
      /\(6 draws; it was started with other arguments: the same arguments, but another toolkit version, flow checkpoint or registry recipe\)/,
    );
    // its own job resumes it
    await claimWorkspace(dir, 'A', {}, { overwrite: false, log: () => undefined });
    const ws = await ShardWorkspace.open(dir, 'A');
    expect([ws.batchesDone, ws.drawsDone]).toEqual([2, 6]);
    await ws.close();
  });

  it('with --overwrite is set aside under a visible name with the time, byte for byte, and the log says where and how to resume it', async () => {
    const folder = tempDir('mmmi-ws-');
    const dir = join(folder, '.x_0.partial');
    await partial(dir, 'A', { dataset_size: 500 }, 1);
    const before = filesOf(dir);
    const logs: string[] = [];
    await claimWorkspace(dir, 'B', { dataset_size: 600 }, { overwrite: true, log: (m) => logs.push(m) });
    expect(existsSync(dir)).toBe(false);
    const [aside] = readdirSync(folder);
    expect(aside).toMatch(/^x_0\.set-aside-\d{8}T\d{6}Z\.partial$/);
    expect(filesOf(join(folder, aside))).toEqual(before);
    expect(logs).toEqual([
      `--overwrite: set aside the unfinished work of another run (3 draws; it was started with other arguments) as ${join(folder, aside)}; it is kept: to resume it, rename it back to .x_0.partial and rerun with that run's arguments (in ${join(folder, aside, 'arguments.json')}), or delete it`,
    ]);
    // a second set-aside in the same second takes the next name, never the first's place
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const when = new Date('2026-03-04T05:06:07.890Z');
    expect(await setAsideWorkspace(dir, when)).toBe(join(folder, 'x_0.set-aside-20260304T050607Z.partial'));
    mkdirSync(dir);
    expect(await setAsideWorkspace(dir, when)).toBe(join(folder, 'x_0.set-aside-20260304T050607Z-2.partial'));
    expect(readFileSync(join(folder, 'x_0.set-aside-20260304T050607Z.partial', 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('what this toolkit did not make is never reused; an unrecorded folder of its own is', async () => {
    const folder = tempDir('mmmi-ws-');
    const stranger = join(folder, '.y_0.partial');
    mkdirSync(stranger);
    writeFileSync(join(stranger, 'thesis.tex'), 'years of work');
    expect(ShardWorkspace.inspect(stranger, 'A')).toEqual({
      kind: 'other',
      draws: 0,
      why: 'it holds files this toolkit does not write (thesis.tex)',
      arguments: undefined,
    });
    await expect(ShardWorkspace.open(stranger, 'A')).rejects.toThrow(
      /holds the unfinished work of another run of this shard \(0 draws; it holds files this toolkit does not write \(thesis\.tex\)\)/,
    );
    const file = join(folder, '.z_0.partial');
    writeFileSync(file, 'a file');
    expect(ShardWorkspace.inspect(file, 'A')).toMatchObject({ kind: 'other', why: 'it is not a folder' });
    const unrecorded = join(folder, '.w_0.partial');
    mkdirSync(unrecorded);
    writeFileSync(join(unrecorded, 'X.f32'), Buffer.alloc(8));
    expect(ShardWorkspace.inspect(unrecorded, 'A')).toEqual({ kind: 'unrecorded' });
    // made afresh: its arguments at once, its fingerprint from the first checkpoint
    const ws = await ShardWorkspace.open(unrecorded, 'A', { dataset_size: 1 });
    expect(readFileSync(join(unrecorded, 'X.f32')).length).toBe(0);
    await ws.checkpoint();
    expect(ShardWorkspace.inspect(unrecorded, 'A')).toEqual({ kind: 'ours', draws: 0 });
    expect(JSON.parse(readFileSync(join(unrecorded, 'arguments.json'), 'utf8'))).toEqual({ dataset_size: 1 });
    await ws.close();
  });

  it('argument differences leave out what only changes the machine', () => {
    expect(argumentDifferences({ threads: 4, labels: [0, 1], flag: true }, { threads: 1, labels: [0, 2], name: 'b' })).toEqual([
      '--flag was true, now unset',
      '--labels was [0,1], now [0,2]',
      '--name was unset, now b',
    ]);
  });

  it('generate: a rerun with other data arguments refuses, naming the difference; --overwrite sets the work aside and finishes the shard', async () => {
    const folder = tempDir('mmmi-ws-gen-');
    const args = (...extra: string[]) => [
      `@${repo}generation_arguments/simple_fig1_DAG.txt`,
      '--transform',
      'identity',
      '--dataset_loc',
      folder,
      '--preview',
      '0',
      ...extra,
    ];
    // the killed job's work: a workspace of the job with --dataset_size 50
    const killed = await prepareJob(args('--dataset_size', '50'));
    await partial(killed.paths.partial, killed.fingerprint, killed.arguments, 2);
    const before = filesOf(killed.paths.partial);
    await expect(generate(args('--dataset_size', '40'), quiet)).rejects.toThrow(
      /\.simple_fig1_DAG_0\.partial holds the unfinished work of another run of this shard \(6 draws; it was started with other arguments: --dataset_size was 50, now 40\): rerun with that run's arguments .* or pass --overwrite/,
    );
    expect(filesOf(killed.paths.partial)).toEqual(before);
    expect(existsSync(join(folder, '.simple_fig1_DAG_0.lock'))).toBe(false);
    const done = await generate(args('--dataset_size', '40', '--overwrite'), quiet);
    expect(done.skipped).toBe(false);
    const aside = readdirSync(folder).filter((f) => f.includes('.set-aside-'));
    expect(aside).toHaveLength(1);
    expect(filesOf(join(folder, aside[0]))).toEqual(before);
    expect(readFileSync(join(folder, 'simple_fig1_DAG_0.log'), 'utf8')).toContain(`--overwrite: set aside the unfinished work of another run (6 draws; `);
    // a complete shard's rerun keeps another run's workspace it finds beside it
    await partial(killed.paths.partial, killed.fingerprint, killed.arguments, 1);
    expect((await generate(args('--dataset_size', '40'), quiet)).skipped).toBe(true);
    expect(ShardWorkspace.drawsAt(killed.paths.partial)).toBe(3);
  });
});

describe('a stopped workspace', () => {
  it('records every complete batch, closes, and takes no more (later operations never settle)', async () => {
    const dir = join(tempDir('mmmi-ws-'), '.x_0.partial');
    const ws = await ShardWorkspace.open(dir, 'A');
    await ws.append(batch(3, 1), 3, perDraw);
    // the stop comes while a batch is being written: it waits for it and records it
    const inFlight = ws.append(batch(3, 2), 3, perDraw);
    await ws.stop();
    await inFlight;
    expect(JSON.parse(readFileSync(join(dir, 'progress.json'), 'utf8'))).toEqual({ fingerprint: 'A', batchesDone: 2, drawsDone: 6 });
    const after = Promise.race([ws.append(batch(3, 3), 3, perDraw).then(() => 'settled'), new Promise((r) => setImmediate(() => r('pending')))]);
    expect(await after).toBe('pending');
    expect(readFileSync(join(dir, 'Y.f32')).length).toBe(6 * 4);
    // resumed, it continues after the recorded batches
    const again = await ShardWorkspace.open(dir, 'A');
    expect(Array.from(await again.read('Y', 0, 6))).toEqual([0.5, 0.5, 0.5, 1, 1, 1]);
    await again.close();
  });
});
