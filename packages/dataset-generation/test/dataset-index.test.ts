/**
 * Reads through a dataset index are held to it, and `index` says what it cannot use.
 *
 * A two-shard dataset (model-free, d = 4) is indexed; then one shard is regenerated with
 * another sample seed (same size, other bytes) and the reader refuses it with both sha256
 * values, computed here independently; a truncated shard is refused by its size at open.
 * `mmmi-generate index` meets a truncated, a foreign and an incomplete manifest and one whose
 * shard is gone: one line each, naming the file. The last job of a `--num_jobs` array whose
 * arguments differ fails, naming why the index was not written.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '@mmmi/cli-kit';
import { sha256File } from '@mmmi/formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { DatasetReader } from '../src/dataset-reader.js';
import { IndexError } from '../src/dataset-index.js';
import { generate } from '../src/generate.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'mmmi-index-'));
const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
const job = (dir: string, id: number, ...extra: string[]) =>
  generate(
    [
      `@${repo}generation_arguments/simple_fig1_DAG.txt`,
      ...['--transform', 'identity', '--mod_dim', '4', '--dataset_size', '6', '--preview', '0', '--dataset_loc', dir],
      ...['--job_id', String(id), '--num_jobs', '2', ...extra],
    ],
    quiet,
  );

/** A finished, indexed two-shard dataset copied into a fresh folder. */
let made: string;
const copy = (): string => {
  const dir = tmp();
  for (const f of readdirSync(made)) copyFileSync(join(made, f), join(dir, f));
  return dir;
};
const indexFile = (dir: string) => join(dir, 'simple_fig1_DAG.index.json');

beforeAll(async () => {
  made = tmp();
  await job(made, 0);
  await job(made, 1);
});

describe('DatasetReader holds each shard to the index', () => {
  it('reads the indexed dataset as it is', async () => {
    const data = await DatasetReader.open(indexFile(made));
    expect(data.count).toBe(12);
    expect((await data.get(11)).x).toHaveLength(8);
    await data.close();
  });

  it('refuses a shard regenerated since the index, with its sha256 and the recorded one', async () => {
    const dir = copy();
    const recorded = (await sha256File(join(dir, 'simple_fig1_DAG_1.npz'))).sha256;
    await expect(job(dir, 1, '--sample_seed', '7', '--overwrite')).rejects.toThrow(IndexError);
    const now = (await sha256File(join(dir, 'simple_fig1_DAG_1.npz'))).sha256;
    expect(now).not.toBe(recorded);
    const data = await DatasetReader.open(indexFile(dir));
    // shard 0 is untouched: its draws are served; shard 1's first use is refused before a draw is read
    expect((await data.get(0)).x).toHaveLength(8);
    const refusal = data.get(6);
    await expect(refusal).rejects.toThrow(InputError);
    await expect(refusal).rejects.toThrow(`simple_fig1_DAG_1.npz: sha256 ${now}, the index ${indexFile(dir)} records ${recorded}`);
    await expect(refusal).rejects.toThrow(/rebuild the index with `mmmi-generate index /);
    await data.close();
    // a remedy the message names: restore the shard (its job rerun with the dataset's arguments gives the same bytes)
    await job(dir, 1, '--overwrite');
    expect((await sha256File(join(dir, 'simple_fig1_DAG_1.npz'))).sha256).toBe(recorded);
    const again = await DatasetReader.open(indexFile(dir));
    expect((await again.get(6)).x).toHaveLength(8);
    await again.close();
  });

  it('refuses a truncated or missing shard at open, by its size, before any work', async () => {
    const dir = copy();
    const { bytes } = await sha256File(join(dir, 'simple_fig1_DAG_1.npz'));
    truncateSync(join(dir, 'simple_fig1_DAG_1.npz'), 100);
    await expect(DatasetReader.open(indexFile(dir))).rejects.toThrow(`simple_fig1_DAG_1.npz: 100 bytes, the index ${indexFile(dir)} records ${bytes} bytes`);
    rmSync(join(dir, 'simple_fig1_DAG_1.npz'));
    await expect(DatasetReader.open(indexFile(dir))).rejects.toThrow(/simple_fig1_DAG_1\.npz: missing, the index .* lists it; restore the shard/);
  });

  it("trusts the shard's bytes with check 'none' (size alone), and refuses an index that is not one", async () => {
    const dir = copy();
    await job(dir, 1, '--sample_seed', '7', '--overwrite').catch(() => {});
    const data = await DatasetReader.open(indexFile(dir), { check: 'none' });
    expect((await data.get(6)).x).toHaveLength(8);
    await data.close();
    writeFileSync(indexFile(dir), 'null');
    await expect(DatasetReader.open(indexFile(dir))).rejects.toThrow(/not a dataset index \(not a JSON object\); make a new one with `mmmi-generate index /);
    writeFileSync(indexFile(dir), JSON.stringify({ format: 'mmmi-dataset-index/1', count: 1, shards: [{ file: 'x.npz' }] }));
    await expect(DatasetReader.open(indexFile(dir))).rejects.toThrow(/shard entry 0 lacks its file, size, sha256, count or offset/);
  });
});

describe('mmmi-generate index: one line for what it cannot use', () => {
  const run = async (dir: string) => {
    const err: string[] = [];
    const code = await main(['index', dir], { out: () => {}, err: (s) => err.push(s) });
    return { code, err: err.join('\n') };
  };

  it('names a truncated manifest, a foreign one and an incomplete one (exit 2, no TypeError)', async () => {
    const dir = copy();
    const manifest = join(dir, 'simple_fig1_DAG_1.manifest.json');
    const text = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, text.slice(0, text.length >> 1));
    let r = await run(dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^mmmi-generate: error: ${manifest}: not valid JSON, perhaps truncated \\(.*\\); move it out of the folder`));
    writeFileSync(manifest, text);
    for (const [content, why] of [
      ['{"name": "another tool"}', /not a shard manifest of this toolkit \(format undefined, expected mmmi-dataset-manifest\/1\)/],
      ['[1, 2]', /not a shard manifest \(not a JSON object\)/],
      ['{"format": "mmmi-dataset-manifest/1", "count": 3}', /a shard manifest without valid file, arrays, arguments, seeds, map, latent/],
    ] as const) {
      writeFileSync(join(dir, 'other.manifest.json'), content);
      r = await run(dir);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
      expect(r.err).toContain(join(dir, 'other.manifest.json'));
      expect(r.err).not.toMatch(/TypeError|\n\s+at /);
    }
  });

  it("names a manifest whose shard is gone (exit 1: the folder's shards fail verify)", async () => {
    const dir = copy();
    rmSync(join(dir, 'simple_fig1_DAG_0.npz'));
    const r = await run(dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/shards that fail verify: simple_fig1_DAG_0\.npz \(shard file is missing\); restore them or rerun their jobs/);
  });
});

describe('--num_jobs: the last job of an array says why it did not write the index', () => {
  it('fails, naming the shard with other arguments and the stale index left as it was', async () => {
    const dir = tmp();
    mkdirSync(dir, { recursive: true });
    await job(dir, 0);
    await expect(job(dir, 1, '--sample_seed', '7')).rejects.toThrow(
      /simple_fig1_DAG_1\.npz is complete, but the dataset index was not written: shards of 'simple_fig1_DAG' made with other arguments than simple_fig1_DAG_0\.npz: simple_fig1_DAG_1\.npz/,
    );
    expect(readdirSync(dir)).not.toContain('simple_fig1_DAG.index.json');
    // an index from before: said to be left as it was, and it is
    const old = copy();
    const before = readFileSync(indexFile(old));
    await expect(job(old, 1, '--sample_seed', '7', '--overwrite')).rejects.toThrow(/The index .*simple_fig1_DAG\.index\.json from before is left as it was/);
    expect(readFileSync(indexFile(old))).toEqual(before);
  });
});
