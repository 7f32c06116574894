/**
 * The start of a run: the checks of the data against the model configuration, then the
 * model, AdamW and EMA either fresh (seeded, or warm-started from `initWeights`) or exactly
 * as a training checkpoint left them (weights, moments, EMA shadow, step counters and the
 * position), so that a resumed run draws what the uninterrupted one would have.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '@mmmi/cli-kit';
import { readCheckpointFile, type TrainingProgress } from '../checkpoint.js';
import { batchesPerEpoch } from '../data/batches.js';
import type { ImageDataset } from '../data/dataset.js';
import { Ema } from '../ema.js';
import { FlowModel } from '../flow-model.js';
import { AdamW, PYTORCH_ADAMW_DEFAULTS } from '../optim.js';
import { sameArchitecture } from '../sampling-plan.js';
import type { TrainOptions } from '../train.js';

export interface ResumedState {
  model: FlowModel;
  optimizer: AdamW;
  ema: Ema | undefined;
  progress: TrainingProgress;
  perEpoch: number;
  stepsPerEpoch: number;
}

/** Checks `data` against the options, then builds or restores the model and its optimizer state. */
export async function resumeOrStart(data: ImageDataset, options: TrainOptions, log: (message: string) => void): Promise<ResumedState> {
  const config = options.config;
  if (data.size !== config.imageSize)
    throw new InputError(`the data are ${data.size}×${data.size} images, model configuration '${config.name}' expects ${config.imageSize}×${config.imageSize}`);
  if (data.classes.length > config.numClasses)
    throw new InputError(`the data have ${data.classes.length} classes, model configuration '${config.name}' has ${config.numClasses}`);
  const perEpoch = batchesPerEpoch(data.n, options.batchSize);
  if (perEpoch < options.accumIter)
    throw new InputError(`${data.n} images give ${perEpoch} batches of ${options.batchSize}, fewer than accum_iter ${options.accumIter}`);
  const stepsPerEpoch = Math.floor(perEpoch / options.accumIter);

  let progress: TrainingProgress = { epoch: options.startEpoch, iteration: 0, optimizerSteps: 0, emaUpdates: 0, imagesSeen: 0, wallSeconds: 0 };
  let model: FlowModel;
  const resumeFrom = options.resume ? await readCheckpointFile(options.resume) : undefined;
  if (resumeFrom) {
    if (!sameArchitecture(resumeFrom.meta.config, config)) {
      throw new InputError(`--resume ${options.resume}: its model configuration '${resumeFrom.meta.config.name}' differs from '${config.name}'`);
    }
    if (options.useEma && !resumeFrom.ema) throw noEmaWeights(options.resume);
    if (resumeFrom.kind !== 'mmmi' || resumeFrom.meta.weights !== 'live')
      throw new InputError(`--resume ${options.resume}: not a training checkpoint (no live weights and optimizer state)`);
    model = new FlowModel(config, resumeFrom.weights, options.resume);
    if (resumeFrom.meta.progress) progress = { ...resumeFrom.meta.progress };
  } else {
    model = new FlowModel(config, options.initWeights ?? { seed: options.seed }, options.initWeights ? 'the --init_from weights' : 'initial weights');
  }
  const optimizer = new AdamW(model.params, { ...PYTORCH_ADAMW_DEFAULTS, betas: options.betas });
  const ema = options.useEma ? new Ema(model.params) : undefined;
  if (resumeFrom) {
    optimizer.step = resumeFrom.meta.progress?.optimizerSteps ?? 0;
    if (resumeFrom.optimizer) {
      for (const p of model.arch.params) {
        tf.tidy(() => optimizer.m.get(p.name)!.assign(tf.tensor(resumeFrom.optimizer!.expAvg.get(p.name)!, p.shape)));
        tf.tidy(() => optimizer.v.get(p.name)!.assign(tf.tensor(resumeFrom.optimizer!.expAvgSq.get(p.name)!, p.shape)));
      }
    }
    if (ema) {
      if (!resumeFrom.ema) throw noEmaWeights(options.resume);
      for (const p of model.arch.params) tf.tidy(() => ema.shadow.get(p.name)!.assign(tf.tensor(resumeFrom.ema!.get(p.name)!, p.shape)));
      ema.updates = resumeFrom.meta.progress?.emaUpdates ?? 0;
    }
    log(`flow-train: resumed from ${options.resume} at epoch ${progress.epoch}, iteration ${progress.iteration} (${progress.imagesSeen} images seen)`);
  }
  return { model, optimizer, ema, progress, perEpoch, stepsPerEpoch };
}

const noEmaWeights = (resume: string) => new InputError(`--resume ${resume}: --use_ema is set but the checkpoint has no EMA weights`);
