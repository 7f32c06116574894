/**
 * `mmmi-fid` — Fréchet Inception Distance from the command line.
 *
 *   mmmi-fid <a> <b>                 FID between two sides; each is a statistics .npz
 *                                    (mu, sigma: pytorch-fid's format) or images (a folder
 *                                    of PNG/JPEG, or an .npz image array)
 *   mmmi-fid stats <source> -o out.npz   statistics of an image source, pytorch-fid format
 *   mmmi-fid download-weights        fetch the Inception weights into the cache (SHA-256 checked)
 *   mmmi-fid realism --data <path>   the offline realism score (./realism/cli.ts)
 *
 * Everything that can fail fast (arguments, missing files, missing weights) is checked
 * before any image is read or the network is built.
 */
import { stat } from 'node:fs/promises';
import { FormatError } from '@mmmi/formats';
import { extname } from 'node:path';
import {
  claimOutputFile,
  formatOptionHelp,
  InputError,
  parseOptions,
  Progress,
  runCli,
  unreachableReason,
  UsageError,
  type OptionTable,
  type ProgressStream,
} from '@mmmi/cli-kit';
import { stderrDownloadProgress } from './download.js';
import { frechetDistance } from './frechet.js';
import { cifar10ReferenceStats, CIFAR10_BINARY_URL, JPEG_NOT_COMPARABLE, namedSourceSplit } from './cifar10.js';
import { INCEPTION_SIZE, preprocessForInception, preprocessUint8ForInception } from './preprocess.js';
import { isStatsFile, openImageSource, type ImageSource } from './sources.js';
import { readStats, StatsAccumulator, writeStats, type GaussianStats } from './stats.js';
import { DOWNLOAD_COMMAND, ensureWeights, FID_WEIGHTS_SHA256, locateWeights, loadWeights, verifyWeights, WeightsNotFoundError } from './weights.js';

const FID_FLAGS = {
  'batch-size': { kind: 'int', min: 1, default: 50, help: 'images per network batch' },
  backend: { kind: 'string', help: 'auto | tensorflow-gpu | webgpu | tensorflow | wasm | cpu (default auto)' },
  weights: { kind: 'string', valueName: '<path>', help: 'Inception weight file (default: the cache, $MMMI_CACHE or ~/.cache/mmmi/fid)' },
  key: { kind: 'string', valueName: '<name>', help: 'array holding the images inside an image .npz' },
  log: { kind: 'string', valueName: '<file>', help: 'also append progress lines to this file' },
  json: { kind: 'boolean', help: 'print JSON instead of the bare number' },
  output: { kind: 'string', short: 'o', valueName: '<out.npz>', help: '(stats) output .npz' },
  overwrite: { kind: 'boolean', help: '(stats) replace an existing -o file (never an input)' },
  'data-path': { kind: 'string', valueName: '<p>', help: '(cifar10-*) CIFAR-10 data: a folder or a .tar.gz' },
  force: { kind: 'boolean', help: '(download-weights) download even if present; (cifar10-*) recompute the statistics' },
  url: { kind: 'string', valueName: '<url>', help: '(download-weights, cifar10-*) download from this URL (a mirror) instead' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

type FidOptions = ReturnType<typeof parseOptions<typeof FID_FLAGS>>['values'];

const USAGE = `usage:
  mmmi-fid <a> <b> [options]              print the FID between a and b
  mmmi-fid stats <source> -o <out.npz> [options]
                                          write the Inception statistics (mu, sigma) of images
  mmmi-fid stats cifar10-train|cifar10-test [--data-path <p>] -o <out.npz>
                                          the CIFAR-10 reference statistics (cached)
  mmmi-fid download-weights [--force] [--url <url>]
                                          download the Inception weights into the cache
  mmmi-fid realism --data <path> [--modality i] [--json]
                                          offline realism score of labelled 32×32 images
                                          (shipped CIFAR-10 classifier; mmmi-fid realism --help)

Each side <a>, <b> is a statistics .npz (arrays mu and sigma, as pytorch-fid writes them)
or images: a folder of PNG/JPEG files (recursive) or an .npz image array (dataset shards:
X (n, N_mod, 3, H, W) in [0, 1]; or (n, H, W, 3) uint8, (n, 3, H, W) float), or a named
source: cifar10-train (the 50 000 training images, as the paper's trainer computes its
reference) or cifar10-test. Named sources read --data-path (default $MMMI_CACHE/cifar10,
else ~/.cache/mmmi/cifar10): cifar-10-binary.tar.gz or cifar-10-batches-bin/ there, else the
official binary release is downloaded (${CIFAR10_BINARY_URL}, MD5 checked).
--data-path may also be a JPEG copy (train/<class>/*.jpg, .tar.gz or folder): not comparable
with the official data. Their statistics are cached beside the weights and reused; use
./cifar10-train for a folder of that name.

The features are torchmetrics' FrechetInceptionDistance(normalize=True) with torch-fidelity's
Inception-v3: images in [0, 1] → uint8 → TF1 bilinear resize to 299×299 → pool3 (2048).

Exit codes: 0 done, 1 the run failed (network, a checksum, a bug), 2 the command or an input is wrong.

options:
${formatOptionHelp(FID_FLAGS)}`;

export interface CliIo {
  out?: (s: string) => void;
  err?: (s: string) => void;
  env?: Record<string, string | undefined>;
  /** Progress output (default process.stderr; null for none). */
  progressStream?: ProgressStream | null;
  /** Use this feature extractor instead of building the Inception network (tests). */
  extract?: FeatureFn;
}

/** Extracts n × d features from n preprocessed images (n × 299 × 299 × 3, in [-1, 1]). */
export type FeatureFn = (images: Float32Array, n: number) => Promise<Float32Array>;

export interface StatsRunOptions {
  batchSize: number;
  label: string;
  logFile?: string;
  progressStream?: ProgressStream | null;
}

/** Batches → preprocess → features → running statistics, with a progress bar. */
export async function computeSourceStats(source: ImageSource, extract: FeatureFn, options: StatsRunOptions): Promise<GaussianStats> {
  const progress = new Progress({ label: options.label, total: source.count, logFile: options.logFile, stream: options.progressStream });
  let acc: StatsAccumulator | undefined;
  for await (const batch of source.batches(options.batchSize)) {
    const x = batch.bytes ? preprocessUint8ForInception(batch.bytes, batch) : preprocessForInception(batch.data, batch);
    const features = await extract(x, batch.n);
    if (features.length % batch.n !== 0 || features.length === 0) {
      throw new Error(`the feature extractor returned ${features.length} values for ${batch.n} images`);
    }
    acc ??= new StatsAccumulator(features.length / batch.n);
    acc.add(features, batch.n);
    progress.tick(batch.n);
  }
  progress.finish();
  if (!acc) throw new Error(`${source.description}: no images`);
  return acc.result();
}

type Side = { arg: string; kind: 'stats' | 'images' | 'named' };

async function classify(arg: string): Promise<Side> {
  if (namedSourceSplit(arg) !== undefined) return { arg, kind: 'named' };
  let s;
  try {
    s = await stat(arg);
  } catch {
    throw new UsageError(unreachableReason(arg) ?? `${arg}: no such file or folder`);
  }
  if (s.isDirectory()) return { arg, kind: 'images' };
  if (extname(arg).toLowerCase() === '.npz') return { arg, kind: (await isStatsFile(arg)) ? 'stats' : 'images' };
  throw new UsageError(`${arg}: expected a statistics .npz, an image .npz or a folder of images`);
}

interface Network {
  extract: FeatureFn;
  dispose(): void;
  backend: string;
}

/** Locate (fast) and check the weights; throws naming the download command when missing. */
async function requireWeights(weightsOpt: string | undefined, env: CliIo['env'], err: (s: string) => void): Promise<{ path: string; sha256: string }> {
  const path = locateWeights({ weightsPath: weightsOpt, env });
  const v = await verifyWeights(path);
  if (!v.ok) {
    const msg = `${path}: SHA-256 ${v.sha256}, the published FID weights have ${FID_WEIGHTS_SHA256}`;
    if (weightsOpt === undefined) throw new Error(`${msg}. Delete it and run ${DOWNLOAD_COMMAND}.`);
    err(`mmmi-fid: warning: ${msg}; using it anyway`);
  }
  return { path, sha256: v.sha256 };
}

async function buildNetwork(weightsPath: string, backend: string | undefined): Promise<Network> {
  // Loaded only here: statistics-only runs never load TensorFlow.js.
  const tf = await import('@tensorflow/tfjs-core');
  const { selectBackend } = await import('@mmmi/tfjs-runtime');
  const { createInceptionFeatureExtractor } = await import('./inception/index.js');
  const chosen = await selectBackend(backend, { label: 'fid' });
  const net = createInceptionFeatureExtractor(await loadWeights(weightsPath));
  return {
    backend: chosen,
    dispose: () => net.dispose(),
    extract: async (images, n) => {
      const t = tf.tensor4d(images, [n, INCEPTION_SIZE, INCEPTION_SIZE, 3], 'float32');
      try {
        return await net.features(t);
      } finally {
        t.dispose();
      }
    },
  };
}

/** What every fid command needs: the options, the streams, and the network built once, on first use. */
interface FidRun {
  o: FidOptions;
  io: CliIo;
  env: Record<string, string | undefined>;
  out: (s: string) => void;
  err: (s: string) => void;
  stats: Omit<StatsRunOptions, 'label'>;
  network(weightsPath: string): Promise<Network>;
}

/** Statistics of a named source (cache, else data → network); the weights were checked before. */
function namedStats(run: FidRun, name: string, weights: { path: string; sha256: string }) {
  const { o, io, env, err } = run;
  return cifar10ReferenceStats({
    split: namedSourceSplit(name)!,
    dataPath: o['data-path'],
    env,
    url: o.url,
    refresh: o.force,
    weightsSha256: weights.sha256,
    onProgress: io.progressStream === null ? () => {} : stderrDownloadProgress('download CIFAR-10', io.progressStream ?? process.stderr),
    log: (m) => err(m.replace(/^fid: /, 'mmmi-fid: ')),
    compute: async (source, label) => computeSourceStats(source, (await run.network(weights.path)).extract, { ...run.stats, label }),
  });
}

async function runDownloadWeights(run: FidRun, args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`download-weights takes no arguments, got '${args[0]}'`);
  const r = await ensureWeights({
    env: run.env,
    force: run.o.force,
    urls: run.o.url !== undefined ? [run.o.url] : undefined,
    onProgress: run.io.progressStream === null ? () => {} : stderrDownloadProgress('download', run.io.progressStream ?? process.stderr),
    log: run.err,
  });
  if (!r.downloaded) run.err(`mmmi-fid: the weights are already in place (use --force to download again)`);
  run.out(r.path);
  return 0;
}

async function runStats(run: FidRun, args: string[]): Promise<number> {
  const { o, out, err } = run;
  if (args.length !== 1) throw new UsageError(`stats takes one image source, got ${args.length}`);
  if (o.output === undefined) throw new UsageError('stats needs -o <out.npz>');
  const [name] = args;
  const side = await classify(name);
  if (side.kind === 'stats') throw new UsageError(`${name} already holds statistics (mu, sigma)`);
  const inputs = { '<source>': side.kind === 'named' ? undefined : name, '--data-path': o['data-path'], '--weights': o.weights };
  claimOutputFile(o.output, { flag: '-o', overwrite: o.overwrite, inputs });
  const weights = await requireWeights(o.weights, run.env, err);
  if (side.kind === 'named') {
    const r = await namedStats(run, name, weights);
    await writeStats(o.output, r.stats);
    const count = r.stats.count;
    err(
      `mmmi-fid: wrote ${o.output} (${name}${count !== undefined ? `, ${count} images` : ''}, d = ${r.stats.mu.length}${r.cached ? ', from the cache' : ''})`,
    );
    if (o.json) {
      out(
        JSON.stringify({
          output: o.output,
          source: name,
          count: count ?? null,
          dim: r.stats.mu.length,
          cached: r.cached,
          cache: r.cachePath ?? null,
          layout: r.layout,
          data: r.data?.path ?? null,
        }),
      );
    }
    return 0;
  }
  const source = await openImageSource(name, { key: o.key });
  const net = await run.network(weights.path);
  const stats = await computeSourceStats(source, net.extract, { ...run.stats, label: `features ${name}` });
  await writeStats(o.output, stats);
  err(`mmmi-fid: wrote ${o.output} (${stats.count} images, d = ${stats.mu.length})`);
  if (o.json) out(JSON.stringify({ output: o.output, count: stats.count, dim: stats.mu.length }));
  return 0;
}

async function runDistance(run: FidRun, args: string[]): Promise<number> {
  const { o, out, err } = run;
  if (args.length !== 2) throw new UsageError(`expected two sides <a> <b>, got ${args.length}: ${args.join(' ')}`);
  const sides = await Promise.all(args.map(classify));
  // Before any long work: the weights, when a side needs the network.
  const weights = sides.some((s) => s.kind !== 'stats') ? await requireWeights(o.weights, run.env, err) : undefined;
  const stats: GaussianStats[] = [];
  let jpeg = false;
  for (const side of sides) {
    if (side.kind === 'stats') {
      stats.push(await readStats(side.arg));
    } else if (side.kind === 'named') {
      const r = await namedStats(run, side.arg, weights!);
      jpeg ||= r.layout === 'jpeg';
      stats.push(r.stats);
    } else {
      const source = await openImageSource(side.arg, { key: o.key });
      const net = await run.network(weights!.path);
      stats.push(await computeSourceStats(source, net.extract, { ...run.stats, label: `features ${side.arg}` }));
    }
  }
  if (stats[0].mu.length !== stats[1].mu.length) {
    throw new InputError(`the two sides have different feature dimensions: ${stats[0].mu.length} and ${stats[1].mu.length}`);
  }
  const fid = frechetDistance(stats[0], stats[1]);
  if (jpeg) err(`mmmi-fid: ${JPEG_NOT_COMPARABLE}`);
  if (o.json) {
    out(JSON.stringify({ fid, a: args[0], b: args[1], count_a: stats[0].count ?? null, count_b: stats[1].count ?? null, dim: stats[0].mu.length }));
  } else {
    out(String(fid));
  }
  return 0;
}

export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const out = io.out ?? ((s: string) => console.log(s));
  const err = io.err ?? ((s: string) => console.error(s));
  const env = io.env ?? process.env;
  return runCli(
    argv,
    {
      name: 'mmmi-fid',
      usage: USAGE,
      commands: {
        // its own option table and error prefix; loaded only here (it brings TensorFlow.js)
        realism: async (rest) => (await import('./realism/cli.js')).realismMain(rest, { out, err, env }),
      },
      // `stats` and `download-weights` share the distance's option table, whose flags may come before them
      default: (all) => runFid(all, io, { out, err, env }),
      env,
      kinds: { input: [WeightsNotFoundError, FormatError] },
    },
    { out, err },
  );
}

/** The distance, `stats` and `download-weights`: one option table, the mode named by the first positional. */
async function runFid(argv: string[], io: CliIo, { out, err, env }: Required<Pick<CliIo, 'out' | 'err' | 'env'>>): Promise<number> {
  let network: Network | undefined;
  try {
    const { values: o, positionals: pos } = parseOptions(argv, FID_FLAGS, { positionals: true, argumentFiles: false });
    if (o.help || pos[0] === 'help') {
      out(USAGE);
      return 0;
    }
    if (pos.length === 0) {
      err(USAGE);
      return 2;
    }
    if (o['data-path'] !== undefined && !pos.slice(pos[0] === 'stats' ? 1 : 0).some((p) => namedSourceSplit(p) !== undefined)) {
      throw new UsageError('--data-path applies to the named sources cifar10-train / cifar10-test only');
    }
    const run: FidRun = {
      o,
      io,
      env,
      out,
      err,
      stats: { batchSize: o['batch-size'], logFile: o.log, progressStream: io.progressStream },
      network: async (weightsPath) => {
        network ??= io.extract ? { extract: io.extract, dispose: () => {}, backend: 'injected' } : await buildNetwork(weightsPath, o.backend);
        return network;
      },
    };
    if (pos[0] === 'download-weights') return await runDownloadWeights(run, pos.slice(1));
    if (pos[0] === 'stats') return await runStats(run, pos.slice(1));
    return await runDistance(run, pos);
  } finally {
    network?.dispose();
  }
}
