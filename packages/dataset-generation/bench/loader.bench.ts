/**
 * Streaming loader throughput with and without its checks, in one run: a model-free shard
 * (simple_fig1_DAG, identity map, float scaling) read in batches of 64 draws by ShardReader
 * with check 'none' (the baseline), 'stream' (CRC-32 of each entry as it is read) and 'full'
 * (the manifest's sha256 before the pass, then a pass without CRC), interleaved, median of
 * --repeats. Draws/s and MB/s of the X array; ratios against 'none'.
 *
 *   cd packages/dataset-generation && npx tsx bench/loader.bench.ts [--draws 4000] [--repeats 5]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generate } from '../src/generate.js';
import { ShardReader, type ShardCheck } from '../src/loader.js';

const { values } = parseArgs({ options: { draws: { type: 'string', default: '4000' }, repeats: { type: 'string', default: '5' } } });
const draws = Number(values.draws);
const repeats = Number(values.repeats);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mmmi-loaderbench-'));
try {
  const quiet = { stream: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream };
  const r = await generate(
    [
      `@${repo}generation_arguments/simple_fig1_DAG.txt`,
      '--transform',
      'identity',
      '--scaling',
      'float',
      '--dataset_size',
      String(draws),
      '--dataset_loc',
      dir,
      '--preview',
      '0',
    ],
    quiet,
  );
  const fileMb = statSync(r.npzPath).size / 1e6;
  const checks: ShardCheck[] = ['none', 'stream', 'full'];
  const seconds = new Map<ShardCheck, number[]>(checks.map((c) => [c, []]));
  let xMb = 0;
  for (let k = 0; k < repeats; k++) {
    for (const check of checks) {
      const t0 = performance.now();
      const shard = await ShardReader.open(r.npzPath, { check });
      let n = 0;
      for await (const b of shard.batches(64)) n += b.count;
      xMb = (shard.count * shard.nMod * shard.modDim * 4) / 1e6;
      await shard.close();
      if (n !== draws) throw new Error(`read ${n} draws, expected ${draws}`);
      seconds.get(check)!.push((performance.now() - t0) / 1000);
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const base = median(seconds.get('none')!);
  console.log(
    JSON.stringify({
      bench: 'loader',
      draws,
      file_mb: Number(fileMb.toFixed(1)),
      repeats,
      seconds: Object.fromEntries([...seconds].map(([c, s]) => [c, s.map((v) => Number(v.toFixed(4)))])),
    }),
  );
  console.log(`\nShardReader, ${draws} draws (${fileMb.toFixed(1)} MB file, X ${xMb.toFixed(1)} MB), batches of 64, median of ${repeats}`);
  console.log('| check | seconds | draws/s | X MB/s | × none |\n|---|---|---|---|---|');
  for (const c of checks) {
    const s = median(seconds.get(c)!);
    console.log(`| ${c} | ${s.toFixed(3)} | ${(draws / s).toFixed(0)} | ${(xMb / s).toFixed(0)} | ${(base / s).toFixed(2)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
