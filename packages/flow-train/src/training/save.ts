/**
 * A training checkpoint: live weights, EMA shadow, AdamW moments and the position, written
 * to `<output_dir>/checkpoint.safetensors` and registered in the model registry, so that
 * `--resume` (or `sample --checkpoint <name>`) finds it.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, writeCheckpoint, type CheckpointMeta } from '../checkpoint.js';
import { registerModel, registryEntry, userRegistryDir } from '../registry.js';
import type { TrainingRun } from './run.js';

const CHECKPOINT_NAME = 'checkpoint.safetensors';

/** Saves and registers the run's state (`reason` goes to the registry and the log); returns the checkpoint's path. */
export async function saveCheckpoint(run: TrainingRun, reason: string): Promise<string> {
  const { data, options, model, ema, optimizer } = run;
  const progress = (run.progress = run.snapshot());
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: run.config,
    parameters: model.arch.parameterCount,
    weights: 'live',
    sampling: options.sampling,
    trainArgs: options.args,
    progress,
    provenance: {
      data: data.description,
      dataSource: data.source,
      images: data.n,
      code: 'mmmi flow-train 0.1.0',
      created: new Date().toISOString(),
      backend: tf.getBackend(),
    },
  };
  const path = join(run.outDir, CHECKPOINT_NAME);
  await writeCheckpoint(path, {
    meta,
    weights: await model.values(),
    ema: ema ? await model.values(ema.shadow) : undefined,
    optimizer: { expAvg: await model.values(optimizer.m), expAvgSq: await model.values(optimizer.v) },
  });
  const name = options.name ?? basename(run.outDir);
  await registerModel(userRegistryDir(options.registry), name, registryEntry(path, await readFile(path), meta, `flow-train checkpoint (${reason})`));
  run.lastSave = performance.now();
  run.log(
    `flow-train: checkpoint ${path} (${reason}; epoch ${progress.epoch}, iteration ${progress.iteration}, ${progress.imagesSeen} images seen), registered as '${name}'`,
  );
  return path;
}
