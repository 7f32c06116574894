/**
 * Flow matching end to end: the CondOT path + AdamW learn a 2-D Gaussian mixture with a small
 * MLP; the trainer's loss falls on a tiny UNet; a resumed run continues bit for bit; a
 * non-finite loss stops training without touching checkpoints; clear configuration errors.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { SeededRandom, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTfjsGradients } from '@mmmi/tfjs-runtime';
import { CheckpointError, readCheckpointFile, writeCheckpoint } from '../src/checkpoint.js';
import { AdamW, learningRate } from '../src/optim.js';
import { condOtSample } from '../src/path.js';
import { integrate } from '../src/solvers/index.js';
import { uniformGrid } from '../src/time-grid.js';
import { train, type TrainOptions } from '../src/train.js';
import { flowMatchingLoss, microBatchDraws, NonFiniteLossError } from '../src/train-step.js';
import { makeBatch } from '../src/data/batches.js';
import { FlowModel } from '../src/flow-model.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { initialParamValues } from '../src/unet/params.js';
import { makeDataset, microConfig, trainOptions } from './helpers/training.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  // tfjs-core's Node bundle registers no gradient functions
  await registerTfjsGradients();
});

describe('flow matching learns a 2-D Gaussian mixture (MLP velocity, CondOT path, AdamW, heun2)', () => {
  // ½·N((1.5, 0.5), 0.25²I) + ½·N((−1, −1), 0.25²I):
  //   mean = (0.25, −0.25),  cov = 0.0625·I + ¼·(2.5, 1.5)(2.5, 1.5)ᵀ = [[1.625, 0.9375], [0.9375, 0.625]]
  const MU = [
    [1.5, 0.5],
    [-1, -1],
  ];
  const SIGMA = 0.25;
  const MEAN = [0.25, -0.25];
  const COV = [1.625, 0.9375, 0.625]; // xx, xy, yy
  // sampling error of 4000 points: ≈ 0.02 on the mean, ≈ 0.04 on cov_xx. Trained with seeds
  // 1–6 the errors were ≤ 0.05 (mean) and ≤ 0.12 (cov_xx, a little low: the modes are not
  // quite separated); untrained, cov_xy ≈ 0 instead of 0.94.
  const MEAN_TOL = 0.1;
  const COV_TOL = 0.15;

  function sampleMixture(rng: SeededRandom, n: number): Float32Array {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const mu = MU[rng.uniform() < 0.5 ? 0 : 1];
      out[2 * i] = mu[0] + SIGMA * rng.normal();
      out[2 * i + 1] = mu[1] + SIGMA * rng.normal();
    }
    return out;
  }

  function moments(p: ArrayLike<number>): { mean: number[]; cov: number[] } {
    const n = p.length / 2;
    let mx = 0;
    let my = 0;
    for (let i = 0; i < n; i++) {
      mx += p[2 * i];
      my += p[2 * i + 1];
    }
    mx /= n;
    my /= n;
    let sxx = 0;
    let sxy = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      const dx = p[2 * i] - mx;
      const dy = p[2 * i + 1] - my;
      sxx += dx * dx;
      sxy += dx * dy;
      syy += dy * dy;
    }
    return { mean: [mx, my], cov: [sxx / (n - 1), sxy / (n - 1), syy / (n - 1)] };
  }

  const matches = (m: { mean: number[]; cov: number[] }) =>
    m.mean.every((v, i) => Math.abs(v - MEAN[i]) <= MEAN_TOL) && m.cov.every((v, i) => Math.abs(v - COV[i]) <= COV_TOL);

  it('the generated points have the mixture’s mean and covariance; the untrained model’s do not', () => {
    const rng = new SeededRandom(1);
    const hidden = 64;
    // v(x, t) = W₂ᵀ SiLU(W₁ᵀ [x, t] + b₁) + b₂, PyTorch-style U(±1/√fan_in) initialisation
    const params = new Map<string, tf.Variable>([
      ['w1', tf.variable(tf.tensor2d(rng.uniforms(3 * hidden, 1 / Math.sqrt(3)), [3, hidden]), true, 'mlp/w1')],
      ['b1', tf.variable(tf.tensor1d(rng.uniforms(hidden, 1 / Math.sqrt(3))), true, 'mlp/b1')],
      ['w2', tf.variable(tf.tensor2d(rng.uniforms(hidden * 2, 1 / Math.sqrt(hidden)), [hidden, 2]), true, 'mlp/w2')],
      ['b2', tf.variable(tf.tensor1d(rng.uniforms(2, 1 / Math.sqrt(hidden))), true, 'mlp/b2')],
    ]);
    const velocity = (x: tf.Tensor, t: tf.Tensor) => {
      const h = tf.add(tf.matMul(tf.concat([tf.reshape(x, [-1, 2]), tf.reshape(t, [-1, 1])], 1), params.get('w1')!), params.get('b1')!);
      return tf.add(tf.matMul(tf.mul(h, tf.sigmoid(h)), params.get('w2')!), params.get('b2')!);
    };
    const generate = (n: number) => {
      const x0 = tf.tensor2d(rng.normals(2 * n), [n, 2]);
      const { x, nfe } = integrate((x, t) => tf.tidy(() => velocity(x, tf.fill([n], t))), x0, uniformGrid(50), 'heun2');
      expect(nfe).toBe(100);
      const points = x.dataSync() as Float32Array;
      tf.dispose([x, x0]);
      return moments(points);
    };

    const untrained = generate(4000);
    expect(matches(untrained), JSON.stringify(untrained)).toBe(false);

    // 500 steps of 256 points, lr 1e-2 decayed linearly (the trainer's --decay_lr schedule)
    const optimizer = new AdamW(params, { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    const batch = 256;
    const losses: number[] = [];
    for (let step = 0; step < 500; step++) {
      const loss = tf.tidy(() => {
        // points as [B, 1, 1, 2] "images" for condOtSample
        const x1 = tf.tensor4d(sampleMixture(rng, batch), [batch, 1, 1, 2]);
        const x0 = tf.tensor4d(rng.normals(2 * batch), [batch, 1, 1, 2]);
        const t = tf.tensor1d(Float32Array.from({ length: batch }, () => rng.uniform()));
        const { xt, target } = condOtSample(x0, x1, t);
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(velocity(xt, t), tf.reshape(target, [batch, 2])))) as tf.Scalar);
        optimizer.apply(new Map([...params].map(([k, p]) => [k, grads[p.name]])), learningRate(1e-2, step, 500, true));
        return value;
      });
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    const trained = generate(4000);
    expect(matches(trained), JSON.stringify(trained)).toBe(true);
    expect(losses.slice(-50).reduce((a, b) => a + b) / 50).toBeLessThan(losses.slice(0, 50).reduce((a, b) => a + b) / 50);
    optimizer.dispose();
    for (const p of params.values()) p.dispose();
  });
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('train: a tiny UNet (`tiny` with 8 channels, see helpers/training.ts), 8×8 images, cpu backend', () => {
  it('the loss falls', async () => {
    const dir = tempDir();
    const losses: number[] = [];
    const result = await train(makeDataset(16), trainOptions(dir, { epochs: 4, lr: 3e-3, onStep: (s) => losses.push(s.loss) }));
    expect(losses).toHaveLength(16); // 4 steps of 4 images per epoch
    expect(result.losses).toEqual(losses);
    // per-step losses are noisy (4 images, random t and noise): compare the first and last
    // epochs' means (here 1.37 and 1.10)
    const first = mean(losses.slice(0, 4));
    const last = mean(losses.slice(-4));
    expect(last, `first steps ${first}, last steps ${last}`).toBeLessThan(0.85 * first);
    // and the loss of the initial and the final weights on the same 16 images, times and noise
    // (no learning: a ratio of 1)
    const data = makeDataset(16);
    const batch = makeBatch(
      data,
      Uint32Array.from({ length: 16 }, (_, i) => i),
      0,
      16,
      0,
      0,
    );
    const settings = { seed: 99, classDropProb: 0, skewedTimesteps: false };
    const fixedLoss = async (model: FlowModel) => {
      let total = 0;
      for (let k = 0; k < 4; k++) {
        const l = tf.tidy(() => flowMatchingLoss(model, batch, microBatchDraws(settings, k, 16, 8 * 8 * 3), k));
        total += (await l.data())[0] / 4;
        l.dispose();
      }
      return total;
    };
    const initial = new FlowModel(microConfig(), { seed: 0 });
    const before = await fixedLoss(initial);
    initial.dispose();
    const trained = new FlowModel(microConfig(), (await readCheckpointFile(result.checkpoint!)).weights);
    const after = await fixedLoss(trained);
    trained.dispose();
    expect(after, `fixed-draw loss ${before} → ${after}`).toBeLessThan(0.85 * before); // here 1.41 → 1.08
    expect(result.progress).toMatchObject({ epoch: 4, iteration: 0, optimizerSteps: 16, imagesSeen: 64 });
    // the last epoch evaluated: checkpoint, registry entry, sample grid
    expect(result.checkpoint).toBe(join(dir, 'out', 'checkpoint.safetensors'));
    const registry = JSON.parse(readFileSync(join(dir, 'registry', 'registry.json'), 'utf8'));
    expect(registry.models.out).toMatchObject({ config: 'micro', epoch: 4, imagesSeen: 64 });
    expect(
      readFileSync(join(dir, 'out', 'samples-epoch0003.png'))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    // one JSON line per epoch in log.txt (the progress bar writes its own, plain lines there too)
    const log = readFileSync(join(dir, 'out', 'log.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(log.map((l) => l.epoch)).toEqual([0, 1, 2, 3]);
    expect(log.map((l) => l.train_loss)).toEqual([0, 4, 8, 12].map((i) => mean(losses.slice(i, i + 4))));
  });

  it('a run stopped mid-epoch and resumed from its checkpoint continues exactly like an uninterrupted one', async () => {
    const data = makeDataset(16, 8, 3, 7);
    // gradient accumulation, EMA, lr decay, label dropping and skewed times all take part
    const common: Partial<TrainOptions> = {
      batchSize: 2,
      accumIter: 2,
      epochs: 2,
      lr: 2e-3,
      decayLr: true,
      useEma: true,
      classDropProb: 0.5,
      skewedTimesteps: true,
      seed: 5,
    };
    type Step = { epoch: number; iteration: number; loss: number; optimizerSteps: number };

    const dirA = tempDir();
    const stepsA: Step[] = [];
    const a = await train(data, trainOptions(dirA, { ...common, onStep: (s) => stepsA.push(s) }));
    expect(stepsA).toHaveLength(8); // 2 epochs × 4 steps of 2×2 images

    const dirB = tempDir();
    const stepsB1: Step[] = [];
    const b1 = await train(data, trainOptions(dirB, { ...common, maxImages: 8, onStep: (s) => stepsB1.push(s) }));
    expect(stepsB1).toHaveLength(2);
    expect(b1.progress).toMatchObject({ epoch: 0, iteration: 4, optimizerSteps: 2, emaUpdates: 2, imagesSeen: 8 });
    const checkpointB = join(dirB, 'out', 'checkpoint.safetensors');
    expect(b1.checkpoint).toBe(checkpointB);

    const stepsB2: Step[] = [];
    const b2 = await train(data, trainOptions(dirB, { ...common, resume: checkpointB, onStep: (s) => stepsB2.push(s) }));
    expect(stepsB2).toHaveLength(6);
    // identical per-step losses (exact float equality), positions and step counts
    expect([...stepsB1, ...stepsB2]).toEqual(stepsA);
    expect(b2.progress).toMatchObject({ epoch: 2, iteration: 0, optimizerSteps: 8, emaUpdates: 8, imagesSeen: 32 });
    expect(a.progress).toMatchObject({ epoch: 2, iteration: 0, optimizerSteps: 8, emaUpdates: 8, imagesSeen: 32 });

    // identical final weights, EMA and AdamW moments
    const ckA = await readCheckpointFile(a.checkpoint!);
    const ckB = await readCheckpointFile(b2.checkpoint!);
    for (const [name, values] of ckA.weights) {
      expect(ckB.weights.get(name), name).toEqual(values);
      expect(ckB.ema!.get(name), `ema ${name}`).toEqual(ckA.ema!.get(name));
      expect(ckB.optimizer!.expAvg.get(name), `exp_avg ${name}`).toEqual(ckA.optimizer!.expAvg.get(name));
      expect(ckB.optimizer!.expAvgSq.get(name), `exp_avg_sq ${name}`).toEqual(ckA.optimizer!.expAvgSq.get(name));
    }
    // and they did train (the EMA differs from the live weights)
    expect(ckA.ema!.get('out.2.weight')).not.toEqual(ckA.weights.get('out.2.weight'));
  });

  it('a non-finite loss stops training with NonFiniteLossError and leaves the existing checkpoint as it was', async () => {
    const dir = tempDir();
    const data = makeDataset(8);
    const first = await train(data, trainOptions(dir, { epochs: 1 }));
    const checkpoint = first.checkpoint!;
    const bytes = readFileSync(checkpoint);
    const registry = readFileSync(join(dir, 'registry', 'registry.json'));
    // lr 1e30: the first step blows the weights up to ~1e27, the next forward overflows
    const losses: number[] = [];
    const error = await train(data, trainOptions(dir, { epochs: 3, lr: 1e30, resume: checkpoint, onStep: (s) => losses.push(s.loss) })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NonFiniteLossError);
    // epoch 1 (2 steps of 4 images per epoch): its first step is finite, the second is not
    expect(losses).toHaveLength(1);
    expect(Number.isFinite(losses[0])).toBe(true);
    expect((error as NonFiniteLossError).iteration).toBe(3);
    expect(Number.isFinite((error as NonFiniteLossError).loss)).toBe(false);
    expect((error as Error).message).toMatch(/^training stopped: the loss is (NaN|-?Infinity) at iteration 3/);
    expect(readFileSync(checkpoint).equals(bytes)).toBe(true);
    expect(readFileSync(join(dir, 'registry', 'registry.json')).equals(registry)).toBe(true);
  });
});

describe('train: clear errors', () => {
  it('data whose image size differs from the configuration', async () => {
    await expect(train(makeDataset(4, 16), trainOptions(tempDir()))).rejects.toThrow("the data are 16×16 images, model configuration 'micro' expects 8×8");
    await expect(train(makeDataset(4, 8, 12), trainOptions(tempDir()))).rejects.toThrow(/12 classes, model configuration 'micro' has 10/);
  });

  it('a --resume checkpoint of another configuration, or none at all', async () => {
    const dir = tempDir();
    const data = makeDataset(4);
    const ckpt = join(dir, 'other.safetensors');
    // a checkpoint of another configuration, written directly (no training needed)
    const other = { ...microConfig(), name: 'micro-wide', modelChannels: 16 };
    const arch = buildArchitecture(other);
    const values = initialParamValues(arch, 0);
    await writeCheckpoint(ckpt, {
      meta: {
        format: 'mmmi-flow-checkpoint',
        version: 1,
        config: other,
        parameters: arch.parameterCount,
        weights: 'live',
        sampling: trainOptions(dir).sampling,
        trainArgs: {},
        provenance: {},
      },
      weights: values,
      optimizer: { expAvg: values, expAvgSq: values },
    });
    await expect(train(data, trainOptions(dir, { resume: ckpt }))).rejects.toThrow(
      `--resume ${ckpt}: its model configuration 'micro-wide' differs from 'micro'`,
    );
    // the same name, another field: still refused
    await expect(train(data, trainOptions(dir, { resume: ckpt, config: { ...other, name: 'micro-wide', numHeads: 2 } }))).rejects.toThrow(/differs/);
    const missing = join(dir, 'nope.safetensors');
    const error = await train(data, trainOptions(dir, { resume: missing })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toContain(`checkpoint ${missing} does not exist`);
    writeFileSync(join(dir, 'garbage.safetensors'), 'not a checkpoint');
    await expect(train(data, trainOptions(dir, { resume: join(dir, 'garbage.safetensors') }))).rejects.toThrow(/is not a readable checkpoint/);
  });

  it('--use_ema on a checkpoint without EMA weights names the problem', async () => {
    const dir = tempDir();
    const data = makeDataset(4);
    const first = await train(data, trainOptions(dir, { epochs: 1 }));
    await expect(train(data, trainOptions(dir, { epochs: 2, useEma: true, resume: first.checkpoint! }))).rejects.toThrow(
      `--resume ${first.checkpoint}: --use_ema is set but the checkpoint has no EMA weights`,
    );
  });
});

describe('train releases every tensor it made', () => {
  // the tfjs engine counts live tensors; a run (finished, stopped by a non-finite loss, or
  // refused at resume) should leave the count as it found it
  it('after a finished run, a resumed one, a non-finite stop and a refused resume', async () => {
    const data = makeDataset(4);
    const dir = tempDir();
    const leaks: Record<string, number> = {};
    const count = async (what: string, run: () => Promise<unknown>) => {
      const before = tf.memory().numTensors;
      await run().catch(() => undefined);
      leaks[what] = tf.memory().numTensors - before;
    };
    let checkpoint = '';
    await count('finished', async () => (checkpoint = (await train(data, trainOptions(dir, { epochs: 1 }))).checkpoint!));
    await count('resumed', () => train(data, trainOptions(tempDir(), { epochs: 2, resume: checkpoint })));
    await count('non-finite', () => train(data, trainOptions(tempDir(), { epochs: 3, lr: 1e30, resume: checkpoint })));
    await count('refused resume', () => train(data, trainOptions(tempDir(), { epochs: 2, useEma: true, resume: checkpoint })));
    expect(leaks).toEqual({ finished: 0, resumed: 0, 'non-finite': 0, 'refused resume': 0 });
  });
});
