/**
 * Dataset generation throughput and memory: model-free (`--transform identity`), and the
 * default job with the built-in flow model (generation_arguments/default.txt).
 *
 *   cd packages/dataset-generation && npx tsx bench/generate.bench.ts
 *
 * Baseline in the same run: drawing the same latents alone (sampleBatch), so the ratio is
 * the cost of the pipeline around the sampler (map, scaling, disk, assembly, checksum).
 * Peak RSS is measured in child processes at dataset_size 100 and 10 000: it must be flat.
 * The flow figure is the whole default job (wall time, user CPU time, peak RSS), the
 * issue's "under two minutes on 2 cores" check.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { latentModelFromTokens, sampleBatch } from '@mmmi/latents';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function run(
  config: string,
  n: number,
  map: string[] = ['--transform', 'identity', '--scaling', 'float'],
): { seconds: number; userSeconds: number; maxRssMiB: number; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'mmmi-genbench-'));
  try {
    // the child reports its own peak RSS (resourceUsage().maxRSS is in KiB)
    const script = `
      const { main } = await import(${JSON.stringify(join(repo, 'packages/dataset-generation/dist/cli.js'))});
      const t = performance.now();
      const code = await main(${JSON.stringify([`@${join(repo, 'generation_arguments', config)}`, ...map, '--dataset_size', String(n), '--dataset_loc', dir, '--preview', '0'])}, () => {}, console.error);
      if (code !== 0) process.exit(code);
      const u = process.resourceUsage();
      console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000, user: u.userCPUTime / 1e6, maxRss: u.maxRSS }));`;
    const out = execFileSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    const name = config === 'default.txt' ? 'default' : config.replace(/\.txt$/, '');
    return { seconds: r.seconds, userSeconds: r.user, maxRssMiB: r.maxRss / 1024, bytes: statSync(join(dir, `${name}_0.npz`)).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const config of ['simple_fig1_DAG.txt', 'multimodal_decay_DAG.txt']) {
  const { structure } = await latentModelFromTokens([`@${join(repo, 'generation_arguments', config)}`]);
  const draws = config.startsWith('simple') ? 10_000 : 2_000;
  const per = Math.max(1, Math.floor(64 / structure.nMod));
  sampleBatch(structure, 0, 0, per);
  const t0 = performance.now();
  for (let b = 0, done = 0; done < draws; b++, done += per) sampleBatch(structure, 42, b, Math.min(per, draws - done));
  const sampleSeconds = (performance.now() - t0) / 1000;
  const small = run(config, 100);
  const large = run(config, draws);
  console.log(
    `${config} (N = ${structure.nMod}, d = ${structure.modDim}): ${(draws / large.seconds).toFixed(0)} samples/s generated ` +
      `(latents alone ${(draws / sampleSeconds).toFixed(0)} samples/s, ratio ${(large.seconds / sampleSeconds).toFixed(2)}×); ` +
      `peak RSS ${small.maxRssMiB.toFixed(0)} MiB at 100 samples, ${large.maxRssMiB.toFixed(0)} MiB at ${draws}; ` +
      `${(large.bytes / draws).toFixed(0)} bytes per sample on disk`,
  );
}

{
  // the default job: 32 draws × 2 modalities through the registry's default flow model
  const d = run('default.txt', 32, []);
  console.log(
    `default.txt with the built-in flow model: ${(32 / d.seconds).toFixed(2)} samples/s (${((2 * 32) / d.seconds).toFixed(2)} images/s), ` +
      `whole job ${d.seconds.toFixed(1)} s wall, ${d.userSeconds.toFixed(1)} s user CPU; peak RSS ${d.maxRssMiB.toFixed(0)} MiB; ${(d.bytes / 32).toFixed(0)} bytes per sample`,
  );
}
