/**
 * Trains the realism classifier (src/realism/model.ts) on CIFAR-10 and writes what
 * `realismScore` ships with: the weights, the test set's reference features and labels, and
 * the golden images with their features.
 *
 *   cd packages/fid && npx tsx scripts/train-realism-classifier.ts \
 *       [--data /work/shared/datasets/cifar10-jpeg.tar.gz] [--out models] [--epochs 8] [--batch 128]
 *       [--widths 32,64,128] [--convs 2] [--feature-dim 128] [--lr 0.1] [--wd 5e-4] [--seed 0]
 *       [--minutes 45] [--backend auto|wasm|cpu|...] [--bench 10] [--finalize-only]
 *
 * Recipe: SGD with Nesterov momentum 0.9, weight decay on the weights (not BatchNorm's γ/β,
 * not the biases), batch 128, one-cycle learning rate (linear warm-up over the first 15 % of
 * the run to --lr, then linear decay to 0; the run's progress is the fraction of the
 * --epochs steps done or, with --minutes, of the wall-time budget spent, whichever is
 * larger, and the run stops when it reaches 1), random crop with 4-pixel zero padding and
 * horizontal flips. After every epoch: accuracy on the 10 000 test images (running
 * BatchNorm statistics) and the weights saved (atomic), so the run can be stopped at any
 * time; `--finalize-only` then writes the reference files from the saved weights.
 *
 * --bench N: times N training steps (after 2 warm-up steps) and the inference pass, prints
 * images/s, and exits.
 *
 * tfjs's gradients and the wasm training kernels come from @mmmi/tfjs-runtime's
 * prepareBackend (build it first: `npx nx run tfjs-runtime:build`).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { CIFAR10_CLASSES, readCifar10, writeNpy } from '@mmmi/formats';
import { permutation, Rng } from '@mmmi/latents';
import { prepareBackend } from '@mmmi/tfjs-runtime';
import { forward, initialParameters, parameterCount, parameterSpecs, type RealismArchitecture } from '../src/realism/model.js';
import { loadRealismClassifier, REALISM_FILES, saveRealismWeights, type RealismClassifier } from '../src/realism/classifier.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback?: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const flag = (name: string) => args.includes(`--${name}`);

const dataPath = opt('data', '/work/shared/datasets/cifar10-jpeg.tar.gz')!;
const outDir = opt('out', join(import.meta.dirname, '..', 'models'))!;
const epochs = Number(opt('epochs', '8'));
const batchSize = Number(opt('batch', '128'));
const peakLr = Number(opt('lr', '0.1'));
const weightDecay = Number(opt('wd', '5e-4'));
const momentum = 0.9;
const warmupFraction = 0.15;
const seed = Number(opt('seed', '0'));
/** Wall-time budget of the training loop in minutes (0: none); the schedule follows it. */
const minutes = Number(opt('minutes', '0'));
const arch: RealismArchitecture = {
  widths: opt('widths', '32,64,128')!.split(',').map(Number),
  convsPerStage: Number(opt('convs', '2')),
  featureDim: Number(opt('feature-dim', '128')),
  classes: 10,
};
const benchSteps = opt('bench') === undefined ? 0 : Number(opt('bench'));
const GOLDEN_COUNT = 8;

const log = (m: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);

interface Split {
  images: Uint8Array; // n×32×32×3 HWC
  labels: Int32Array;
  n: number;
}

async function loadSplit(split: 'train' | 'test', limit = Infinity): Promise<Split> {
  const chunks: { images: Uint8Array; labels: Uint8Array; n: number }[] = [];
  let n = 0;
  for await (const b of readCifar10(dataPath, split)) {
    chunks.push(b);
    n += b.n;
    if (n >= limit) break;
  }
  n = Math.min(n, limit);
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  let k = 0;
  for (const c of chunks) {
    const m = Math.min(c.n, n - k);
    images.set(c.images.subarray(0, m * 3072), k * 3072);
    for (let i = 0; i < m; i++) labels[k + i] = c.labels[i];
    k += m;
  }
  return { images, labels, n };
}

/** Random crop (4-pixel zero padding) and horizontal flip, to NHWC float32 in [0, 1]. */
function augmentedBatch(data: Split, idx: Int32Array, rng: Rng): Float32Array {
  const out = new Float32Array(idx.length * 3072);
  for (let b = 0; b < idx.length; b++) {
    const src = idx[b] * 3072;
    const dx = Math.floor(rng.uniform() * 9) - 4;
    const dy = Math.floor(rng.uniform() * 9) - 4;
    const flip = rng.uniform() < 0.5;
    const dst = b * 3072;
    for (let y = 0; y < 32; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= 32) continue;
      for (let x = 0; x < 32; x++) {
        const sx0 = x + dx;
        if (sx0 < 0 || sx0 >= 32) continue;
        const sx = flip ? 31 - sx0 : sx0;
        const s = src + (sy * 32 + sx) * 3;
        const d = dst + (y * 32 + x) * 3;
        out[d] = data.images[s] / 255;
        out[d + 1] = data.images[s + 1] / 255;
        out[d + 2] = data.images[s + 2] / 255;
      }
    }
  }
  return out;
}

/** HWC uint8 images [start, start+count) → CHW float32 in [0, 1] (the API's layout). */
function toChw(data: Split, start: number, count: number): Float32Array {
  const out = new Float32Array(count * 3072);
  for (let i = 0; i < count; i++) {
    const s = (start + i) * 3072;
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[i * 3072 + c * 1024 + p] = data.images[s + p * 3 + c] / 255;
  }
  return out;
}

class Trainer {
  readonly vars = new Map<string, tf.Variable>();
  readonly velocity = new Map<string, tf.Variable>();
  readonly trainable: string[];
  readonly decayed = new Set<string>();
  readonly bnMomentum = 0.1;

  constructor(values: Map<string, Float32Array>) {
    const specs = parameterSpecs(arch);
    for (const s of specs) {
      this.vars.set(s.name, tf.variable(tf.tensor(values.get(s.name)!, s.shape), s.trainable, s.name));
      if (s.trainable) this.velocity.set(s.name, tf.variable(tf.zeros(s.shape), false));
      if (s.name.endsWith('.weight')) this.decayed.add(s.name);
    }
    this.trainable = specs.filter((s) => s.trainable).map((s) => s.name);
  }

  params(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.vars);
  }

  /** One SGD step; returns the batch loss and number correct. */
  step(x: Float32Array, labels: Int32Array, lr: number): { loss: number; correct: number } {
    const n = labels.length;
    const oneHot = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) oneHot[i * 10 + labels[i]] = 1;
    const result = tf.tidy(() => {
      const xt = tf.tensor4d(x, [n, 32, 32, 3]);
      const yt = tf.tensor2d(oneHot, [n, 10]);
      let moments: { name: string; mean: tf.Tensor; variance: tf.Tensor }[] = [];
      let logitsKept: tf.Tensor | undefined;
      const varList = this.trainable.map((k) => this.vars.get(k)!);
      const { value, grads } = tf.variableGrads(() => {
        const out = forward(arch, this.params(), xt, true);
        moments = out.moments.map((m) => ({ name: m.name, mean: tf.keep(m.mean), variance: tf.keep(m.variance) }));
        logitsKept = tf.keep(out.logits);
        const logp = tf.logSoftmax(out.logits);
        return tf.neg(tf.mean(tf.sum(tf.mul(logp, yt), 1))) as tf.Scalar;
      }, varList);
      for (const name of this.trainable) {
        const w = this.vars.get(name)!;
        const v = this.velocity.get(name)!;
        let g = grads[name];
        if (this.decayed.has(name)) g = tf.add(g, tf.mul(w, weightDecay));
        const vNew = tf.add(tf.mul(v, momentum), g);
        v.assign(vNew);
        w.assign(tf.sub(w, tf.mul(tf.add(g, tf.mul(vNew, momentum)), lr)));
      }
      for (const m of moments) {
        const mean = this.vars.get(`${m.name}.bn.mean`)!;
        const vr = this.vars.get(`${m.name}.bn.var`)!;
        mean.assign(tf.add(tf.mul(mean, 1 - this.bnMomentum), tf.mul(m.mean, this.bnMomentum)));
        vr.assign(tf.add(tf.mul(vr, 1 - this.bnMomentum), tf.mul(m.variance, this.bnMomentum)));
        tf.dispose([m.mean, m.variance]);
      }
      const pred = tf.argMax(logitsKept!, 1);
      const correct = tf.sum(tf.cast(tf.equal(pred, tf.tensor1d(labels, 'int32')), 'int32'));
      tf.dispose(logitsKept!);
      return [value, correct];
    });
    const [lossT, correctT] = result;
    const loss = lossT.dataSync()[0];
    const correct = correctT.dataSync()[0];
    tf.dispose(result);
    return { loss, correct };
  }

  values(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.vars) out.set(k, Float32Array.from(v.dataSync() as Float32Array));
    return out;
  }
}

function evaluate(classifier: RealismClassifier, data: Split): { accuracy: number; predicted: Int32Array; features: Float32Array } {
  const predicted = new Int32Array(data.n);
  const features = new Float32Array(data.n * classifier.featureDim);
  const chunk = 500;
  for (let s = 0; s < data.n; s += chunk) {
    const m = Math.min(chunk, data.n - s);
    const r = classifier.run(toChw(data, s, m), m);
    predicted.set(r.predicted, s);
    features.set(r.features, s * classifier.featureDim);
  }
  let correct = 0;
  for (let i = 0; i < data.n; i++) if (predicted[i] === data.labels[i]) correct++;
  return { accuracy: correct / data.n, predicted, features };
}

async function finalize(test: Split, note: Record<string, string>): Promise<void> {
  const classifier = await loadRealismClassifier(outDir, { verifyGolden: false });
  const t0 = performance.now();
  const ev = evaluate(classifier, test);
  const secs = (performance.now() - t0) / 1000;
  log(`final test accuracy ${(100 * ev.accuracy).toFixed(2)} % on ${test.n} images (${(test.n / secs).toFixed(0)} images/s inference)`);
  const perClass = CIFAR10_CLASSES.map((name, c) => {
    let n = 0;
    let ok = 0;
    for (let i = 0; i < test.n; i++)
      if (test.labels[i] === c) {
        n++;
        if (ev.predicted[i] === c) ok++;
      }
    return `${name} ${((100 * ok) / n).toFixed(1)}`;
  });
  log(`per class: ${perClass.join(', ')}`);
  const { writeReferenceFiles } = await import('../src/realism/reference.js');
  await writeReferenceFiles(outDir, {
    features: ev.features,
    featureDim: classifier.featureDim,
    labels: test.labels,
    predicted: ev.predicted,
    metadata: { ...note, test_accuracy: ev.accuracy.toFixed(4) },
  });
  const goldenPixels = toChw(test, 0, GOLDEN_COUNT);
  const g = classifier.run(goldenPixels, GOLDEN_COUNT);
  await writeNpy(join(outDir, REALISM_FILES.goldenImages), { dtype: '<f4', shape: [GOLDEN_COUNT, 3, 32, 32], data: goldenPixels });
  await writeNpy(join(outDir, REALISM_FILES.goldenFeatures), { dtype: '<f4', shape: [GOLDEN_COUNT, classifier.featureDim], data: g.features });
  await writeNpy(join(outDir, REALISM_FILES.goldenLogits), { dtype: '<f4', shape: [GOLDEN_COUNT, 10], data: g.logits });
  classifier.dispose();
  log(`reference files written to ${outDir}`);
}

async function main(): Promise<void> {
  const backend = await prepareBackend(opt('backend', 'auto')!, { log, label: 'fid' });
  mkdirSync(outDir, { recursive: true });
  const tLoad = performance.now();
  const test = await loadSplit('test');
  if (flag('finalize-only')) {
    log(`backend ${backend}; the reference files of the weights in ${outDir}`);
    await finalize(test, { finalized_separately: 'true', backend });
    return;
  }
  log(`backend ${backend}; architecture ${JSON.stringify(arch)}; ${parameterCount(arch)} parameters`);
  const train = benchSteps > 0 ? await loadSplit('train', 2000) : await loadSplit('train');
  log(`data: ${train.n} train, ${test.n} test images in ${((performance.now() - tLoad) / 1000).toFixed(1)} s from ${dataPath}`);

  const rng = new Rng(seed, 1);
  const trainer = new Trainer(initialParameters(arch, seed));
  const stepsPerEpoch = Math.floor(train.n / batchSize);
  const totalSteps = stepsPerEpoch * epochs;
  // progress in [0, 1]: by steps, or with --minutes by wall time (whichever is further), so
  // that the one-cycle schedule ends on time on a machine shared with other work
  const budgetSeconds = minutes > 0 ? minutes * 60 : Infinity;
  let started = performance.now();
  const progress = (step: number) => Math.max(step / totalSteps, (performance.now() - started) / 1000 / budgetSeconds);
  const lrAt = (step: number) => {
    const p = Math.min(1, progress(step));
    return p < warmupFraction ? peakLr * Math.max(p / warmupFraction, 1 / 400) : (peakLr * (1 - p)) / (1 - warmupFraction);
  };

  if (benchSteps > 0) {
    const perm = permutation(train.n, () => rng.uniform());
    const idx = (k: number) => perm.subarray((k * batchSize) % (train.n - batchSize), ((k * batchSize) % (train.n - batchSize)) + batchSize);
    const run = (k: number) => {
      const ix = idx(k);
      trainer.step(
        augmentedBatch(train, ix, rng),
        Int32Array.from(ix, (i) => train.labels[i]),
        0.01,
      );
    };
    for (let k = 0; k < 2; k++) run(k);
    const t0 = performance.now();
    for (let k = 0; k < benchSteps; k++) run(k + 2);
    const secs = (performance.now() - t0) / 1000;
    const ips = (benchSteps * batchSize) / secs;
    log(`bench: training ${ips.toFixed(1)} images/s (batch ${batchSize}); an epoch of 50 000 ≈ ${(50000 / ips / 60).toFixed(1)} min`);
    await saveRealismWeights(join(outDir, 'bench-tmp'), arch, trainer.values(), {});
    const classifier = await loadRealismClassifier(join(outDir, 'bench-tmp'), { verifyGolden: false, requireReference: false });
    classifier.run(toChw(test, 0, 500), 500);
    const t1 = performance.now();
    classifier.run(toChw(test, 500, 1000), 1000);
    log(`bench: inference ${(1000 / ((performance.now() - t1) / 1000)).toFixed(0)} images/s`);
    classifier.dispose();
    return;
  }

  started = performance.now();
  const command = `npx tsx scripts/train-realism-classifier.ts ${args.join(' ')}`.trim();
  let step = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const perm = permutation(train.n, () => rng.uniform());
    const tEpoch = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let stop = false;
    for (let k = 0; k < stepsPerEpoch && !stop; k++, step++) {
      const ix = perm.subarray(k * batchSize, (k + 1) * batchSize);
      const labels = Int32Array.from(ix, (i) => train.labels[i]);
      const r = trainer.step(augmentedBatch(train, ix, rng), labels, lrAt(step));
      if (!Number.isFinite(r.loss)) throw new Error(`loss is ${r.loss} at step ${step}`);
      lossSum += r.loss * ix.length;
      correct += r.correct;
      seen += ix.length;
      stop = progress(step + 1) >= 1;
      if ((k + 1) % 50 === 0 || k + 1 === stepsPerEpoch || stop) {
        const secs = (performance.now() - tEpoch) / 1000;
        log(
          `epoch ${epoch}/${epochs} step ${k + 1}/${stepsPerEpoch} lr ${lrAt(step).toFixed(4)} loss ${(lossSum / seen).toFixed(4)} ` +
            `train-acc ${((100 * correct) / seen).toFixed(1)} % ${(seen / secs).toFixed(1)} images/s`,
        );
      }
    }
    const wall = (performance.now() - started) / 1000;
    await saveRealismWeights(outDir, arch, trainer.values(), {
      epoch: stop ? (epoch - 1 + seen / train.n).toFixed(2) : String(epoch),
      epochs_planned: String(epochs),
      minutes_budget: String(minutes),
      wall_seconds: wall.toFixed(0),
      command,
      backend,
      date: new Date().toISOString().slice(0, 10),
    });
    const classifier = await loadRealismClassifier(outDir, { verifyGolden: false, requireReference: false });
    const ev = evaluate(classifier, test);
    classifier.dispose();
    log(
      `epoch ${epoch}/${epochs} done: train loss ${(lossSum / seen).toFixed(4)}, train-acc ${((100 * correct) / seen).toFixed(1)} %, ` +
        `held-out (test) accuracy ${(100 * ev.accuracy).toFixed(2)} %, ${(seen / ((performance.now() - tEpoch) / 1000)).toFixed(1)} images/s ` +
        `(epoch incl. eval ${((performance.now() - tEpoch) / 60000).toFixed(1)} min, total ${(wall / 60).toFixed(1)} min); weights saved`,
    );
    if (stop) {
      log(`time budget of ${minutes} min reached after ${(epoch - 1 + seen / train.n).toFixed(2)} epochs (${step} steps)`);
      break;
    }
  }
  const wall = (performance.now() - started) / 1000;
  log(`training done in ${(wall / 60).toFixed(1)} min`);
  await finalize(test, { training_wall_seconds: wall.toFixed(0), command, backend });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
