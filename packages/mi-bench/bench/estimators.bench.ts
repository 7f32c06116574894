/**
 * Seconds per estimate of every estimator the harness names, at n = 2000 and 10 000, on
 * Gaussian pairs shaped like the harness's features: (8, 1) as PCA-8 features of a modality
 * beside θ, and (8, 8) as two modalities' PCA-8 features. Each estimator gets the options the
 * harness gives it (a critic's minibatch min(128, n/10), the default steps with early
 * stopping); the Gaussian estimator, timed in the same run, is the baseline of the ratios.
 *
 *   npx tsx bench/estimators.bench.ts [--n 2000,10000] [--estimators gaussian,ksg1,…] [--steps N] [--epochs N]
 *
 * --steps and --epochs reach the trained estimators as `mmmi-bench estimate`'s do (trainingOptions);
 * left out, each estimator trains as the harness trains it by default.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { SeededRandom } from '@mmmi/test-utils';
import type { PairedSamples } from '@mmmi/estimators';
import { resolveEstimators, ESTIMATOR_NAMES, trainingOptions } from '../src/estimator-registry.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000,10000' },
    estimators: { type: 'string', default: ESTIMATOR_NAMES.filter((e) => !e.endsWith('-cnn') && e !== 'binned').join(',') },
    steps: { type: 'string' },
    epochs: { type: 'string' },
  },
});

/** n draws of x (dx) and y (dy) with corr(x_1, y_1) = ρ and independent unit normals elsewhere: I = −½ log(1 − ρ²). */
function pair(n: number, dx: number, dy: number, rho: number, seed: number): PairedSamples {
  const r = new SeededRandom(seed);
  const x = new Float64Array(n * dx);
  const y = new Float64Array(n * dy);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dx; j++) x[i * dx + j] = r.normal();
    for (let j = 0; j < dy; j++) y[i * dy + j] = r.normal();
    y[i * dy] = rho * x[i * dx] + Math.sqrt(1 - rho * rho) * y[i * dy];
  }
  return { n, dx, dy, x, y };
}

const sizes = values.n.split(',').map(Number);
const names = values.estimators.split(',');
const entries = resolveEstimators(names);
const trained = trainingOptions({
  steps: values.steps === undefined ? undefined : Number(values.steps),
  epochs: values.epochs === undefined ? undefined : Number(values.epochs),
});
const rho = 0.9;
const truth = -0.5 * Math.log(1 - rho * rho);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
console.log(`${new Date().toISOString()}; load average ${load()} (1, 5, 15 min)`);
console.log(`Gaussian pairs, corr ${rho} in one coordinate (I = ${truth.toFixed(3)} nats); seconds per estimate, ratio to the Gaussian estimator`);
console.log('| n | dims | estimator | seconds | × gaussian | estimate |');
console.log('|---|---|---|---|---|---|');
for (const n of sizes)
  for (const [dx, dy] of [
    [8, 1],
    [8, 8],
  ]) {
    const data = pair(n, dx, dy, rho, n + dx + dy);
    let baseline = NaN;
    for (const e of entries) {
      const why = e.refuses(n, dx, dy);
      if (why) {
        console.log(`| ${n} | (${dx},${dy}) | ${e.name} | refused: ${why} | | |`);
        continue;
      }
      const options = { seed: 0, ...e.options, ...e.optionsFor?.(n, dx, dy), ...trained[e.name] };
      const t0 = performance.now();
      const r = await e.estimator.estimate(data, options);
      const seconds = (performance.now() - t0) / 1000;
      if (e.name === 'gaussian') baseline = seconds;
      console.log(`| ${n} | (${dx},${dy}) | ${e.name} | ${seconds.toPrecision(3)} | ${(seconds / baseline).toPrecision(3)} | ${r.estimate.toFixed(3)} |`);
    }
  }
console.log(`${new Date().toISOString()}; load average ${load()} (1, 5, 15 min) at the end`);
