/**
 * One generation job (one shard): latents (packages/latents) → invertible map → scaling →
 * `<dataset_loc>/<dataset_name>_<job_id>.npz`, written as it goes and resumable, with a
 * manifest, a log, a preview grid and `dataset_gen_args.json` beside it.
 *
 * Everything that can be wrong with the input is checked before the first batch: the
 * arguments, the latent specification (shapes, positive definiteness), the map.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { NpzWriter, sha256File } from '@mmmi/formats';
import {
  buildLatentModel,
  describeStructure,
  miTable,
  sampleBatch,
  batchStream,
  marginalWhitening,
  specFromArgs,
  thetaVariance,
  type LatentModel,
  type MiTable,
  type ModalityWhitening,
} from '@mmmi/latents';
import { imageShape, metadataArrays, structureText, type ArrayInput } from './contents.js';
import { jsonNumber, MANIFEST_FORMAT, RUN_ONLY_ARGUMENTS, TOOLKIT_VERSION, writeJsonAtomic, type Manifest } from './manifest.js';
import { generationOptions, parseGenerationArgs, type GenerationOptions } from './options.js';
import { writePreview } from './preview.js';
import { InputError, onStop, Progress } from '@mmmi/cli-kit';
import { availableMemory, checkMemory, generationMemoryNeed } from './memory-need.js';
import { scaleBatch, SCALINGS } from './scaling.js';
import { resolveModalityMap, type ModalityMap, type ResolvedMap } from './maps/modality-map.js';
import { whitenedMap, WHITENING_FORMULA } from './maps/whitened-map.js';
import { generationInversion } from './inversion.js';
import { unknownLabels } from '@mmmi/flow-train';
import { ShardBusyError, ShardLock } from './shard-lock.js';
import { ensureFolder, storageError } from './storage-errors.js';
import { buildIndex, IndexError, indexPath } from './dataset-index.js';
import { claimWorkspace, ShardWorkspace, type StreamedArray } from './workspace.js';

export interface GenerateResult {
  npzPath: string;
  manifestPath: string;
  previewPath: string | null;
  mi: MiTable | null;
  count: number;
  /** True when a complete shard with the same fingerprint was already there. */
  skipped: boolean;
}

export interface GenerateIo {
  /** Progress and log lines (default: stderr). */
  stream?: NodeJS.WriteStream;
}

interface Job {
  options: GenerationOptions;
  /** The map asked for, resolved (checked, checksummed) before any work. */
  resolvedMap: ResolvedMap;
  /** The map, once opened. */
  map?: ModalityMap;
  /** The exact marginal whitening fed to the map (SPEC §3b), or null with --whiten off. */
  whitening: ModalityWhitening[] | null;
  model: LatentModel;
  mi: MiTable | null;
  miMethod: 'numerical' | 'analytical' | null;
  /** Σ's exact description, stored with the shard (made, and its size checked, before any work). */
  structureText: string;
  arguments: Record<string, unknown>;
  fingerprint: string;
  paths: { npz: string; manifest: string; log: string; preview: string; partial: string; lock: string; args: string };
}

/** Parse, validate and prepare a job; no file is written. */
export async function prepareJob(tokens: readonly string[]): Promise<Job> {
  const parsed = parseGenerationArgs(tokens);
  const spec = specFromArgs(parsed);
  const options = generationOptions(parsed, spec.nMod, spec.labels);
  // a flow checkpoint is resolved and checksummed now: a missing or corrupt one fails before any work
  const resolvedMap = await resolveModalityMap(options, spec);
  const model = await buildLatentModel(spec);
  const structure = structureText(model);
  // a modality that cannot be whitened (singular Σ_ii) is refused here, before any work
  const whitening = options.whiten ? marginalWhitening(model.structure) : null;
  let miMethod = options.calculateMi;
  if (miMethod === 'analytical' && !model.structure.vectors.every((v) => v.kind === 'const')) miMethod = 'numerical';
  const mi = miMethod ? miTable(model.structure, miMethod) : null;
  const args = Object.fromEntries(Object.entries(parsed.values).filter(([k]) => k !== 'help'));
  // thread count, engine and tfjs backend change only the float rounding of the flow map, so a job can resume on another machine
  const dataArgs = Object.fromEntries(Object.entries(args).filter(([k]) => !RUN_ONLY_ARGUMENTS.includes(k)));
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        toolkit: TOOLKIT_VERSION,
        args: sortKeys(dataArgs),
        seed: options.sampleSeed,
        stream: batchStream(0, options.jobStream),
        checkpoint: resolvedMap.identity.checkpoint,
        // what defaults resolved to: they changed between versions, and a registry's recipe can change
        resolved: { scaling: options.scaling, whiten: options.whiten, recipe: resolvedMap.identity.recipe },
      }),
    )
    .digest('hex');
  const base = `${options.datasetName}_${options.jobId}`;
  const dir = options.datasetLoc;
  return {
    options,
    resolvedMap,
    whitening,
    model,
    structureText: structure,
    mi,
    miMethod,
    arguments: args,
    fingerprint,
    paths: {
      npz: join(dir, `${base}.npz`),
      manifest: join(dir, `${base}.manifest.json`),
      log: join(dir, `${base}.log`),
      preview: join(dir, `${base}.preview.png`),
      partial: join(dir, `.${base}.partial`),
      lock: join(dir, `.${base}.lock`),
      args: join(dir, 'dataset_gen_args.json'),
    },
  };
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * What is at the shard's path: nothing; this job's complete shard; or another job's shard
 * (a manifest with another fingerprint, or an .npz that no manifest or workspace of this
 * job accounts for), which only --overwrite replaces.
 */
function existingShard(job: Job): { kind: 'none' | 'complete' | 'ours' } | { kind: 'foreign'; why: string } {
  const { npz, manifest, partial } = job.paths;
  if (!existsSync(npz)) return { kind: 'none' };
  if (existsSync(manifest)) {
    let m: Manifest;
    try {
      m = JSON.parse(readFileSync(manifest, 'utf8')) as Manifest;
    } catch {
      return { kind: 'foreign', why: `its manifest ${manifest} is unreadable` };
    }
    if (m.fingerprint === job.fingerprint) return { kind: 'complete' };
    return {
      kind: 'foreign',
      why: `it was made with other arguments (manifest fingerprint ${String(m.fingerprint).slice(0, 12)}…, this job's ${job.fingerprint.slice(0, 12)}…)`,
    };
  }
  // the finish writes the manifest before it removes the workspace: an .npz beside this job's workspace is this job's
  if (ShardWorkspace.fingerprintAt(partial) === job.fingerprint) return { kind: 'ours' };
  return { kind: 'foreign', why: 'it has no manifest (not a shard this toolkit finished)' };
}

/** Temp files of this shard's outputs that a killed run left (`.<name>_<job>.*.tmp`); only the lock holder may remove them. */
function staleTempFiles(job: Job): string[] {
  const dir = job.options.datasetLoc;
  const prefix = `.${job.options.datasetName}_${job.options.jobId}.`;
  return readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'))
    .map((n) => join(dir, n));
}

export async function generate(tokens: readonly string[], io: GenerateIo = {}): Promise<GenerateResult> {
  const job = await prepareJob(tokens);
  const { options: o, paths } = job;
  let progress: Progress | undefined;
  try {
    await ensureFolder(o.datasetLoc);
    progress = new Progress({
      label: 'generate',
      total: o.datasetSize,
      unit: 'samples',
      logFile: paths.log,
      stream: io.stream,
      intervalMs: io.stream?.isTTY ? 200 : 5000,
      logStart: false,
    });
    const result = await generateJob(job, progress);
    const numJobs = job.arguments.num_jobs as number | undefined;
    if (numJobs !== undefined) await indexWhenComplete(job, numJobs, progress);
    return result;
  } catch (e) {
    // disk full, read-only, no permission: one message with the path and the fix, in the log too
    const storage = storageError(e, { datasetLoc: o.datasetLoc, partial: paths.partial });
    if (!storage) throw e;
    progress?.logOnly(`error: ${storage.message}`);
    throw storage;
  }
}

/** A flow model knows classes 0 … numClasses − 1, and numClasses as "no label" (unconditional); anything else is refused. */
function checkLabels(labels: readonly number[], numClasses: number, model: string): void {
  const bad = unknownLabels(labels, numClasses);
  if (bad.length)
    throw new InputError(
      `--labels ${JSON.stringify(labels)}: the flow model ${model} knows classes 0–${numClasses - 1} (and ${numClasses} = no label); ${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} not among them`,
    );
}

/**
 * The job's disk need, before any work: the workspace's raw float32 arrays still to write
 * and the assembled shard (the same arrays again, plus metadata), against the free space
 * of the dataset folder's file system.
 */
async function checkDiskSpace(job: Job, perDraw: Record<StreamedArray, number>): Promise<void> {
  const { datasetSize: n, datasetLoc } = job.options;
  const perDrawBytes = 4 * (perDraw.X + perDraw.Noise + perDraw.Y);
  const done = ShardWorkspace.fingerprintAt(job.paths.partial) === job.fingerprint ? ShardWorkspace.drawsAt(job.paths.partial) : 0;
  const need = (n - done) * perDrawBytes + n * perDrawBytes;
  const fs = await statfs(datasetLoc).catch(() => undefined);
  if (!fs) return;
  const free = fs.bavail * fs.bsize;
  if (need > free) {
    const gb = (b: number) => `${(b / 1e9).toFixed(b < 1e8 ? 3 : 1)} GB`;
    throw new InputError(
      `the shard needs about ${gb(need)} (workspace ${gb((n - done) * perDrawBytes)} still to write, assembled shard ${gb(n * perDrawBytes)}) and ${datasetLoc} has ${gb(free)} free: free space, split the dataset into more jobs (--dataset_size per --job_id), or choose another --dataset_loc`,
    );
  }
}

/** With --num_jobs: once shards 0 … n − 1 of this dataset all have manifests, write the dataset index. */
async function indexWhenComplete(job: Job, numJobs: number, progress: Progress): Promise<void> {
  const { datasetLoc: folder, datasetName: name } = job.options;
  const have = new Set(
    readdirSync(folder)
      .map((f) => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)\\.manifest\\.json$`).exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1])),
  );
  const missing = Array.from({ length: numJobs }, (_, j) => j).filter((j) => !have.has(j));
  if (missing.length) {
    progress.log(`dataset index: ${numJobs - missing.length} of ${numJobs} shards are complete; the job completing the last writes it`);
    return;
  }
  try {
    const { path, index } = await buildIndex(folder, { dataset: name, expectJobs: numJobs });
    progress.log(`dataset index: ${path} (${index.count} draws in ${index.shards.length} shards)`);
  } catch (e) {
    if (!(e instanceof IndexError || e instanceof InputError)) throw e;
    // --num_jobs asked for the index: a job that cannot write it fails (exit 1), so that neither a user nor a scheduler takes the array for done
    const old = indexPath(folder, name);
    const stale = existsSync(old)
      ? ` The index ${old} from before is left as it was and no longer describes the folder (readers refuse the shards it does not match).`
      : '';
    const failure = new IndexError(
      `${job.paths.npz} is complete, but the dataset index was not written: ${e.message}.${stale} Make the shards one dataset (the same arguments but --job_id), then run \`mmmi-generate index ${folder}\``,
    );
    progress.logOnly(`error: ${failure.message}`);
    throw failure;
  }
}

async function generateJob(job: Job, progress: Progress): Promise<GenerateResult> {
  const { options: o, model, paths } = job;
  const previewPath = o.preview > 0 && model.structure.modDim === 3072 ? paths.preview : null;
  let lock: ShardLock | undefined;
  // on SIGINT or SIGTERM the lock goes (after the workspace's checkpoint, registered later, so run first): a requeued task need not wait for it
  const stopRegistration = onStop(`releasing ${paths.lock}`, () => lock?.release());
  try {
    lock = await ShardLock.acquire(paths.lock, paths.npz, (m) => progress.log(m)).catch((e: Error) => {
      throw e instanceof ShardBusyError ? new InputError(e.message) : e;
    });
    for (const tmp of staleTempFiles(job)) {
      await rm(tmp, { force: true });
      progress.log(`removed ${tmp}, left by a killed run of this shard`);
    }
    const existing = existingShard(job);
    if (existing.kind === 'foreign' && !job.arguments.overwrite) {
      throw new InputError(
        `${paths.npz} exists and ${existing.why}: pass --overwrite to replace it, or choose another --dataset_name, --dataset_loc or --job_id`,
      );
    }
    if (existing.kind === 'complete') {
      const { sha256 } = await sha256File(paths.npz);
      const manifest = JSON.parse(readFileSync(paths.manifest, 'utf8')) as Manifest;
      if (sha256 === manifest.file.sha256) {
        // this job's leftover (killed between its manifest and the workspace's removal) holds nothing the shard lacks; another run's is kept
        if (ShardWorkspace.fingerprintAt(paths.partial) === job.fingerprint) await rm(paths.partial, { recursive: true, force: true });
        progress.log(`${paths.npz} is already complete (same arguments, checksum verified): skipped`);
        return { npzPath: paths.npz, manifestPath: paths.manifest, previewPath, mi: job.mi, count: o.datasetSize, skipped: true };
      }
      progress.log(`${paths.npz} does not match its manifest's checksum: generating it again`);
    }
    if (existing.kind === 'foreign') progress.log(`--overwrite: replacing ${paths.npz} (${existing.why})`);
    // another run's unfinished work is never deleted: refused, or set aside with --overwrite
    await claimWorkspace(paths.partial, job.fingerprint, job.arguments, { overwrite: Boolean(job.arguments.overwrite), log: (m) => progress.log(m) });
    return await generateLocked(job, progress, previewPath);
  } finally {
    stopRegistration();
    await lock?.release();
  }
}

async function generateLocked(job: Job, progress: Progress, previewPath: string | null): Promise<GenerateResult> {
  const { options: o, model, paths } = job;
  const m = model.structure;
  const perDraw: Record<StreamedArray, number> = { X: m.nMod * m.modDim, Noise: m.nMod * m.modDim, Y: 1 };
  await checkDiskSpace(job, perDraw);
  const batch = { drawsPerBatch: Math.min(o.drawsPerBatch, o.datasetSize), nMod: m.nMod, modDim: m.modDim };
  if (!job.resolvedMap.holdsMemory) checkMemory(generationMemoryNeed(batch, {}), availableMemory());
  logStart(job, progress);

  // The map is opened (and a bad checkpoint found) before the workspace exists; each
  // resource is released in a finally, in reverse order, however the job ends.
  const inner = await job.resolvedMap.open({ log: (m) => progress.log(m) });
  const map = job.whitening ? whitenedMap(inner, job.whitening) : inner;
  job.map = map;
  try {
    if (map.numClasses !== undefined) checkLabels(o.labels, map.numClasses, map.description.name);
    if (map.memory) checkMemory(generationMemoryNeed(batch, { flow: map.memory }), availableMemory());
    await writeJsonAtomic(paths.args, job.arguments);
    const ws = await ShardWorkspace.open(paths.partial, job.fingerprint, job.arguments);
    const stopRegistration = onStop(`checkpointing ${paths.partial} (rerun the same command to resume)`, async (signal) => {
      if (await ws.stop())
        progress.logOnly(`stopped by ${signal}: ${ws.drawsDone} of ${o.datasetSize} samples are kept in ${paths.partial}; rerun the same command to resume`);
    });
    try {
      if (ws.drawsDone > 0) progress.log(`resuming after ${ws.drawsDone} samples (${ws.batchesDone} batches) from ${paths.partial}`);
      const buffers = { theta: new Float64Array(batch.drawsPerBatch), x: new Float64Array(batch.drawsPerBatch * perDraw.X) };
      progress.resume(ws.drawsDone);
      // Crash testing: MMMI_KILL_AFTER_BATCHES=n makes the process SIGKILL itself after n batches.
      const killAfter = Number(process.env.MMMI_KILL_AFTER_BATCHES ?? NaN);
      // Scheduler testing: MMMI_BATCH_DELAY_MS=m pauses m ms after each batch, so a test can cancel a task mid-run.
      const batchDelay = Number(process.env.MMMI_BATCH_DELAY_MS ?? 0);
      for (let b = ws.batchesDone; ws.drawsDone < o.datasetSize; b++) {
        const count = Math.min(o.drawsPerBatch, o.datasetSize - ws.drawsDone);
        const lat = sampleBatch(m, o.sampleSeed, b, count, buffers, o.jobStream);
        const mapped = await map.apply(lat.x.subarray(0, count * perDraw.X), count, m.nMod, o.labels);
        await ws.append(
          {
            X: scaleBatch(o.scaling, mapped),
            Noise: Float32Array.from(lat.x.subarray(0, count * perDraw.X)),
            Y: Float32Array.from(lat.theta.subarray(0, count)),
          },
          count,
          perDraw,
        );
        progress.update(ws.drawsDone);
        if (b + 1 === killAfter) process.kill(process.pid, 'SIGKILL');
        if (batchDelay > 0) await new Promise((r) => setTimeout(r, batchDelay));
        if ((b + 1) % o.timestepSize === 0) progress.log(`generated ${ws.drawsDone} / ${o.datasetSize} samples`);
      }

      // every draw on disk and recorded: a failure while assembling (a full disk) loses no work
      await ws.checkpoint();
      const arrays = await assemble(job, ws, perDraw);
      if (previewPath) {
        const k = Math.min(o.preview, o.datasetSize);
        await writePreview(previewPath, await ws.read('X', 0, k * perDraw.X), k, m.nMod, SCALINGS[o.scaling].display);
      }
      // the proof that the map inverts, on the first draws as stored: X mapped back against Noise (the manifest's `inversion`)
      const inversion = await generationInversion(map, o.scaling, (a, start, n) => ws.read(a, start, n), perDraw, o.datasetSize, m.nMod, o.labels, progress);
      // the manifest before the workspace goes: an .npz without a manifest is then never this job's finished one
      const file = await sha256File(paths.npz);
      const manifest = manifestOf(job, arrays, file);
      // images whose map folds on a checked draw do not pin their latents down: the MI holds only approximately
      if (inversion && !inversion.ok && manifest.mi_exact_in_images) {
        manifest.mi_exact_in_images = false;
        progress.log('the inversion check failed: these images carry the MI table only approximately (mi_exact_in_images: false)');
      }
      await writeJsonAtomic(paths.manifest, { ...manifest, ...(inversion && { inversion }) });
      await ws.remove();
      progress.finish('generated');
      logEnd(job, progress, previewPath);
      return { npzPath: paths.npz, manifestPath: paths.manifest, previewPath, mi: job.mi, count: o.datasetSize, skipped: false };
    } finally {
      stopRegistration();
      await ws.close();
    }
  } finally {
    await map.dispose();
  }
}

/** Stream the workspace into the .npz (temporary name, renamed when complete). */
async function assemble(job: Job, ws: ShardWorkspace, perDraw: Record<StreamedArray, number>): Promise<Record<string, { dtype: string; shape: number[] }>> {
  const { options: o, model } = job;
  const m = model.structure;
  const n = o.datasetSize;
  const shapes: Record<string, { dtype: string; shape: number[] }> = {};
  const writer = await NpzWriter.create(job.paths.npz);
  // a stop on a signal removes the unfinished archive (its temporary file) rather than leave it to the next run
  const stopRegistration = onStop(`removing the unfinished ${job.paths.npz}`, () => writer.abort());
  try {
    const images = imageShape(m.nMod, m.modDim);
    for (const [name, shape] of [
      ['X', [n, ...images]],
      ['Noise', [n, ...images]],
      ['Y', [n]],
    ] as const) {
      const stream = await writer.beginArray(name, { dtype: '<f4', shape });
      const chunkDraws = Math.max(1, Math.floor((8 * 2 ** 20) / (4 * perDraw[name])));
      for (let start = 0; start < n; start += chunkDraws) {
        const draws = Math.min(chunkDraws, n - start);
        await stream.write(await ws.read(name, start * perDraw[name], draws * perDraw[name]));
      }
      await stream.end();
      shapes[name] = { dtype: '<f4', shape: [...shape] };
    }
    const labels = new Int32Array(n * m.nMod);
    for (let c = 0; c < n; c++) labels.set(o.labels, c * m.nMod);
    const rest: Record<string, ArrayInput> = {
      labels: { dtype: '<i4', shape: [n, m.nMod], data: labels },
      ...metadataArrays(model, job.mi, o.sigmaMaxBytes, job.structureText),
    };
    for (const [name, array] of Object.entries(rest)) {
      await writer.addArray(name, array);
      shapes[name] = { dtype: array.dtype ?? unicodeDtype(array.data as string[]), shape: [...array.shape] };
    }
    await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    stopRegistration();
  }
  return shapes;
}

function unicodeDtype(strings: string[]): string {
  return `<U${Math.max(1, ...strings.map((s) => [...s].length))}`;
}

function manifestOf(job: Job, arrays: Record<string, { dtype: string; shape: number[] }>, file: { sha256: string; bytes: number }): Manifest {
  const { options: o, model } = job;
  const m = model.structure;
  return {
    format: MANIFEST_FORMAT,
    toolkit: { name: 'mmmi', version: TOOLKIT_VERSION },
    file: { name: job.paths.npz.split(/[\\/]/).pop()!, bytes: file.bytes, sha256: file.sha256 },
    count: o.datasetSize,
    arrays,
    arguments: job.arguments,
    seeds: {
      sample_seed: o.sampleSeed,
      cov_seed: (job.arguments.cov_seed as number | undefined) ?? 0,
      job_id: o.jobId,
      first_stream: batchStream(0, o.jobStream),
      stream_per_job: !job.arguments.shared_sample_stream,
    },
    map: job.map!.description,
    scaling: o.scaling,
    mi_exact_in_images: job.map!.keepsMiExact && SCALINGS[o.scaling].keepsMiExact,
    latent: {
      paradigm: m.paradigm,
      n_mod: m.nMod,
      mod_dim: m.modDim,
      theta_var: thetaVariance(m),
      alignment: model.alignment,
      structure: describeStructure(m),
    },
    mi: job.mi ? { method: job.miMethod!, units: 'nats', labels: job.mi.labels, values: job.mi.values.map(jsonNumber) } : null,
    fingerprint: job.fingerprint,
  };
}

function logStart(job: Job, progress: Progress): void {
  const { options: o, model } = job;
  progress.log(
    `generating ${o.datasetSize} samples × ${model.structure.nMod} modalities (job ${o.jobId}, seed ${o.sampleSeed}, ${job.arguments.shared_sample_stream ? 'the stream every job shares (--shared_sample_stream)' : `job stream ${o.jobStream}`}) → ${job.paths.npz}; ` +
      `map: ${job.whitening ? `whitening (${WHITENING_FORMULA}), then ` : ''}${job.resolvedMap.summary}; scaling: ${o.scaling} (${SCALINGS[o.scaling].formula})` +
      (SCALINGS[o.scaling].keepsMiExact
        ? ' (the images keep the MI exactly)'
        : ' (not invertible: the images keep the MI only approximately; Noise holds the exact latents)'),
  );
  if (job.miMethod !== o.calculateMi) progress.log('analytical MI needs constant templates: computed numerically instead');
}

function logEnd(job: Job, progress: Progress, previewPath: string | null): void {
  if (job.mi) {
    const width = Math.max(...job.mi.labels.map((l) => l.length));
    progress.log(`MI (${job.miMethod}, nats):`);
    job.mi.labels.forEach((l, i) => progress.log(`  ${l.padEnd(width)}  ${job.mi!.values[i]}`));
  }
  progress.log(`wrote ${job.paths.npz}, ${job.paths.manifest}${previewPath ? `, ${previewPath}` : ''}; log ${job.paths.log}`);
}
