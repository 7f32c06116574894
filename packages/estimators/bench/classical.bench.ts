/**
 * Seconds per estimate of the classical estimators and the PCA fit they use as features:
 *
 *  - Gaussian (log-det) at n ∈ --sizes and dims (d, d) for d ∈ --dims, on correlated Gaussians
 *    (y_c = ρ x_c + √(1 − ρ²) e_c, ρ = 0.5: I = −(d/2) log(1 − ρ²)), with the estimate, its
 *    standard error and the exact bias next to the truth;
 *  - PCA fit (k ∈ --pca_k) of image-like data, 32×32×3 = 3072 values per sample with a 1/f
 *    amplitude spectrum (random DCT coefficients of size 1/√(1 + u² + v²), colour channels
 *    sharing most of them), at n ∈ --pca_sizes: the route, the Krylov basis and the residual;
 *  - binned (1-D) at n ∈ --binned_sizes, ρ = 0.9;
 *  - optionally (--dense_dims) the dense d×d symmetric eigen-decomposition the PCA does not
 *    use, to show why (it grows as d³).
 *
 * Each Gaussian and binned timing is the median of --repeats after three untimed warm-up runs
 * (the JIT); the PCA and dense runs are long enough to time once (after a small PCA warm-up).
 *
 *   cd packages/estimators && npx tsx bench/classical.bench.ts [--sizes 2000 10000] [--dims 1 10 50] [--pca_sizes 2000] [--pca_k 10 50]
 *     [--binned_sizes 10000] [--dense_dims 400 800] [--repeats 5] [--no_gaussian] [--no_pca] [--no_binned]
 */
import { parseOptions } from '@mmmi/cli-kit';
import { SeededRandom } from '@mmmi/test-utils';
import { binnedMi } from '../src/binned.js';
import { gaussianMi } from '../src/gaussian.js';
import { symmetricEigen } from '@mmmi/latents';
import { fitPca } from '../src/pca.js';
import { correlated } from './gaussian-pairs.js';

const { values: o } = parseOptions(process.argv.slice(2), {
  sizes: { kind: 'ints', min: 10, default: [2000, 10000], help: 'sample counts n of the Gaussian estimator' },
  dims: { kind: 'ints', min: 1, default: [1, 10, 50], help: 'dimensions d of each side for the Gaussian estimator: (d, d)' },
  pca_sizes: { kind: 'ints', min: 2, default: [2000], help: 'sample counts n of the PCA fit (3072-dimensional)' },
  pca_k: { kind: 'ints', min: 1, default: [10, 50], help: 'components kept' },
  binned_sizes: { kind: 'ints', min: 8, default: [10000], help: 'sample counts n of the binned estimator' },
  dense_dims: { kind: 'ints', min: 2, default: [], help: 'also time the dense d×d eigen-decomposition at these d' },
  repeats: { kind: 'int', min: 1, default: 5, help: 'timed repeats (median) of the Gaussian and binned estimates' },
  no_gaussian: { kind: 'boolean', default: false, help: 'skip the Gaussian estimator' },
  no_pca: { kind: 'boolean', default: false, help: 'skip the PCA fit' },
  no_binned: { kind: 'boolean', default: false, help: 'skip the binned estimator' },
});

/** n image-like samples, 32×32×3 row-major (pixel-major, channel fastest), 1/f amplitude spectrum. */
function images(n: number, seed: number): Float64Array {
  const rng = new SeededRandom(seed);
  const side = 32;
  const d = side * side * 3;
  const out = new Float64Array(n * d);
  const cos = new Float64Array(side * side); // cos[k·side + x] = cos(π k (x + ½) / side)
  for (let k = 0; k < side; k++) for (let x = 0; x < side; x++) cos[k * side + x] = Math.cos((Math.PI * k * (x + 0.5)) / side);
  const amplitude = Float64Array.from({ length: side * side }, (_, p) => 1 / Math.sqrt(1 + Math.floor(p / side) ** 2 + (p % side) ** 2));
  const common = new Float64Array(side * side);
  const a = new Float64Array(side * side);
  const t = new Float64Array(side * side);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < side * side; p++) common[p] = amplitude[p] * rng.normal();
    for (let ch = 0; ch < 3; ch++) {
      for (let p = 0; p < side * side; p++) a[p] = common[p] + 0.3 * amplitude[p] * rng.normal();
      // image = Cᵀ a C: t = a C (rows k, columns y), then pixel (x, y) = Σ_k C[k][x] t[k][y]
      t.fill(0);
      for (let k = 0; k < side; k++)
        for (let l = 0; l < side; l++) {
          const c = a[k * side + l];
          for (let y = 0; y < side; y++) t[k * side + y] += c * cos[l * side + y];
        }
      for (let x = 0; x < side; x++)
        for (let y = 0; y < side; y++) {
          let s = 0;
          for (let k = 0; k < side; k++) s += cos[k * side + x] * t[k * side + y];
          out[i * d + (x * side + y) * 3 + ch] = 120 + 40 * s;
        }
    }
  }
  return out;
}

function seconds(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const fmt = (s: number) => (s < 0.01 ? `${(s * 1000).toFixed(2)} ms` : `${s.toFixed(3)} s`);

console.log(`Node ${process.version}; median of ${o.repeats} after 3 warm-up runs\n`);
if (!o.no_gaussian) console.log('Gaussian (log-det), ρ = 0.5 per coordinate pair');
for (const n of o.no_gaussian ? [] : o.sizes)
  for (const d of o.dims) {
    if (n <= 2 * d) {
      console.log(`  n = ${n}, (${d}, ${d}): skipped, needs n > dx + dy`);
      continue;
    }
    const data = correlated(n, d, 0.5, n + d);
    for (let w = 0; w < 3; w++) gaussianMi(data);
    const times: number[] = [];
    let est = gaussianMi(data);
    for (let r = 0; r < o.repeats; r++) times.push(seconds(() => (est = gaussianMi(data))));
    const truth = -(d / 2) * Math.log(1 - 0.25);
    console.log(
      `  n = ${String(n).padStart(6)}, (${d}, ${d}): ${fmt(median(times)).padStart(10)}   Î = ${est.estimate.toFixed(4)} ± ${est.standardError!.toFixed(4)}, ` +
        `bias ${(est.details!.bias as number).toFixed(4)}, I = ${truth.toFixed(4)}`,
    );
  }

if (!o.no_pca) console.log('\nPCA fit, 3072-dimensional image-like data (1/f spectrum)');
for (const n of o.no_pca ? [] : o.pca_sizes) {
  let x: Float64Array = new Float64Array(0);
  const generate = seconds(() => (x = images(n, 7)));
  console.log(`  n = ${n}: data generated in ${generate.toFixed(1)} s`);
  fitPca(x.subarray(0, Math.min(n, 64) * 3072), Math.min(n, 64), 3072, 2); // warm-up
  for (const k of o.pca_k) {
    let pca: ReturnType<typeof fitPca> | undefined;
    const s = seconds(() => (pca = fitPca(x, n, 3072, k)));
    const ratio = pca!.explainedVariance.reduce((a, v) => a + v, 0) / pca!.totalVariance;
    console.log(
      `  n = ${String(n).padStart(6)}, k = ${String(k).padStart(3)}: ${fmt(s).padStart(10)}   ${pca!.route} route, basis ${pca!.basisSize}, ` +
        `max residual ${pca!.maxResidual.toExponential(1)}, converged ${pca!.converged}, explained ${(100 * ratio).toFixed(1)}%`,
    );
  }
}

if (!o.no_binned) console.log('\nbinned (1-D, equal-count bins, Miller–Madow), ρ = 0.9: I = 0.8304');
for (const n of o.no_binned ? [] : o.binned_sizes) {
  const data = correlated(n, 1, 0.9, n);
  for (let w = 0; w < 3; w++) binnedMi(data);
  const times: number[] = [];
  let est = binnedMi(data);
  for (let r = 0; r < o.repeats; r++) times.push(seconds(() => (est = binnedMi(data))));
  console.log(
    `  n = ${String(n).padStart(6)}: ${fmt(median(times)).padStart(10)}   Î = ${est.estimate.toFixed(4)} ± ${est.standardError!.toFixed(4)}, ${est.details!.bins} bins`,
  );
}

if (o.dense_dims.length) console.log('\ndense symmetric eigen-decomposition (tred2 + tql2, with vectors)');
for (const d of o.dense_dims) {
  const rng = new SeededRandom(d);
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      const v = rng.normal();
      a[i * d + j] = v;
      a[j * d + i] = v;
    }
  console.log(`  d = ${String(d).padStart(5)}: ${fmt(seconds(() => symmetricEigen(a, d))).padStart(10)}`);
}
