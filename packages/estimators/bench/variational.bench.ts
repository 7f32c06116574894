/**
 * Seconds per estimate of the variational estimators, with the Gaussian estimator timed in the
 * same run as the baseline (the ratio column shows what training a critic costs; for the images,
 * the classical route: PCA of x to 10 components, fitted on half the rows, then the Gaussian
 * estimator on the other half):
 *
 *  - MINE, NWJ, InfoNCE, SMILE with the default separable MLP critic on correlated Gaussians
 *    (d coordinate pairs of correlation ρ = 0.5, I = −(d/2) log(1 − ρ²)) at n ∈ --sizes and
 *    d ∈ --dims, a fixed number of Adam steps (--steps, no early stopping, batches of 128);
 *  - the CNN critic (x: 3×32×32 images, a random pattern times a Gaussian latent plus noise;
 *    y: the latent's correlated partner, ./../test/variational-data.ts) at n ∈ --cnn_sizes for
 *    --cnn_bounds, --cnn_steps steps, batches of 64.
 *
 * Each variational timing is one run (training dominates; the first run also pays the JIT and
 * the backend's start, so one untimed warm-up estimate runs first); the Gaussian one is the
 * median of 5. s/step is the estimate's seconds over its steps (evaluation included). On a shared
 * machine the figures move with its load: compare rows of one run only.
 *
 *   cd packages/estimators && npx tsx bench/variational.bench.ts [--sizes 2000 10000] [--dims 1 10] [--steps 500]
 *     [--cnn_sizes 2000] [--cnn_steps 200] [--cnn_bounds infonce] [--backend wasm] [--no_cnn]
 */
import { parseOptions } from '@mmmi/cli-kit';
import type { PairedSamples } from '../src/estimator.js';
import { gaussianMi } from '../src/gaussian.js';
import { pcaFeatures } from '../src/pca.js';
import { BOUND_NAMES, ensureTrainingBackend, VARIATIONAL_ESTIMATORS, type BoundName, type VariationalOptions } from '../src/variational/index.js';
import { imagePairs } from '../test/variational-data.js';
import { correlated } from './gaussian-pairs.js';

const { values: o } = parseOptions(process.argv.slice(2), {
  sizes: { kind: 'ints', min: 300, default: [2000, 10000], help: 'sample counts n of the MLP runs' },
  dims: { kind: 'ints', min: 1, default: [1, 10], help: 'dimensions d of each side: (d, d)' },
  steps: { kind: 'int', min: 1, default: 500, help: 'Adam steps of each MLP run' },
  bounds: { kind: 'string', default: BOUND_NAMES.join(','), help: 'estimators of the MLP runs, comma-separated' },
  cnn_sizes: { kind: 'ints', min: 300, default: [2000], help: 'sample counts n of the CNN runs (3072-dimensional x)' },
  cnn_steps: { kind: 'int', min: 1, default: 200, help: 'Adam steps of each CNN run' },
  cnn_bounds: { kind: 'string', default: 'infonce', help: 'estimators of the CNN runs, comma-separated' },
  backend: { kind: 'string', default: '', help: 'tfjs backend (default: keep wasm, the estimators’ default)' },
  no_cnn: { kind: 'boolean', default: false, help: 'skip the CNN runs' },
});

const parseBounds = (text: string): BoundName[] =>
  text.split(',').map((b) => {
    if (!(BOUND_NAMES as readonly string[]).includes(b)) throw new Error(`unknown estimator '${b}': expected ${BOUND_NAMES.join(', ')}`);
    return b as BoundName;
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
const fixed: VariationalOptions = { patience: 0, evalEvery: 100 };
console.log(`tfjs backend ${backend}; MLP critic: default (2 hidden layers of 32, embedding 16), ${o.steps} steps of 128 pairs`);

// warm-up: the JIT and the backend's first kernels
await VARIATIONAL_ESTIMATORS.infonce.estimate(correlated(2000, 1, 0.5, 99), { ...fixed, steps: 50 });

const rows: string[][] = [['estimator', 'critic', 'd', 'n', 'steps', 'seconds', 's/step', 'estimate', 'truth', 'gaussian s', 'ratio']];
for (const n of o.sizes)
  for (const d of o.dims) {
    const data = correlated(n, d, 0.5, 1);
    const truth = (-d / 2) * Math.log(1 - 0.25);
    const g = gaussianSeconds(data);
    for (const bound of parseBounds(o.bounds)) {
      const e = await VARIATIONAL_ESTIMATORS[bound].estimate(data, { ...fixed, steps: o.steps });
      rows.push([
        bound,
        'mlp',
        String(d),
        String(n),
        String(o.steps),
        e.seconds.toFixed(2),
        (e.seconds / o.steps).toFixed(4),
        e.estimate.toFixed(3),
        truth.toFixed(3),
        g.toExponential(2),
        (e.seconds / g).toFixed(0),
      ]);
    }
  }
if (!o.no_cnn)
  for (const n of o.cnn_sizes) {
    const { data, truth } = imagePairs(n, 0.9, 1, 3);
    const g = pcaGaussianSeconds(data);
    for (const bound of parseBounds(o.cnn_bounds)) {
      const e = await VARIATIONAL_ESTIMATORS[bound].estimate(data, { ...fixed, xEncoder: 'cnn', batchSize: 64, steps: o.cnn_steps, monitorBatches: 2 });
      rows.push([
        bound,
        'cnn',
        '3072×1',
        String(n),
        String(o.cnn_steps),
        e.seconds.toFixed(2),
        (e.seconds / o.cnn_steps).toFixed(4),
        e.estimate.toFixed(3),
        truth.toFixed(3),
        g.toExponential(2),
        (e.seconds / g).toFixed(0),
      ]);
    }
  }

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => (c < 3 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '));
