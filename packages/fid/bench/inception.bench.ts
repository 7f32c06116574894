/**
 * Inception-v3 FID features: images/s at batch 8 (299×299) on each tfjs backend that works
 * here, and the peak RSS of the process running it (one child process per backend).
 *
 *   cd packages/fid && npx tsx bench/inception.bench.ts [--weights pt_inception-2015-12-05-6726825d.pth]
 *                                                      [--backends wasm,cpu] [--batches 3]
 *
 * Without --weights the network gets deterministic pseudo-weights (same cost).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { TorchTensor } from '@mmmi/formats';
import { selectBackend, type BackendName } from '@mmmi/tfjs-runtime';
import { createInceptionFeatureExtractor, INCEPTION_STATE_DICT_SHAPES, loadInceptionFeatureExtractor, type InceptionFeatures } from '../src/inception/index.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const batch = 8;
/** Timed batches after the warm-up: 3, or 1 on cpu (about 2 minutes a batch there). */
const timedBatches = (backend: string) => Number(opt('batches') ?? (backend === 'cpu' ? 1 : 3));

function pseudoWeights(): Map<string, TorchTensor> {
  const m = new Map<string, TorchTensor>();
  for (const [name, shape] of INCEPTION_STATE_DICT_SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const s = Math.sin(0.7 * j + name.length);
      d[j] = name.endsWith('conv.weight') ? s * Math.sqrt(2 / fanIn) : name.endsWith('running_var') || name.endsWith('bn.weight') ? 1 + 0.1 * s * s : 0.1 * s;
    }
    m.set(name, new TorchTensor('float32', [...shape], d, false));
  }
  return m;
}

async function child(backend: string): Promise<void> {
  await selectBackend(backend, { log: () => {} });
  const weightsPath = opt('weights');
  const t0 = performance.now();
  const net: InceptionFeatures = weightsPath ? await loadInceptionFeatureExtractor(weightsPath) : createInceptionFeatureExtractor(pseudoWeights());
  const loadMs = performance.now() - t0;
  const x = tf.randomUniform([batch, 299, 299, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const w0 = performance.now();
  await net.features(x); // warm-up (kernel setup, XNNPACK packing)
  const warmMs = performance.now() - w0;
  const times: number[] = [];
  for (let i = 0; i < timedBatches(backend); i++) {
    const s = performance.now();
    await net.features(x);
    times.push(performance.now() - s);
  }
  x.dispose();
  net.dispose();
  const best = Math.min(...times);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ backend, loadMs, warmMs, meanMs: mean, bestMs: best, imagesPerSec: (batch * 1000) / mean, peakRssMiB: rssMiB }) + '\n');
}

async function main(): Promise<void> {
  const only = opt('child');
  if (only) return child(only);
  const wanted = (opt('backends') ?? 'tensorflow-gpu,tensorflow,wasm,cpu').split(',') as BackendName[];
  const self = fileURLToPath(import.meta.url);
  console.log(`Inception-v3 FID features, batch ${batch} × 299×299, ${opt('batches') ?? '3 (cpu: 1)'} timed batches after 1 warm-up`);
  for (const b of wanted) {
    const pass = args.filter((_, i) => !(args[i] === '--backends' || args[i - 1] === '--backends'));
    let out: string;
    try {
      out = execFileSync(process.execPath, [...process.execArgv, self, ...pass, '--child', b], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 1 << 24,
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const why = (err.stderr ?? err.message).split('\n').find((l) => /^\s*Error: /.test(l)) ?? err.message.split('\n')[0];
      console.log(`  ${b.padEnd(15)} unavailable: ${why.trim()}`);
      continue;
    }
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    console.log(
      `  ${b.padEnd(15)} ${r.imagesPerSec.toFixed(2).padStart(7)} images/s  (batch of 8: mean ${(r.meanMs / 1000).toFixed(2)} s, ` +
        `best ${(r.bestMs / 1000).toFixed(2)} s; warm-up ${(r.warmMs / 1000).toFixed(2)} s; weights ${(r.loadMs / 1000).toFixed(2)} s)  ` +
        `peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
    );
  }
}

await main();
