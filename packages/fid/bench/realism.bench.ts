/**
 * The realism classifier: feature images/s (batch 256) on each tfjs backend that works here,
 * and the time of a whole score (features + FD-cls + class-matched FD + a 5-draw floor) at a
 * few n. Uses the shipped weights and random images.
 *
 *   cd packages/fid && npx tsx bench/realism.bench.ts [--backends wasm,cpu] [--images 2000]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { selectBackend } from '@mmmi/tfjs-runtime';
import { loadRealismClassifier } from '../src/realism/classifier.js';
import { openRealismScorer } from '../src/realism/api.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

function randomImages(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const x = new Float32Array(n * 3072);
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = (s >>> 0) / 2 ** 32;
  }
  return x;
}

async function child(backend: string): Promise<void> {
  const images = Number(opt('images') ?? (backend === 'cpu' ? 500 : 2000));
  await selectBackend(backend, { log: () => {} });
  const classifier = await loadRealismClassifier();
  const x = randomImages(images, 7);
  classifier.run(x.subarray(0, 256 * 3072), 256); // warm-up
  const t0 = performance.now();
  classifier.run(x, images, { batchSize: 256 });
  const secs = (performance.now() - t0) / 1000;
  classifier.dispose();
  const line: Record<string, unknown> = { backend, images, seconds: +secs.toFixed(2), imagesPerSecond: Math.round(images / secs) };
  if (backend !== 'cpu') {
    const scorer = await openRealismScorer({ backend });
    for (const n of [500, 5000]) {
      const labels = Int32Array.from({ length: n }, (_x, i) => i % 10);
      const imgs = randomImages(n, n);
      const t1 = performance.now();
      scorer.score(imgs, labels, { floorDraws: 5 });
      line[`score_n${n}_s`] = +((performance.now() - t1) / 1000).toFixed(2);
    }
    scorer.dispose();
  }
  line.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

if (process.env.REALISM_BENCH_CHILD) {
  await child(process.env.REALISM_BENCH_CHILD);
} else {
  const backends = (opt('backends') ?? 'wasm,cpu').split(',');
  const self = fileURLToPath(import.meta.url);
  for (const b of backends) {
    try {
      const out = execFileSync(process.execPath, [...process.execArgv, self, ...args], { env: { ...process.env, REALISM_BENCH_CHILD: b }, encoding: 'utf8' });
      process.stdout.write(out);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ backend: b, error: e instanceof Error ? e.message.split('\n')[0] : String(e) })}\n`);
    }
  }
}
