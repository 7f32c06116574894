/**
 * FID during training (`--compute_fid`): `fidSamples` generated images (classes in turn,
 * the run's sampling settings, EMA weights when kept) against the CIFAR-10 training
 * statistics, with packages/fid's Inception-v3 (the pytorch-fid network, whose weights are
 * downloaded once by `mmmi-fid download-weights`). The weights are checked when training
 * starts, so a missing file stops the run before any long work.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  cifar10ReferenceStats,
  computeSourceStats,
  createInceptionFeatureExtractor,
  DOWNLOAD_COMMAND,
  frechetDistance,
  INCEPTION_SIZE,
  loadWeights,
  locateWeights,
  verifyWeights,
  type FeatureFn,
  type ImageSource,
} from '@mmmi/fid';
import type { SamplingSettings } from './checkpoint.js';
import type { FlowModel } from './flow-model.js';
import type { SamplingThreads } from './parallel/model-threads.js';
import type { VelocityEngine } from './engine/ort-engine.js';
import { modelSampler } from './sampler.js';

export interface FidEvaluatorOptions {
  fidSamples: number;
  /** CIFAR-10 location for the reference statistics (see @mmmi/fid). */
  dataPath?: string;
  sampling: SamplingSettings;
  seed: number;
  batchSize?: number;
  log?: (message: string) => void;
  /** A feature extractor instead of Inception (tests). */
  extract?: FeatureFn;
  env?: Record<string, string | undefined>;
}

/** The FID of `model` with `weights` at `epoch`; `threads` share the sampling. */
export type FidFn = (
  model: FlowModel,
  weights: ReadonlyMap<string, tf.Tensor>,
  epoch: number,
  threads?: SamplingThreads,
  engine?: VelocityEngine,
) => Promise<number>;

/** Generated images as an ImageSource (uint8 exactly as a PNG of them would hold), sampled by flow-train's sampler over `model`. */
export function generatedSource(
  model: FlowModel,
  weights: ReadonlyMap<string, tf.Tensor>,
  count: number,
  sampling: SamplingSettings,
  seed: number,
  threads?: SamplingThreads,
  engine?: VelocityEngine,
): ImageSource {
  const size = model.config.imageSize;
  const classes = model.config.numClasses;
  // the evaluation's sampler: the run's model and threads, and its engine when it opened one
  const sampler = modelSampler({ model, weights, settings: sampling, threads }, engine);
  return {
    description: `${count} generated images`,
    count,
    async *batches(batchSize: number) {
      for (let start = 0; start < count; start += batchSize) {
        const n = Math.min(batchSize, count - start);
        const labels = Int32Array.from({ length: n }, (_, i) => (start + i) % classes);
        const bytes = await sampler.sample(labels, { seed, stream: 1_000 + start / batchSize });
        const data = new Float32Array(bytes.length);
        for (let i = 0; i < bytes.length; i++) data[i] = bytes[i] / 255;
        yield { data, bytes, n, height: size, width: size };
      }
    },
  };
}

/** Checks the Inception weights now; returns the FID function for the training loop. */
export async function makeFidEvaluator(options: FidEvaluatorOptions): Promise<FidFn> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const batchSize = options.batchSize ?? 50;
  let extract = options.extract;
  let weightsSha256 = 'test-extractor';
  if (!extract) {
    const path = locateWeights({ env: options.env });
    const v = await verifyWeights(path);
    if (!v.ok) throw new Error(`--compute_fid: ${path} is not the published FID Inception weights (sha256 ${v.sha256}); delete it and run ${DOWNLOAD_COMMAND}`);
    weightsSha256 = v.sha256;
    const net = createInceptionFeatureExtractor(await loadWeights(path));
    extract = async (images, n) => {
      const t = tf.tensor4d(images, [n, INCEPTION_SIZE, INCEPTION_SIZE, 3], 'float32');
      try {
        return await net.features(t);
      } finally {
        t.dispose();
      }
    };
  }
  const fe = extract;
  return async (model, weights, epoch, threads, engine) => {
    const ref = await cifar10ReferenceStats({
      split: 'train',
      dataPath: options.dataPath,
      env: options.env,
      weightsSha256,
      log,
      compute: (source, label) => computeSourceStats(source, fe, { batchSize, label }),
    });
    const gen = await computeSourceStats(generatedSource(model, weights, options.fidSamples, options.sampling, options.seed, threads, engine), fe, {
      batchSize,
      label: `FID samples, epoch ${epoch}`,
    });
    return frechetDistance(ref.stats, gen);
  };
}
