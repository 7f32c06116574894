/**
 * Seconds per regression of θ at the harness's sizes, on full-size 3×32×32 images: the
 * identity-map latents of X_1 of the default job's model (Fig. 1a's DAG with random per-pixel
 * θ templates, d = 3072) with θ's weight lowered to --rho_theta (default 0.05: I(X_1; θ) ≈ 1.18
 * nats, Bayes R² ≈ 0.91, printed), as float32 pixels.
 *
 *   ridge on pixels   3072 features: the dual (n×n kernel) form for n < 3072, the primal (3072×3072) above
 *   PCA + ridge       the top --k components fitted on the training rows (fitPca, then project), then ridge on them;
 *                     the PCA's seconds and the ridge's are reported apart
 *   CNN               --epochs epochs exactly (early stopping off), default backend (wasm)
 *
 * Each model is fitted once (the fits take seconds; the JIT's share is small) and scored on
 * --test fresh draws. Timings are wall seconds on whatever else the machine runs.
 *
 *   cd packages/mi-bench && npx tsx bench/regress.bench.ts [--sizes 2000 10000] [--cnn_sizes 2000] [--k 64] [--epochs 3] [--test 2000] [--rho_theta 0.05] [--models ridge,pca,cnn]
 */
import { parseOptions } from '@mmmi/cli-kit';
import { fitPca, project } from '@mmmi/estimators';
import { latentModelFromTokens, sampleBatch, type LatentStructure } from '@mmmi/latents';
import { fileURLToPath } from 'node:url';
import { ensureTrainingBackend } from '@mmmi/estimators';
import { bayesOptimum, regressTheta, type RegressResult } from '../src/regress/index.js';

const { values: o } = parseOptions(process.argv.slice(2), {
  sizes: { kind: 'ints', min: 20, default: [2000, 10000], help: 'training draws n for ridge and PCA + ridge' },
  cnn_sizes: { kind: 'ints', min: 20, default: [2000], help: 'training draws n for the CNN' },
  k: { kind: 'int', min: 1, default: 64, help: 'PCA components' },
  epochs: { kind: 'int', min: 1, default: 3, help: 'CNN epochs (all run)' },
  test: { kind: 'int', min: 2, default: 2000, help: 'test draws' },
  rho_theta: { kind: 'float', min: 0, default: 0.05, help: "θ's weight in the modalities (default.txt has 0.45)" },
  models: { kind: 'string', default: 'ridge,pca,cnn', help: 'comma-separated: ridge, pca, cnn' },
});
const models = new Set(o.models.split(','));

const ARGS = fileURLToPath(new URL('../../../generation_arguments', import.meta.url));
const { structure } = await latentModelFromTokens([`@${ARGS}/default.txt`, '--rho_theta_arg', `[${o.rho_theta}]`]);
const bayes = bayesOptimum(structure, [0]);
const D = structure.modDim;

/** X_1's latents of `count` draws as float32 pixels, and θ. */
function draws(s: LatentStructure, seed: number, count: number): { x: Float32Array; theta: Float64Array } {
  const x = new Float32Array(count * D);
  const theta = new Float64Array(count);
  // in batches of 1000, so that the float64 latents of both modalities never all exist at once
  for (let b = 0, done = 0; done < count; b++) {
    const c = Math.min(1000, count - done);
    const batch = sampleBatch(s, seed, b, c);
    for (let i = 0; i < c; i++) x.set(batch.x.subarray(i * s.nMod * D, i * s.nMod * D + D), (done + i) * D);
    theta.set(batch.theta, done);
    done += c;
  }
  return { x, theta };
}

const line = (what: string, n: number, seconds: number, r: RegressResult | null, note: string) =>
  console.log(`${what.padEnd(16)} ${String(n).padStart(6)} ${seconds.toFixed(2).padStart(9)} ${r ? r.r2.toFixed(4).padStart(8) : '       –'}   ${note}`);

console.log(
  `regression of θ from X_1 (default.txt, rho_theta ${o.rho_theta}, d = ${D}); I(X_1; θ) = ${bayes.mi.toFixed(4)} nats, Bayes R² = ${bayes.r2.toFixed(4)}; test draws ${o.test}; Node ${process.version}`,
);
const test = draws(structure, 99, o.test);
if (models.has('cnn')) console.log(`CNN backend: ${await ensureTrainingBackend()}`);
console.log('model              n        s     R²   details');
for (const n of o.sizes) {
  const train = draws(structure, 1, n);
  if (models.has('ridge')) {
    const r = await regressTheta({ trainFeatures: train.x, trainTheta: train.theta, testFeatures: test.x, testTheta: test.theta, dim: D, model: 'ridge' });
    const d = r.details.model === 'ridge' ? r.details : null;
    line(
      'ridge pixels',
      n,
      r.seconds,
      r,
      `${d?.form}, λ/u = ${d?.relativeLambda?.toExponential(1)}, ${d?.validation?.trials.length} λ × ${d?.validation?.foldsUsed} of ${d?.validation?.folds} folds`,
    );
  }
  if (models.has('pca')) {
    const t0 = performance.now();
    const train64 = Float64Array.from(train.x);
    const pca = fitPca(train64, n, D, o.k);
    const xTrain = project(pca, train64, n);
    const xTest = project(pca, Float64Array.from(test.x), o.test);
    const pcaSeconds = (performance.now() - t0) / 1000;
    line(`PCA ${o.k} fit+proj`, n, pcaSeconds, null, `${pca.route} route, basis ${pca.basisSize}, converged ${pca.converged}`);
    const r = await regressTheta({ trainFeatures: xTrain, trainTheta: train.theta, testFeatures: xTest, testTheta: test.theta, dim: o.k, model: 'ridge' });
    const d = r.details.model === 'ridge' ? r.details : null;
    line(
      `ridge pca${o.k}`,
      n,
      r.seconds,
      r,
      `${d?.form}, λ/u = ${d?.relativeLambda?.toExponential(1)}, ${d?.validation?.trials.length} λ × ${d?.validation?.foldsUsed} of ${d?.validation?.folds} folds`,
    );
  }
}
if (models.has('cnn')) {
  for (const n of o.cnn_sizes) {
    const train = draws(structure, 1, n);
    const r = await regressTheta({
      trainFeatures: train.x,
      trainTheta: train.theta,
      testFeatures: test.x,
      testTheta: test.theta,
      dim: D,
      model: 'cnn',
      cnn: { epochs: o.epochs, patience: o.epochs },
    });
    const d = r.details.model === 'cnn' ? r.details : null;
    line(
      'cnn',
      n,
      r.seconds,
      r,
      `${d?.curve.length} epochs on ${d?.trainRows} rows (+${d?.validationRows} validation), ${(r.seconds / (d?.curve.length ?? 1)).toFixed(2)} s/epoch`,
    );
  }
}
