/**
 * Seconds per latent-MI (LMI) estimate, with the Gaussian estimator timed in the same run as the
 * baseline (for the images: PCA of x to 10 components, then the Gaussian estimator):
 *
 *  - correlated Gaussians (d coordinate pairs of correlation ρ = 0.5, I = −(d/2) log(1 − ρ²)) at
 *    n ∈ --sizes and d ∈ --dims, a fixed number of epochs (--epochs, no early stopping), the
 *    default networks (8-dimensional codes, batches of 512);
 *  - 3×32×32 images (x: a random pattern times a Gaussian latent plus noise, y: its correlated
 *    partner; ../test/variational-data.ts) at n ∈ --image_sizes, --image_epochs epochs, the
 *    default width cap (256).
 *
 * Training dominates: its cost is per epoch, so about proportional to n; the KSG on the held-out
 * codes is reported apart. One untimed warm-up estimate runs first (the JIT and the backend's
 * first kernels). On a shared machine the figures move with its load: compare rows of one run only.
 *
 *   cd packages/estimators && npx tsx bench/lmi.bench.ts [--sizes 2000 10000] [--dims 1 10] [--epochs 20]
 *     [--image_sizes 2000] [--image_epochs 5] [--backend wasm] [--no_images]
 */
import { parseOptions } from '@mmmi/cli-kit';
import type { PairedSamples } from '../src/estimator.js';
import { gaussianMi } from '../src/gaussian.js';
import { lmi, type LmiOptions } from '../src/latent/index.js';
import { pcaFeatures } from '../src/pca.js';
import { ensureTrainingBackend } from '../src/variational/index.js';
import { imagePairs } from '../test/variational-data.js';
import { correlated } from './gaussian-pairs.js';

const { values: o } = parseOptions(process.argv.slice(2), {
  sizes: { kind: 'ints', min: 300, default: [2000, 10000], help: 'sample counts n of the Gaussian runs' },
  dims: { kind: 'ints', min: 1, default: [1, 10], help: 'dimensions d of each side: (d, d)' },
  epochs: { kind: 'int', min: 1, default: 20, help: 'epochs of each Gaussian run' },
  image_sizes: { kind: 'ints', min: 300, default: [2000], help: 'sample counts n of the image runs (3072-dimensional x)' },
  image_epochs: { kind: 'int', min: 1, default: 5, help: 'epochs of each image run' },
  backend: { kind: 'string', default: '', help: 'tfjs backend (default: keep wasm, the estimators’ default)' },
  no_images: { kind: 'boolean', default: false, help: 'skip the image runs' },
});

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function gaussianSeconds(data: PairedSamples): number {
  const times: number[] = [];
  for (let r = 0; r < 5; r++) times.push(gaussianMi(data).seconds);
  return median(times);
}

/** PCA of x to 10 components, then the Gaussian estimator: the classical baseline for images. */
function pcaGaussianSeconds(data: PairedSamples): number {
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    gaussianMi(pcaFeatures(data, { kx: 10 }).samples);
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

const backend = await ensureTrainingBackend(o.backend || undefined, (line) => process.stderr.write(`${line}\n`));
const fixed: LmiOptions = { patience: 0 };
console.log(`tfjs backend ${backend}; LMI: default networks (8-dimensional codes, batches of 512), no early stopping`);

// warm-up: the JIT and the backend's first kernels
await lmi.estimate(correlated(2000, 1, 0.5, 99), { ...fixed, epochs: 2 });

const rows: string[][] = [['data', 'd', 'n', 'epochs', 'seconds', 's/epoch', 'KSG s', 'estimate', 'truth', 'gaussian s', 'ratio']];
async function run(label: string, dims: string, data: PairedSamples, truth: number, epochs: number, baseline: number): Promise<void> {
  const e = await lmi.estimate(data, { ...fixed, epochs });
  const ksgSeconds = e.details?.ksgSeconds as number;
  rows.push([
    label,
    dims,
    String(data.n),
    String(epochs),
    e.seconds.toFixed(2),
    ((e.seconds - ksgSeconds) / epochs).toFixed(3),
    ksgSeconds.toFixed(2),
    e.estimate.toFixed(3),
    truth.toFixed(3),
    baseline.toExponential(2),
    (e.seconds / baseline).toFixed(0),
  ]);
}

for (const n of o.sizes)
  for (const d of o.dims) {
    const data = correlated(n, d, 0.5, 1);
    await run('gaussian', String(d), data, (-d / 2) * Math.log(1 - 0.25), o.epochs, gaussianSeconds(data));
  }
if (!o.no_images)
  for (const n of o.image_sizes) {
    const { data, truth } = imagePairs(n, 0.9, 1, 3);
    await run('images', '3072×1', data, truth, o.image_epochs, pcaGaussianSeconds(data));
  }

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '));
