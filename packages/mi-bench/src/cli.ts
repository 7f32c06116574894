/**
 * `mmmi-bench` — estimators, regressors and contrastive critics measured on mmmi datasets
 * against the exact mutual information their latent structure gives.
 *
 *   mmmi-bench estimate --data <folder> --pair "X1;θ" --estimators gaussian,ksg1 --n 500,2000 --seeds 3
 *   mmmi-bench regress  --data <folder> --subsets X1 X1,X2 --models ridge,cnn
 *   mmmi-bench pmi      --data <folder> --pair "X1;θ"
 *   mmmi-bench study    [--out <folder>]
 *
 * Each writes a report folder (CSV, JSON, markdown, figures, README.md naming the command).
 * Everything that can be checked (flags, the dataset, every pair × estimator × features × n)
 * is checked before any draw is read.
 */
import { formatOptionHelp, parseOptions, runCli, UsageError, type OptionTable, type ProgressStream } from '@mmmi/cli-kit';
import { estimateCommand } from './estimate/command.js';
import { pmiCommand } from './pmi/command.js';
import { regressCommand } from './regress/command.js';
import { studyCommand } from './study/command.js';
import type { StudyMap } from './study/plan.js';
import { ESTIMATOR_NAMES, VARIATIONAL } from './estimator-registry.js';
import { commandLine } from './output.js';

const DATA_FLAGS = {
  data: {
    kind: 'string',
    valueName: '<path>',
    help: 'the dataset: a folder of shards (one shard, or an index made by `mmmi-generate index`), an index or a shard',
  },
  out: { kind: 'string', valueName: '<folder>', help: 'report folder (default ./output_dir/bench/<dataset>/<command>)' },
  overwrite: { kind: 'boolean', help: 'replace a finished report in --out' },
  seeds: { kind: 'int', min: 1, default: 3, help: 'repetitions on independent subsamples (seeds 0 … k − 1)' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

const ESTIMATE_FLAGS = {
  ...DATA_FLAGS,
  pair: { kind: 'string', repeatable: true, valueName: '"A;B[|C]"', help: 'a pair in the MI table notation, e.g. "X1;θ", "X1,X2;θ", "X1;X2|θ" (repeatable)' },
  estimators: {
    kind: 'string',
    default: 'gaussian,ksg1,ksg2',
    valueName: '<a,b,…>',
    help: `estimators, comma-separated: ${[...ESTIMATOR_NAMES, 'external'].join(', ')}`,
  },
  features: { kind: 'string', default: 'pca8', valueName: '<a,b,…>', help: 'what the estimators see: pixels, latents, pca<k> (of the pixels), latents:pca<k>' },
  n: { kind: 'ints', min: 2, default: [500, 2000], valueName: '<n,…>', help: 'sample sizes' },
  fit_draws: { kind: 'int', min: 0, default: 2000, help: 'draws set aside (disjoint from the estimate) to fit PCA features on' },
  external_command: {
    kind: 'string',
    valueName: '"<program> <args…>"',
    help: 'the external estimator: run as <program> <args…> <x.npy> <y.npy>, prints the MI in nats',
  },
  external_timeout: {
    kind: 'float',
    min: 0,
    minExclusive: true,
    max: 2147483,
    default: 600,
    valueName: '<seconds>',
    help: 'the external estimator is stopped, with what it started, after this many seconds of one estimate',
  },
  steps: { kind: 'int', min: 1, default: 1000, help: '(variational) Adam steps of each critic, early stopping on held-out batches' },
  backend: { kind: 'string', help: '(variational) tfjs backend: auto, wasm, cpu, webgpu, tensorflow, … (default: wasm)' },
} as const satisfies OptionTable;

const REGRESS_FLAGS = {
  ...DATA_FLAGS,
  subsets: {
    kind: 'string',
    repeatable: true,
    valueName: '<S> …',
    help: 'subsets of modalities to regress θ on: X1, X1,X2, X1..X10 (repeatable; several may follow one flag)',
  },
  models: { kind: 'string', default: 'ridge', valueName: '<a,b>', help: 'ridge (on every --features), cnn (a small CNN on the raw images among them)' },
  features: {
    kind: 'string',
    default: 'pca32,pixels',
    valueName: '<a,b,…>',
    help: 'what the regressors see: pixels, latents, pca<k>, latents:pca<k> (PCA fitted on the training draws)',
  },
  n: { kind: 'ints', min: 10, default: [500, 2000], valueName: '<n,…>', help: 'training sizes' },
  test_draws: { kind: 'int', min: 10, default: 1000, help: 'test draws (the same for every size of a seed)' },
  epochs: { kind: 'int', min: 1, default: 30, help: '(cnn) most epochs; early stopping on a validation split' },
  backend: { kind: 'string', help: '(cnn) tfjs backend: auto, wasm, cpu, webgpu, tensorflow, … (default: wasm)' },
} as const satisfies OptionTable;

const PMI_FLAGS = {
  ...DATA_FLAGS,
  pair: { kind: 'string', repeatable: true, valueName: '"X_S;θ"', help: 'θ and a group of modalities, e.g. "X1;θ", "X1,X2;θ" (repeatable)' },
  features: { kind: 'string', default: 'pca8', valueName: '<a,b,…>', help: 'what the critic sees of the images: pixels, latents, pca<k>, latents:pca<k>' },
  n: { kind: 'int', min: 20, default: 2000, help: "the critic's training draws (half of them its held-out estimate)" },
  scored: { kind: 'int', min: 10, default: 1000, help: 'draws scored against the exact PMI (disjoint from the training draws)' },
  steps: { kind: 'int', min: 1, default: 1000, help: 'Adam steps of the critic (early stopping on held-out batches)' },
  backend: { kind: 'string', help: 'tfjs backend: auto, wasm, cpu, webgpu, tensorflow, … (default: wasm)' },
} as const satisfies OptionTable;

const STUDY_FLAGS = {
  out: {
    kind: 'string',
    default: './output_dir/bench/study',
    valueName: '<folder>',
    help: 'the study folder (datasets, one report folder per map and step, README.md)',
  },
  overwrite: { kind: 'boolean', help: 'rewrite a finished study’s README (finished steps are still reused)' },
  maps: { kind: 'string', default: 'identity,tanh,flow', valueName: '<a,b,…>', help: 'modality maps: identity, tanh, flow (the built-in flow model)' },
  alpha: { kind: 'float', min: 0, minExclusive: true, default: 1.2, help: 'Fig. 6’s α (local proto-latent sharing)' },
  beta: { kind: 'float', min: 0, minExclusive: true, default: 1.2, help: 'Fig. 6’s β (θ’s decay over the modalities)' },
  draws: { kind: 'int', min: 20, default: 3000, help: 'draws generated for the identity and tanh maps' },
  flow_draws: { kind: 'int', min: 20, default: 500, help: 'draws generated for the flow map (each costs 10 flow solves)' },
  n: { kind: 'ints', min: 10, default: [250, 2000], valueName: '<n,…>', help: 'sample sizes (a map uses those its draws allow after the fit/test split)' },
  seeds: { kind: 'int', min: 1, default: 2, help: 'seeds of the classical estimates and the regressions' },
  features: {
    kind: 'string',
    default: 'pca1,pca8',
    valueName: '<a,b,…>',
    help: 'features of the estimators and regressions (the first one for the variational estimators and the PMI critic)',
  },
  estimators: { kind: 'string', default: 'gaussian,ksg1,ksg2', valueName: '<a,b,…>', help: 'classical estimators (every size and seed)' },
  variational: { kind: 'string', default: 'infonce,nwj,mine,smile', valueName: '<a,b,…>', help: "variational estimators (largest size, seed 0; '' for none)" },
  steps: { kind: 'int', min: 1, default: 500, help: 'Adam steps of each variational critic' },
  models: { kind: 'string', default: 'ridge', valueName: '<a,b>', help: 'regression models: ridge, cnn (cnn needs pixels among --features)' },
  threads: { kind: 'int', min: 0, default: 0, help: 'flow map threads (0: one per core)' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

const USAGE = `usage:
  mmmi-bench estimate --data <path> --pair "X1;θ" [--pair …] [options]
        MI estimates beside the exact MI of each pair: estimates.csv/json/md, estimate-vs-truth and error-vs-n figures

  mmmi-bench regress --data <path> --subsets X1 X1,X2 X1..X10 [options]
        θ regressed from each subset: test MSE and R² beside the Bayes optimum Var(θ)·exp(−2 I(X_S; θ)), R² vs MI figure

  mmmi-bench pmi --data <path> --pair "X1;θ" [options]
        an InfoNCE critic's per-sample scores against the exact pointwise MI: Pearson, Spearman, scatter

  mmmi-bench study [options]
        the Fig. 6 study: generates what it needs, runs estimate, regress and pmi per map, writes README.md

options (estimate):
${formatOptionHelp(ESTIMATE_FLAGS)}

options (regress):
${formatOptionHelp(REGRESS_FLAGS)}

options (pmi):
${formatOptionHelp(PMI_FLAGS)}

options (study):
${formatOptionHelp(STUDY_FLAGS)}

Exit codes: 0 done, 1 the run failed, 2 the command or an input is wrong.`;

export interface CliIo {
  out?: (s: string) => void;
  err?: (s: string) => void;
  /** Progress output (default process.stderr; null for none). */
  progressStream?: ProgressStream | null;
}

const splitList = (s: string) =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

/** Splits a command string on whitespace, keeping quoted parts together. */
export function splitCommand(s: string): string[] {
  return [...s.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function requireData(data: string | undefined): string {
  if (!data) throw new UsageError('--data <path> is required: a dataset folder, index or shard');
  return data;
}

const defaultOut = (data: string, command: string) => `./output_dir/bench/${data.replace(/\/+$/, '').split('/').pop()}/${command}`;

/** What every sub-command writes to, and the whole command line (for its report's README). */
interface BenchRun {
  argv: readonly string[];
  progressStream: ProgressStream | null | undefined;
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const out = io.out ?? ((s: string) => console.log(s));
  const err = io.err ?? ((s: string) => console.error(s));
  const run: BenchRun = { argv, progressStream: io.progressStream, out, err };
  return runCli(
    argv,
    {
      name: 'mmmi-bench',
      usage: USAGE,
      commands: {
        estimate: (rest) => runEstimate(rest, run),
        regress: (rest) => runRegress(rest, run),
        pmi: (rest) => runPmi(rest, run),
        study: (rest) => runStudy(rest, run),
      },
    },
    { out, err },
  );
}

/** `estimate`: MI estimates beside the exact MI of each pair. */
async function runEstimate(rest: string[], { argv, progressStream, out, err }: BenchRun): Promise<number> {
  const { values: o } = parseOptions(rest, ESTIMATE_FLAGS);
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const data = requireData(o.data);
  const { rows, report } = await estimateCommand({
    data,
    out: o.out ?? defaultOut(data, 'estimate'),
    overwrite: o.overwrite === true,
    pairs: o.pair,
    estimators: splitList(o.estimators),
    features: splitList(o.features),
    sizes: o.n,
    seeds: o.seeds,
    fitDraws: o.fit_draws,
    externalCommand: o.external_command === undefined ? undefined : splitCommand(o.external_command),
    externalTimeoutSeconds: o.external_timeout,
    estimatorOptions: Object.fromEntries(Object.keys(VARIATIONAL).map((name) => [name, { steps: o.steps, backend: o.backend }])),
    command: commandLine('mmmi-bench', argv),
    stream: progressStream,
    say: err,
  });
  out(`${rows.length} estimates; report: ${report.folder} (${report.markdown})`);
  return 0;
}

/** `regress`: θ regressed from each subset of modalities, beside the Bayes optimum. */
async function runRegress(rest: string[], { argv, progressStream, out, err }: BenchRun): Promise<number> {
  // several subsets may follow one --subsets: the positionals after it are subsets too
  const { values: o, positionals } = parseOptions(rest, REGRESS_FLAGS, { positionals: true });
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const data = requireData(o.data);
  const { rows, report } = await regressCommand({
    data,
    out: o.out ?? defaultOut(data, 'regress'),
    overwrite: o.overwrite === true,
    subsets: [...o.subsets, ...positionals],
    models: splitList(o.models),
    features: splitList(o.features),
    sizes: o.n,
    seeds: o.seeds,
    testDraws: o.test_draws,
    cnn: { epochs: o.epochs, backend: o.backend },
    command: commandLine('mmmi-bench', argv),
    stream: progressStream,
    say: err,
  });
  out(`${rows.length} regressions; report: ${report.folder} (${report.markdown})`);
  return 0;
}

/** `pmi`: An InfoNCE critic's per-sample scores against the exact pointwise MI. */
async function runPmi(rest: string[], { argv, progressStream, out }: BenchRun): Promise<number> {
  const { values: o } = parseOptions(rest, PMI_FLAGS);
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const data = requireData(o.data);
  const { rows, report } = await pmiCommand({
    data,
    out: o.out ?? defaultOut(data, 'pmi'),
    overwrite: o.overwrite === true,
    pairs: o.pair,
    features: splitList(o.features),
    n: o.n,
    scored: o.scored,
    seeds: o.seeds,
    critic: { steps: o.steps, backend: o.backend },
    command: commandLine('mmmi-bench', argv),
    stream: progressStream,
  });
  for (const r of rows) out(`${r.pair} ${r.features} seed ${r.seed}: Pearson ${r.pearson.toFixed(3)}, Spearman ${r.spearman.toFixed(3)}`);
  out(`report: ${report.folder}`);
  return 0;
}

/** `study`: The Fig. 6 study: every step of estimate, regress and pmi per map. */
async function runStudy(rest: string[], { argv, progressStream, out, err }: BenchRun): Promise<number> {
  const { values: o } = parseOptions(rest, STUDY_FLAGS);
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const features = splitList(o.features);
  const { readme, steps } = await studyCommand({
    out: o.out,
    overwrite: o.overwrite === true,
    maps: splitList(o.maps) as StudyMap[],
    alpha: o.alpha,
    beta: o.beta,
    draws: o.draws,
    flowDraws: o.flow_draws,
    sizes: o.n,
    seeds: o.seeds,
    features,
    estimators: splitList(o.estimators),
    variational: splitList(o.variational),
    steps: o.steps,
    models: splitList(o.models),
    threads: o.threads,
    command: commandLine('mmmi-bench', argv),
    stream: progressStream,
    say: err,
  });
  out(`study: ${steps.length} steps in ${(steps.reduce((a, s) => a + s.seconds, 0) / 60).toFixed(1)} min; ${readme}`);
  return 0;
}
