/**
 * Seconds per KSG estimate: the fast neighbour search (k-d trees, sorted arrays) against the
 * brute-force O(n²) baseline in the same run, on correlated Gaussians (each y_c = ρ x_c +
 * √(1 − ρ²) e_c, ρ = 0.5) with dims (d, d). The fast time is a whole `ksg` call (checks
 * included); the baseline is `bruteForceNeighbours` plus the same estimate formula. Both give
 * the same estimate, which the bench checks. Each path is warmed up untimed first (the JIT), then
 * the median of --repeats.
 *
 *   cd packages/estimators && npx tsx bench/ksg.bench.ts [--sizes 2000 10000] [--dims 1 5 10] [--k 3] [--variant 1] [--repeats 1] [--no_baseline]
 */
import { parseOptions } from '@mmmi/cli-kit';
import { ksg, ksgFromNeighbours } from '../src/ksg.js';
import { bruteForceNeighbours } from '../src/neighbours.js';
import { correlated } from './gaussian-pairs.js';

const { values: o } = parseOptions(process.argv.slice(2), {
  sizes: { kind: 'ints', min: 10, default: [2000, 10000], help: 'sample counts n' },
  dims: { kind: 'ints', min: 1, default: [1, 5, 10], help: 'dimensions d of each side: (d, d)' },
  k: { kind: 'int', min: 1, default: 3, help: 'neighbours per point' },
  variant: { kind: 'choice', choices: ['1', '2'], default: '1', help: 'KSG variant' },
  repeats: { kind: 'int', min: 1, default: 1, help: 'timed repeats (median)' },
  no_baseline: { kind: 'boolean', default: false, help: 'time the fast search only' },
});
const variant = o.variant === '1' ? 1 : 2;

function median(f: () => number): { seconds: number; estimate: number } {
  const times: number[] = [];
  let estimate = Number.NaN;
  for (let r = 0; r < o.repeats; r++) {
    const t0 = performance.now();
    estimate = f();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[(times.length - 1) >> 1], estimate };
}

console.log(`KSG variant ${variant}, k = ${o.k}, correlated Gaussians (ρ = 0.5 per coordinate pair), median of ${o.repeats}; Node ${process.version}`);
console.log('      n   dims      fast s     brute s   brute/fast   estimate');
for (const n of o.sizes) {
  for (const d of o.dims) {
    const data = correlated(n, d, 0.5, 1000 + d);
    // both paths on the raw coordinates (no column scaling), so they must agree bit for bit
    // warm-up, so that both paths are timed compiled: the fast one on these data (up to 10 runs
    // or 1 s: the tree code takes several runs to be optimized), brute force on 500 points
    for (let w = 0, t0 = performance.now(); w < 10 && performance.now() - t0 < 1000; w++) ksg(data, variant, { k: o.k, standardize: false });
    if (!o.no_baseline) bruteForceNeighbours(correlated(500, d, 0.5, 1), o.k, variant);
    const fast = median(() => ksg(data, variant, { k: o.k, standardize: false }).estimate);
    let brute = { seconds: Number.NaN, estimate: fast.estimate };
    if (!o.no_baseline) {
      brute = median(() => ksgFromNeighbours(bruteForceNeighbours(data, o.k, variant)).estimate);
      if (brute.estimate !== fast.estimate) throw new Error(`n ${n}, d ${d}: the estimates differ, ${fast.estimate} vs ${brute.estimate}`);
    }
    console.log(
      `${String(n).padStart(7)}  ${`(${d},${d})`.padStart(7)}  ${fast.seconds.toFixed(3).padStart(10)}  ${(o.no_baseline ? '–' : brute.seconds.toFixed(3)).padStart(10)}  ${(o.no_baseline ? '–' : (brute.seconds / fast.seconds).toFixed(1)).padStart(11)}   ${fast.estimate.toFixed(4)}`,
    );
  }
}
