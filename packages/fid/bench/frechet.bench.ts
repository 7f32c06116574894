/**
 * Fréchet distance at the FID's size (2048-d statistics), and statistics accumulation.
 *
 *   npx nx run fid:bench      (or: cd packages/fid && npx tsx bench/frechet.bench.ts)
 *
 * Baseline in the same run, where python3 with numpy and scipy is present: pytorch-fid's
 * computation (scipy.linalg.sqrtm of Σ₁Σ₂) on the same statistics files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { frechetDistance, psdSqrt, StatsAccumulator, traceSqrtProduct, writeStats } from '../src/index.js';

const d = 2048;
const samples = 2500;
let seed = 12345;
const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());

function features(shift: number): Float32Array {
  // correlated, ReLU-like positive features as Inception's pool3 gives
  const f = new Float32Array(samples * d);
  for (let r = 0; r < samples; r++) {
    const common = normal();
    for (let j = 0; j < d; j++) f[r * d + j] = Math.max(0, 0.4 * common + normal() + shift + (j % 7) * 0.05);
  }
  return f;
}

function stats(shift: number) {
  const acc = new StatsAccumulator(d);
  const f = features(shift);
  const t0 = performance.now();
  acc.add(f, samples);
  const ms = performance.now() - t0;
  return { stats: acc.result(), ms };
}

const a = stats(0.5);
const b = stats(0.6);
console.log(`statistics: ${samples} samples × ${d} features accumulated in ${a.ms.toFixed(0)} ms (${((samples / a.ms) * 1000).toFixed(0)} samples/s)`);
let t = performance.now();
const root = psdSqrt(a.stats.sigma, d);
const rootMs = performance.now() - t;
t = performance.now();
const tr = traceSqrtProduct(root, b.stats.sigma, d);
const traceMs = performance.now() - t;
const fid = frechetDistance(a.stats, b.stats, { sqrtSigma1: root });
console.log(`Σ₁^{1/2} (eigen-decomposition with vectors): ${rootMs.toFixed(0)} ms; tr(Σ₁^{1/2}Σ₂Σ₁^{1/2})^{1/2}: ${traceMs.toFixed(0)} ms (${tr.toFixed(6)})`);
console.log(`FID = ${fid.toFixed(9)}: ${(rootMs + traceMs).toFixed(0)} ms in all, ${traceMs.toFixed(0)} ms with Σ₁^{1/2} cached`);

let python = false;
try {
  execFileSync('python3', ['-c', 'import numpy, scipy'], { stdio: 'ignore' });
  python = true;
} catch {
  console.log('baseline skipped: python3 with numpy and scipy not found');
}
if (python) {
  const dir = mkdtempSync(join(tmpdir(), 'mmmi-fid-bench-'));
  await writeStats(join(dir, 'a.npz'), a.stats);
  await writeStats(join(dir, 'b.npz'), b.stats);
  const out = execFileSync(
    'python3',
    [
      '-c',
      `
import time, numpy as np
from scipy import linalg
a = np.load("${join(dir, 'a.npz')}"); b = np.load("${join(dir, 'b.npz')}")
m1, s1, m2, s2 = a["mu"], a["sigma"], b["mu"], b["sigma"]
t = time.perf_counter()
c = linalg.sqrtm(s1.dot(s2)).real
fid = (m1 - m2).dot(m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(c)
print(f"{(time.perf_counter() - t) * 1000:.0f} {fid:.9f}")
`,
    ],
    { encoding: 'utf8' },
  ).trim();
  const [ms, value] = out.split(' ').map(Number);
  console.log(
    `baseline: pytorch-fid's scipy sqrtm on the same statistics: ${ms} ms, FID = ${value.toFixed(9)} (relative difference ${(Math.abs(value - fid) / fid).toExponential(1)})`,
  );
  console.log(`ratio ours/scipy: ${((rootMs + traceMs) / ms).toFixed(2)}× uncached, ${(traceMs / ms).toFixed(2)}× with Σ₁^{1/2} cached`);
}
