/**
 * `mmmi-bench estimate` reads a dataset through its index only as the index records it: a
 * shard regenerated with another sample seed since the index was made is refused (exit 2, one
 * line) with its sha256 and the index's, both computed here from the files, whether it is the
 * first shard (refused when the dataset is opened) or a later one (refused on its first use).
 */
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '@mmmi/formats';
import { generate } from '@mmmi/dataset-generation';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { argsFile } from './helpers/tiny-dataset.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'mi-bench-check-'));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
const job = (dir: string, id: number, ...extra: string[]) =>
  generate(
    [
      `@${argsFile('simple_fig1_DAG.txt')}`,
      ...['--transform', 'identity', '--mod_dim', '4', '--scaling', 'float', '--dataset_size', '20', '--preview', '0', '--dataset_loc', dir],
      ...['--job_id', String(id), '--num_jobs', '2', ...extra],
    ],
    quiet,
  );

let made: string;
beforeAll(async () => {
  made = tmp();
  await job(made, 0);
  await job(made, 1);
});

/** The indexed dataset with shard `id` regenerated from another sample seed; its recorded and new sha256. */
async function regenerated(id: number): Promise<{ dir: string; recorded: string; now: string }> {
  const dir = tmp();
  for (const f of readdirSync(made)) copyFileSync(join(made, f), join(dir, f));
  const shard = join(dir, `simple_fig1_DAG_${id}.npz`);
  const recorded = (await sha256File(shard)).sha256;
  // the job fails to write the new index (its arguments differ), which is what leaves the old one behind
  await job(dir, id, '--sample_seed', '7', '--overwrite').catch(() => {});
  const now = (await sha256File(shard)).sha256;
  expect(now).not.toBe(recorded);
  return { dir, recorded, now };
}

async function estimate(dir: string): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(
    ['estimate', '--data', dir, '--pair', 'X1;θ', '--estimators', 'gaussian', '--features', 'latents', '--n', '30', '--seeds', '1', '--out', join(dir, 'out')],
    { out: () => {}, err: (s) => err.push(s), progressStream: null },
  );
  return { code, err: err.join('\n') };
}

describe('mmmi-bench estimate through an index', () => {
  it('estimates on the dataset as indexed', async () => {
    const dir = tmp();
    for (const f of readdirSync(made)) copyFileSync(join(made, f), join(dir, f));
    expect((await estimate(dir)).code).toBe(0);
  });

  for (const id of [0, 1])
    it(`refuses shard ${id} regenerated since the index, with both sha256 values`, async () => {
      const { dir, recorded, now } = await regenerated(id);
      const r = await estimate(dir);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`simple_fig1_DAG_${id}.npz: sha256 ${now}, the index ${join(dir, 'simple_fig1_DAG.index.json')} records ${recorded}`);
      expect(r.err).toMatch(/restore the shard, or .* rebuild the index with `mmmi-generate index /);
      expect(r.err.split('\n').filter((l) => l.startsWith('mmmi-bench: error:'))).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /);
    });
});
