/**
 * Performance of the exact MI and sampling at full image size (d = 3072).
 *
 *   npx nx run latents:bench            (or: cd packages/latents && npx tsx bench/mi.bench.ts)
 *   --skip-baseline                     skip the dense baseline (about a minute)
 *
 * Baseline, measured in the same run: a dense float64 log-determinant of Σ for N = 2
 * (a 6145 × 6145 Cholesky, what the reference's approach costs per log-determinant).
 */
import { performance } from 'node:perf_hooks';
import { buildLatentModel, conditionalMutualInformation, denseSigma, logDet, miTable, parseArgs, sampleBatch, specFromArgs } from '../src/index.js';

const skipBaseline = process.argv.includes('--skip-baseline');

function decayTokens(n: number): string[] {
  const ones = `[${new Array(n).fill(1).join(',')}]`;
  return [
    '--N_mod',
    String(n),
    '--N_u',
    String(n),
    '--N_u_theta',
    '1',
    '--rho_arg',
    ones,
    '--DAG_ul',
    `[${new Array(n).fill(ones).join(',')}]`,
    '--eta_arg',
    '[1.0]',
    '--rho_theta_arg',
    '[1.0]',
    '--DAG_theta',
    `[${new Array(n).fill('[1]').join(',')}]`,
    '--alpha',
    '1.2',
    '--beta',
    '1.2',
    '--calculate_MI',
    'numerical',
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time<T>(fn: () => T, repeats: number): { ms: number; value: T } {
  let value!: T;
  const ts: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    value = fn();
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), value };
}

const mb = (b: number) => (b / 2 ** 20).toFixed(1);
const rows: string[] = [];
const report = (s: string) => {
  rows.push(s);
  console.log(s);
};

report(`node ${process.version}, d = 3072`);
const tableMs = new Map<number, number>();
for (const n of [2, 10, 100, 1000]) {
  const rssBefore = process.memoryUsage().rss;
  const tb = performance.now();
  const model = await buildLatentModel(specFromArgs(parseArgs(decayTokens(n))));
  const buildMs = performance.now() - tb;
  const repeats = n >= 1000 ? 3 : 20;
  // the first call also fills the template Gram cache; report the cold and warm figures
  const cold = time(() => miTable(model.structure), 1);
  const warm = time(() => miTable(model.structure), repeats);
  const all = Array.from({ length: n }, (_, i) => i);
  const joint = time(() => conditionalMutualInformation(model.structure, { mods: all, theta: false }, { mods: [], theta: true }), n >= 1000 ? 1 : 5);
  const rss = process.memoryUsage().rss;
  tableMs.set(n, cold.ms);
  report(
    `N = ${String(n).padStart(4)}: build ${buildMs.toFixed(1)} ms; MI table (${cold.value.values.length} entries) ${cold.ms.toFixed(2)} ms cold, ${warm.ms.toFixed(2)} ms warm` +
      `; I(X_1..X_${n}; θ) = ${joint.value.toFixed(6)} in ${joint.ms.toFixed(1)} ms; RSS ${mb(rss)} MiB (+${mb(rss - rssBefore)})`,
  );
}

const decay10 = await buildLatentModel(specFromArgs(parseArgs(decayTokens(10))));
sampleBatch(decay10.structure, 0, 0, 64); // warm-up (JIT)
const fresh = time(() => sampleBatch(decay10.structure, 42, 1, 64), 15);
const buffers = { theta: new Float64Array(64), x: new Float64Array(64 * 10 * 3072) };
const reused = time(() => sampleBatch(decay10.structure, 42, 1, 64, buffers), 15);
const perSec = (ms: number) => ((64 * 10 * 3072) / ms / 1e3).toFixed(1);
report(
  `sampling 64 draws of N = 10 modalities (d = 3072): ${fresh.ms.toFixed(1)} ms with new arrays, ${reused.ms.toFixed(1)} ms into reused buffers (${perSec(reused.ms)} M values/s)`,
);

// The baseline runs last so that it does not distort the memory figures above.
if (!skipBaseline) {
  const model = await buildLatentModel(specFromArgs(parseArgs(decayTokens(2))));
  const t0 = performance.now();
  const sigma = denseSigma(model.structure, 'constructive', 2 ** 31);
  const n = 2 * 3072 + 1;
  const tBuild = performance.now() - t0;
  const t1 = performance.now();
  // in-place row-oriented Cholesky, the lower triangle only
  let denseLogDet = 0;
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let diag = sigma[rj + j];
    for (let p = 0; p < j; p++) diag -= sigma[rj + p] * sigma[rj + p];
    const ljj = Math.sqrt(diag);
    sigma[rj + j] = ljj;
    denseLogDet += 2 * Math.log(ljj);
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = sigma[ri + j];
      for (let p = 0; p < j; p++) s -= sigma[ri + p] * sigma[rj + p];
      sigma[ri + j] = s / ljj;
    }
  }
  const baselineMs = performance.now() - t1;
  const structured = logDet(model.structure, { mods: [0, 1], theta: true }).value;
  report(
    `baseline: dense Σ for N = 2 (${mb(n * n * 8)} MiB) built in ${tBuild.toFixed(0)} ms; dense Cholesky log|Σ| = ${denseLogDet.toFixed(6)} in ${baselineMs.toFixed(0)} ms (structured: ${structured.toFixed(6)})`,
  );
  for (const [n, ms] of tableMs) report(`ratio: one dense N = 2 log-determinant / structured MI table (cold) at N = ${n}: ${(baselineMs / ms).toFixed(0)}×`);
}
