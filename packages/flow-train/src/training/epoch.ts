/**
 * One epoch of training: from the run's iteration (non-zero when resumed mid-epoch) to the
 * end of the epoch, one optimizer step per `accumIter` micro-batches, at the epoch's
 * learning rate. Every draw is keyed by (seed, epoch, iteration), so where the epoch starts
 * does not change what it draws. A checkpoint is saved mid-epoch every `checkpointMinutes`,
 * and when `maxImages` is reached.
 */
import { appendFile } from 'node:fs/promises';
import { Progress } from '@mmmi/cli-kit';
import { epochOrder, makeBatch, type Batch } from '../data/batches.js';
import { learningRate } from '../optim.js';
import { trainStep } from '../train-step.js';
import type { TrainingRun } from './run.js';
import { saveCheckpoint } from './save.js';

/**
 * Trains epoch `epoch` and appends its line to log.txt. Returns true when the run stopped
 * inside it (`maxImages` reached, checkpoint saved): then the epoch is neither finished nor logged.
 */
export async function runEpoch(run: TrainingRun, epoch: number): Promise<boolean> {
  const { data, options, model, optimizer, ema, losses, stepsPerEpoch } = run;
  const order = epochOrder(data.n, options.seed, epoch);
  const lr = learningRate(options.lr, epoch, options.epochs, options.decayLr);
  const firstStep = Math.floor(run.progress.iteration / options.accumIter);
  const bar = new Progress({
    label: `epoch ${epoch}`,
    total: stepsPerEpoch * options.batchSize * options.accumIter,
    initial: firstStep * options.batchSize * options.accumIter,
    unit: 'images',
    stream: options.progressStream === undefined ? process.stderr : (options.progressStream as never),
    logFile: run.progressLog,
    detail: () => (losses.length ? `loss ${losses[losses.length - 1].toFixed(4)}` : ''),
  });
  let epochLoss = 0;
  let epochSteps = 0;
  for (let s = firstStep; s < stepsPerEpoch; s++) {
    const batches: Batch[] = [];
    for (let j = 0; j < options.accumIter; j++) batches.push(makeBatch(data, order, s * options.accumIter + j, options.batchSize, options.seed, epoch));
    const iteration = epoch * run.perEpoch + s * options.accumIter;
    const { loss } = await trainStep(model, optimizer, ema, batches, iteration, lr, run.settings, run.pool);
    losses.push(loss);
    epochLoss += loss;
    epochSteps++;
    const seen = options.batchSize * options.accumIter;
    run.progress.imagesSeen += seen;
    run.imagesThisRun += seen;
    run.progress.iteration = (s + 1) * options.accumIter;
    run.progress.lastLoss = loss;
    bar.tick(seen);
    options.onStep?.({ epoch, iteration: run.progress.iteration, loss, optimizerSteps: optimizer.step });
    const stop = options.maxImages !== undefined && run.imagesThisRun >= options.maxImages;
    if (options.testRun) break;
    if (stop) {
      bar.finish('stopped (--max_images)');
      run.checkpointPath = await saveCheckpoint(run, 'max_images reached');
      return true;
    }
    if (options.checkpointMinutes && performance.now() - run.lastSave > options.checkpointMinutes * 60_000 && s + 1 < stepsPerEpoch) {
      run.checkpointPath = await saveCheckpoint(run, `every ${options.checkpointMinutes} min`);
    }
  }
  bar.finish();
  run.progress.epoch = epoch + 1;
  run.progress.iteration = 0;
  const line = {
    epoch,
    train_loss: epochSteps ? epochLoss / epochSteps : null,
    lr,
    steps: epochSteps,
    images_seen: run.progress.imagesSeen,
    optimizer_steps: optimizer.step,
    wall_s: Math.round(run.snapshot().wallSeconds),
  };
  await appendFile(run.logFile, `${JSON.stringify(line)}\n`);
  return false;
}
