/**
 * `mmmi-bench` — estimators, regressors and contrastive critics measured on mmmi datasets
 * against the exact mutual information their latent structure gives.
 *
 *   mmmi-bench estimate --data <folder> --pair "X1;θ" --estimators gaussian,ksg1 --n 500,2000 --seeds 3
 *   mmmi-bench regress  --data <folder> --subsets X1 X1,X2 --models ridge,cnn
 *   mmmi-bench pmi      --data <folder> --pair "X1;θ"
 *   mmmi-bench study    [--out <folder>]
 *   mmmi-bench contrastive --targets "I(X1;X2)=0.5,1,2,4" | --data <folder> …
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
import { contrastiveCommand } from './contrastive/command.js';
import { CONTRASTIVE_MAPS } from './contrastive/grid.js';
import { V2_DEFAULTS, V2_STAGES, v2StudyCommand, v2UnitCounts } from './study/v2/command.js';
import { V2_MAPS } from './study/v2/datasets.js';
import type { V2Protocol } from './study/v2/preset.js';
import type { Source } from './pool.js';
import type { StudyMap } from './study/plan.js';
import { ESTIMATOR_NAMES, trainingOptions } from './estimator-registry.js';
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
  steps: {
    kind: 'int',
    min: 1,
    help: "Adam steps, early stopping on held-out data: each variational critic's (default 1000), MIENF's flows' (default 1500) and MINDE's denoiser's (default 4000)",
  },
  epochs: { kind: 'int', min: 1, help: '(lmi) most passes over its training rows, early stopping on held-out rows (default 300)' },
  backend: { kind: 'string', help: '(variational, lmi, mienf, minde) tfjs backend: auto, wasm, cpu, webgpu, tensorflow, … (default: wasm)' },
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

/** `study --preset paper-v2`: the paper's v2 estimator study (src/study/v2/). */
const V2_STUDY_FLAGS = {
  preset: {
    kind: 'choice',
    choices: ['fig6', 'paper-v2'],
    default: 'fig6',
    help: "which study: fig6 (the Fig. 6 study) or paper-v2 (the paper's v2 estimator benchmark)",
  },
  out: { kind: 'string', default: './output_dir/bench/study-v2', valueName: '<folder>', help: 'the study folder (datasets/, units/, report/, README.md)' },
  overwrite: { kind: 'boolean', help: 'rewrite a finished README, and replace results made with other settings' },
  stage: { kind: 'choice', choices: V2_STAGES, default: 'all', help: 'all, or one stage of a job array: generate, estimate, report' },
  job_id: { kind: 'int', min: 0, default: 0, help: 'this task of the array (its units are every --num_jobs-th from this one)' },
  num_jobs: { kind: 'int', min: 1, default: 1, help: 'tasks in the array' },
  rho_theta: { kind: 'floats', default: [...V2_DEFAULTS.rhos], valueName: '<ρ,…>', help: 'the ρ_θ sweep (default: the paper’s eight)' },
  inputs: { kind: 'string', default: V2_DEFAULTS.inputs.join(','), valueName: '<a,b>', help: 'pixels (X), latents (Noise)' },
  protocols: { kind: 'string', default: V2_DEFAULTS.protocols.join(','), valueName: '<a,b>', help: 'fork (mean of training values), held-out (ours)' },
  estimators: { kind: 'string', default: V2_DEFAULTS.estimators.join(','), valueName: '<a,b,…>', help: 'the fork’s estimators to run' },
  draws: { kind: 'int', min: 20, default: V2_DEFAULTS.draws, help: 'draws per dataset (full size 10000)' },
  steps: { kind: 'int', min: 1, default: V2_DEFAULTS.steps, help: 'training steps per estimate (full size 20000)' },
  map: { kind: 'choice', choices: V2_MAPS, default: V2_DEFAULTS.map, help: 'flow (the built-in model, the paper’s), or identity/tanh for quick runs' },
  threads: { kind: 'int', min: 0, default: 0, help: 'flow map threads (0: one per core)' },
  seed: { kind: 'int', min: 0, default: 0, help: 'seed of every critic (initial weights, minibatches, split)' },
  critic_hidden: { kind: 'int', min: 1, default: V2_DEFAULTS.criticHidden, help: 'width of the critic’s three hidden layers (the fork’s 256)' },
  mod_dim: { kind: 'int', min: 1, help: 'values per modality (quick runs and tests with a model-free map; default the paper’s 3072)' },
  plan: { kind: 'boolean', help: 'print the units of each stage (datasets: N, estimates: M: the job arrays’ sizes) and exit' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

const CONTRASTIVE_FLAGS = {
  data: { kind: 'string', repeatable: true, valueName: '<path>', help: 'an existing dataset, one grid point (repeatable; instead of --targets)' },
  targets: {
    kind: 'string',
    valueName: '"I(A;B)=v,…"',
    help: 'a grid of designed datasets: one per value, e.g. "I(X1;X2)=0.5,1,2,4" or "I(X1;X2)=0.5..4:8" (nats)',
  },
  base: { kind: 'string', valueName: '<file.txt>', help: 'argument file the design starts from (default generation_arguments/simple_fig1_DAG.txt)' },
  vary: { kind: 'string', valueName: '<flags>', help: 'coefficients the design changes (default rho_theta_arg,rho_arg; see mmmi-latents design)' },
  map: {
    kind: 'string',
    default: 'identity',
    valueName: '<map>',
    help: `modality map of the designed datasets: ${CONTRASTIVE_MAPS.join(', ')} (flow: the built-in model)`,
  },
  draws: { kind: 'int', min: 20, default: 3000, help: 'draws generated per designed dataset' },
  mod_dim: { kind: 'int', min: 1, valueName: '<d>', help: "values per modality of the designed datasets (default: the base's, 3072 = 3×32×32)" },
  views: { kind: 'string', default: 'X1,X2', valueName: '<X1,X2,…>', help: 'the modalities contrasted, at least two (more: the sum of pairwise InfoNCE, CMC)' },
  encoder: {
    kind: 'choice',
    choices: ['auto', 'cnn', 'mlp'],
    default: 'auto',
    help: 'cnn (on 3×32×32 images), mlp (on --features); auto: cnn on images, else mlp',
  },
  features: { kind: 'string', default: 'pixels', valueName: '<f>', help: 'what an MLP encoder sees: pixels, pca<k>, latents, latents:pca<k>' },
  n: { kind: 'int', min: 10, default: 2000, help: 'training draws per seed (a tenth of them, in whole batches, for early stopping)' },
  test: { kind: 'int', min: 10, default: 1000, help: 'held-out draws per seed: scored against the exact PMI, and the probe’s test set' },
  seeds: { kind: 'int', min: 1, default: 1, help: 'independent trainings per point (seeds 0 … k − 1, each on its own draws when the dataset holds them)' },
  epochs: { kind: 'int', min: 1, default: 30, help: 'most epochs (early stopping on the validation loss, see --patience)' },
  batch: { kind: 'int', min: 2, default: 128, help: 'K: draws per minibatch (K − 1 negatives per positive)' },
  temperature: { kind: 'float', min: 0, minExclusive: true, default: 0.5, help: 'τ: similarities are cosine / τ' },
  lr: { kind: 'float', min: 0, minExclusive: true, default: 1e-3, help: 'Adam learning rate' },
  representation: { kind: 'int', min: 1, default: 64, help: 'R: size of the representation (encoder output, what the probe sees)' },
  projection: { kind: 'int', min: 1, default: 64, help: 'E: size of the projection head’s output (what the loss sees)' },
  hidden: { kind: 'int', min: 1, default: 128, help: "width of the MLP encoder's hidden layers and of the CNN's dense layer" },
  layers: { kind: 'int', min: 0, default: 2, help: 'hidden layers of the MLP encoder' },
  channels: { kind: 'ints', min: 1, default: [16, 32, 64], valueName: '<c,…>', help: "channels of the CNN's stride-2 3×3 convolutions" },
  patience: { kind: 'int', min: 0, default: 5, help: 'stop after this many epochs without a lower validation loss (0: no validation, every epoch)' },
  backend: { kind: 'string', help: 'tfjs backend: auto, wasm, cpu, webgpu, tensorflow, … (default: wasm)' },
  out: { kind: 'string', valueName: '<folder>', help: 'report folder (default ./output_dir/bench/contrastive, or …/<dataset>/contrastive with --data)' },
  overwrite: { kind: 'boolean', help: 'replace a finished report in --out (points finished with the same options are still reused)' },
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

  mmmi-bench contrastive --targets "I(X1;X2)=0.5,1,2,4" [options]   (or --data <path> [--data …])
        contrastive encoders per point of an MI grid: learned similarity vs exact PMI, linear probe of θ vs the Bayes bound

  mmmi-bench study --preset paper-v2 [options]
        the paper's v2 estimator study: the ρ_θ sweep of simple_fig1_DAG, the fork's 8 estimators on X and on Noise,
        its protocol beside ours; job arrays by --stage and --job_id/--num_jobs

options (estimate):
${formatOptionHelp(ESTIMATE_FLAGS)}

options (regress):
${formatOptionHelp(REGRESS_FLAGS)}

options (pmi):
${formatOptionHelp(PMI_FLAGS)}

options (study):
${formatOptionHelp(STUDY_FLAGS)}

options (contrastive):
${formatOptionHelp(CONTRASTIVE_FLAGS)}

options (study --preset paper-v2):
${formatOptionHelp(V2_STUDY_FLAGS)}

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
        contrastive: (rest) => runContrastive(rest, run),
      },
    },
    { out, err },
  );
}

/** `study --preset paper-v2`: one stage (or all) of the v2 estimator study. */
async function runV2Study(rest: string[], { argv, progressStream, out, err }: BenchRun): Promise<number> {
  const { values: o } = parseOptions(rest, V2_STUDY_FLAGS);
  if (o.help) {
    out(USAGE);
    return 0;
  }
  const options = {
    out: o.out,
    overwrite: o.overwrite === true,
    stage: o.stage,
    jobId: o.job_id,
    numJobs: o.num_jobs,
    rhos: o.rho_theta,
    inputs: splitList(o.inputs) as Source[],
    protocols: splitList(o.protocols) as V2Protocol[],
    estimators: splitList(o.estimators),
    draws: o.draws,
    steps: o.steps,
    map: o.map,
    threads: o.threads,
    seed: o.seed,
    criticHidden: o.critic_hidden,
    modDim: o.mod_dim,
    command: commandLine('mmmi-bench', argv),
    stream: progressStream,
    say: err,
  };
  if (o.plan) {
    const counts = v2UnitCounts(options);
    out(`datasets: ${counts.datasets}\nestimates: ${counts.estimates}`);
    return 0;
  }
  const r = await v2StudyCommand(options);
  out(`study v2 (${r.stage}): ${r.generated} datasets generated, ${r.estimated} estimates made, ${r.reused} reused${r.readme ? `; ${r.readme}` : ''}`);
  return 0;
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
    estimatorOptions: trainingOptions({ steps: o.steps, epochs: o.epochs, backend: o.backend }),
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
async function runStudy(rest: string[], run: BenchRun): Promise<number> {
  const preset = rest.findIndex((t) => t === '--preset' || t.startsWith('--preset='));
  const named = preset < 0 ? undefined : rest[preset].includes('=') ? rest[preset].slice('--preset='.length) : rest[preset + 1];
  if (named === 'paper-v2') return runV2Study(rest, run);
  if (preset >= 0) rest = rest.filter((_, i) => i !== preset && !(i === preset + 1 && !rest[preset].includes('=')));
  if (named !== undefined && named !== 'fig6') throw new UsageError(`--preset ${named}: one of fig6, paper-v2`);
  const { argv, progressStream, out, err } = run;
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

/** `contrastive`: Contrastive encoders along an MI grid, held against the exact PMI and the Bayes bound. */
async function runContrastive(rest: string[], { argv, progressStream, out, err }: BenchRun): Promise<number> {
  const { values: o, given } = parseOptions(rest, CONTRASTIVE_FLAGS);
  if (o.help) {
    out(USAGE);
    return 0;
  }
  // the design and generation flags describe --targets' datasets: with --data they would be silently ignored
  const designOnly = ['base', 'vary', 'map', 'draws', 'mod_dim'].filter((f) => given.has(f));
  if (o.data.length && designOnly.length)
    throw new UsageError(`--${designOnly[0]} describes the datasets --targets designs and generates; with --data the datasets are given as they are`);
  const { pmi, probe, report, reused } = await contrastiveCommand({
    data: o.data,
    targets: o.targets,
    base: o.base,
    vary: o.vary,
    map: o.map,
    draws: o.draws,
    modDim: o.mod_dim,
    views: o.views,
    settings: {
      encoder: o.encoder,
      features: o.features,
      n: o.n,
      test: o.test,
      seeds: o.seeds,
      epochs: o.epochs,
      batchSize: o.batch,
      learningRate: o.lr,
      temperature: o.temperature,
      patience: o.patience,
      representation: o.representation,
      projection: o.projection,
      hidden: o.hidden,
      layers: o.layers,
      channels: o.channels,
      backend: o.backend,
    },
    out: o.out ?? (o.data.length ? defaultOut(o.data[0], 'contrastive') : './output_dir/bench/contrastive'),
    overwrite: o.overwrite === true,
    command: commandLine('mmmi-bench', argv),
    stream: progressStream,
    say: err,
  });
  for (const r of pmi)
    out(`${r.point} · ${r.pair} seed ${r.seed}: cosine vs PMI Pearson ${r.pearsonCosine.toFixed(3)}, Spearman ${r.spearmanCosine.toFixed(3)}`);
  for (const r of probe) out(`${r.point} · probe ${r.subset} seed ${r.seed}: R² ${r.r2.toFixed(3)} (Bayes ${r.bayesR2.toFixed(3)})`);
  out(`${reused.length ? `${reused.length} points reused; ` : ''}report: ${report.folder} (${report.markdown})`);
  return 0;
}
