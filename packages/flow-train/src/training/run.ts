/**
 * What the stages of one training run (resume, epoch, evaluate, save) share: the data and
 * options, the model with its optimizer and EMA, the position, and the clocks.
 */
import { join } from 'node:path';
import type { TrainingProgress } from '../checkpoint.js';
import type { ImageDataset } from '../data/dataset.js';
import type { Ema } from '../ema.js';
import type { FlowModel } from '../flow-model.js';
import type { AdamW } from '../optim.js';
import type { ModelThreads } from '../parallel/model-threads.js';
import type { TrainOptions } from '../train.js';
import type { StepSettings } from '../train-step.js';
import type { ResumedState } from './resume.js';

export class TrainingRun {
  readonly model: FlowModel;
  readonly optimizer: AdamW;
  readonly ema: Ema | undefined;
  /** Batches of `batchSize` per epoch, and optimizer steps (of `accumIter` batches) per epoch. */
  readonly perEpoch: number;
  readonly stepsPerEpoch: number;
  /** Where the run stands; a checkpoint replaces it by a {@link snapshot}. */
  progress: TrainingProgress;
  readonly settings: StepSettings;
  readonly losses: number[] = [];
  /** One JSON line per epoch (and per FID). */
  readonly logFile: string;
  /** The progress bar's lines. */
  readonly progressLog: string;
  imagesThisRun = 0;
  checkpointPath: string | undefined;
  pool: ModelThreads | undefined;
  lastSave = performance.now();
  private readonly runStart = performance.now();
  /** Wall time of the runs this one continues. */
  private readonly wallAtStart: number;

  constructor(
    readonly data: ImageDataset,
    readonly options: TrainOptions,
    readonly outDir: string,
    readonly log: (message: string) => void,
    state: ResumedState,
  ) {
    this.model = state.model;
    this.optimizer = state.optimizer;
    this.ema = state.ema;
    this.progress = state.progress;
    this.perEpoch = state.perEpoch;
    this.stepsPerEpoch = state.stepsPerEpoch;
    this.logFile = join(outDir, 'log.txt');
    this.progressLog = join(outDir, 'progress.log');
    this.settings = { seed: options.seed, classDropProb: options.classDropProb, skewedTimesteps: options.skewedTimesteps };
    this.wallAtStart = this.progress.wallSeconds;
  }

  get config() {
    return this.options.config;
  }

  /** The position with the optimizer's and EMA's counters and the wall time up to now. */
  snapshot(): TrainingProgress {
    return {
      ...this.progress,
      optimizerSteps: this.optimizer.step,
      emaUpdates: this.ema?.updates ?? 0,
      wallSeconds: this.wallAtStart + (performance.now() - this.runStart) / 1000,
    };
  }
}
