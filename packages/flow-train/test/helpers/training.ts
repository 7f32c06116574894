/**
 * Fixtures for training tests: a hand-made in-memory dataset, a UNet small enough to train
 * on tfjs's cpu backend in seconds, and quiet `train` options writing into temp folders.
 */
import { join } from 'node:path';
import { SeededRandom } from '@mmmi/test-utils';
import type { ImageDataset } from '../../src/data/dataset.js';
import type { TrainOptions } from '../../src/train.js';
import type { UNetArchitecture } from '../../src/unet/architecture.js';
import { unetConfig, type UNetConfig } from '../../src/unet/config.js';
import type { ParamValues } from '../../src/unet/params.js';

/**
 * The `tiny` configuration (8×8, two levels, attention at the half resolution, scale-shift
 * norm, new attention order) with 8 instead of 32 model channels and 4 GroupNorm groups:
 * tfjs-backend-cpu's Conv2DBackpropFilter runs element by element through TensorBuffer.get,
 * so a `tiny` step of 8 images takes ~12 s there and this one well under a second.
 */
export function microConfig(overrides: Partial<UNetConfig> = {}): UNetConfig {
  return { ...unetConfig('tiny'), name: 'micro', modelChannels: 8, normGroups: 4, ...overrides };
}

/**
 * `n` images of `size`×`size` in `classes` classes: class 0 a red horizontal ramp, class 1 a
 * blue vertical ramp, class 2 a green checkerboard …, each with a little seeded noise.
 */
export function makeDataset(n: number, size = 8, classes = 2, seed = 1): ImageDataset {
  const rng = new SeededRandom(seed);
  const images = new Uint8Array(n * size * size * 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % classes;
    labels[i] = label;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const ramp = label % 3 === 0 ? x / (size - 1) : label % 3 === 1 ? y / (size - 1) : (x + y) % 2;
        const rgb = [40, 40, 40];
        rgb[label % 3] = 40 + 200 * ramp;
        for (let c = 0; c < 3; c++) {
          const v = rgb[c] + 10 * rng.normal();
          images[((i * size + y) * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return {
    images,
    labels,
    n,
    size,
    classes: Array.from({ length: classes }, (_, c) => `class${c}`),
    source: 'memory',
    description: `test images (${n} of ${size}×${size})`,
  };
}

/**
 * Every parameter random and non-zero (zero_module layers too, else the output and everything
 * upstream of them has no gradient): weights and biases U(±1/√fan_in), norms 1 + 0.2·N /
 * 0.2·N, every embedding row N(0, 1).
 */
export function randomWeights(arch: UNetArchitecture, seed: number): ParamValues {
  const rng = new SeededRandom(seed);
  const out: ParamValues = new Map();
  for (const p of arch.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    let v: Float32Array;
    if (p.kind === 'norm-weight') v = Float32Array.from(rng.normals(n, 0.2), (x) => 1 + x);
    else if (p.kind === 'norm-bias') v = rng.normals(n, 0.2);
    else if (p.kind === 'embedding') v = rng.normals(n);
    else v = rng.uniforms(n, 1 / Math.sqrt(p.fanIn));
    out.set(p.name, v);
  }
  return out;
}

/** Options for a quiet run writing into `dir` (and its own registry under it). */
export function trainOptions(dir: string, overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    config: microConfig(),
    batchSize: 4,
    accumIter: 1,
    epochs: 2,
    lr: 1e-3,
    betas: [0.9, 0.95],
    decayLr: false,
    classDropProb: 0.2,
    skewedTimesteps: false,
    useEma: false,
    sampling: { odeMethod: 'euler', odeOptions: { nfe: 2 }, cfgScale: 0, edmSchedule: false },
    evalFrequency: 1000,
    seed: 0,
    resume: '',
    startEpoch: 0,
    evalOnly: false,
    testRun: false,
    outputDir: join(dir, 'out'),
    registry: join(dir, 'registry'),
    gridPerClass: 1,
    args: {},
    log: () => {},
    progressStream: null,
    ...overrides,
  };
}
