/**
 * The study command's work (see plan.ts for what the study is): per map, generate the
 * dataset, then estimate (classical estimators at every size and seed; variational ones at
 * the largest size, seed 0), regress and pmi, each into its own report folder, and a
 * README.md gathering them with every command and its wall time. Finished steps (a folder
 * with its README.md) are skipped on a rerun; an estimate or regression cut short resumes.
 * Where the seeds of a step share draws (seed-draws.ts), the step says so as it runs and the
 * README keeps the note, reused steps included.
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { ProgressStream } from '@mmmi/cli-kit';
import { writeFileAtomic } from '@mmmi/formats';
import { estimateCommand } from '../estimate/command.js';
import { pmiCommand } from '../pmi/command.js';
import { regressCommand } from '../regress/command.js';
import { commandLine, prepareOutputFolder } from '../output.js';
import { writeEstimateReport, writeRegressReport, estimatesMarkdown, regressMarkdown, pmiMarkdown } from '../report/index.js';
import type { EstimateRow, PmiRow, RegressRow } from '../results.js';
import { FIG6_MODALITIES, fig6Pairs, finished, generateForMap, planStudy, studyDrawNotes, studySubsets, type StudyOptions } from './plan.js';

export interface StudyStep {
  map: string;
  step: string;
  command: string;
  seconds: number;
  /** True when a finished result from an earlier run was reused. */
  reused: boolean;
  folder: string;
}

const readRows = <T>(file: string): T[] => (JSON.parse(readFileSync(file, 'utf8')) as { rows: T[] }).rows;

export async function studyCommand(o: StudyOptions & { command: string; overwrite: boolean }): Promise<{ steps: StudyStep[]; readme: string }> {
  const say = o.say ?? (() => {});
  const plans = planStudy(o);
  const out = resolve(o.out);
  prepareOutputFolder(out, o.overwrite);
  const steps: StudyStep[] = [];
  const estimates: EstimateRow[] = [];
  const regressions: RegressRow[] = [];
  const pmis: PmiRow[] = [];
  const nMod = FIG6_MODALITIES;
  const pairs = fig6Pairs(nMod);
  const stream: ProgressStream | null | undefined = o.stream;

  /** Runs one step unless its folder holds a finished report; records its command and time. */
  const step = async (map: string, name: string, folder: string, argv: string[], run: (command: string) => Promise<unknown>) => {
    const command = commandLine(name === 'generate' ? 'mmmi-generate' : 'mmmi-bench', argv);
    const reused = name !== 'generate' && finished(folder);
    say(`study: ${map}: ${name}${reused ? ' (finished earlier, reused)' : ''}`);
    const t0 = performance.now();
    if (!reused) await run(command);
    steps.push({ map, step: name, command, seconds: (performance.now() - t0) / 1000, reused, folder });
  };

  for (const plan of plans) {
    const t0 = performance.now();
    const shard = await generateForMap(plan, stream);
    steps.push({
      map: plan.map,
      step: 'generate',
      command: commandLine('mmmi-generate', plan.tokens),
      seconds: (performance.now() - t0) / 1000,
      reused: shard.skipped,
      folder: plan.folder,
    });
    const data = shard.path;
    const base = join(out, plan.map);
    const largest = Math.max(...plan.sizes);
    const seedsFlag = ['--seeds', String(o.seeds)];

    const classical = join(base, 'estimate');
    const classicalArgv = [
      'estimate',
      '--data',
      data,
      ...pairs.flatMap((p) => ['--pair', p]),
      '--estimators',
      o.estimators.join(','),
      '--features',
      o.features.join(','),
      '--n',
      plan.sizes.join(','),
      ...seedsFlag,
      '--out',
      classical,
    ];
    await step(plan.map, 'estimate', classical, classicalArgv, (command) =>
      estimateCommand({
        data,
        out: classical,
        overwrite: true,
        pairs,
        estimators: o.estimators,
        features: o.features,
        sizes: plan.sizes,
        seeds: o.seeds,
        fitDraws: plan.draws - largest,
        command,
        stream,
        say,
      }),
    );
    estimates.push(...readRows<EstimateRow>(join(classical, 'estimates.json')));

    if (o.variational.length) {
      const variational = join(base, 'estimate-variational');
      const argv = [
        'estimate',
        '--data',
        data,
        ...pairs.flatMap((p) => ['--pair', p]),
        '--estimators',
        o.variational.join(','),
        '--features',
        o.features.join(','),
        '--n',
        String(largest),
        '--seeds',
        '1',
        '--steps',
        String(o.steps),
        '--out',
        variational,
      ];
      await step(plan.map, 'estimate (variational)', variational, argv, (command) =>
        estimateCommand({
          data,
          out: variational,
          overwrite: true,
          pairs,
          estimators: o.variational,
          features: o.features,
          sizes: [largest],
          seeds: 1,
          fitDraws: plan.draws - largest,
          estimatorOptions: Object.fromEntries(o.variational.map((v) => [v, { steps: o.steps }])),
          command,
          stream,
          say,
        }),
      );
      estimates.push(...readRows<EstimateRow>(join(variational, 'estimates.json')));
    }

    const regress = join(base, 'regress');
    const subsets = studySubsets(nMod);
    const testDraws = plan.draws - largest;
    const regressArgv = [
      'regress',
      '--data',
      data,
      '--subsets',
      ...subsets,
      '--models',
      o.models.join(','),
      '--features',
      o.features.join(','),
      '--n',
      plan.sizes.join(','),
      ...seedsFlag,
      '--test_draws',
      String(testDraws),
      '--out',
      regress,
    ];
    await step(plan.map, 'regress', regress, regressArgv, (command) =>
      regressCommand({
        data,
        out: regress,
        overwrite: true,
        subsets,
        models: o.models,
        features: o.features,
        sizes: plan.sizes,
        seeds: o.seeds,
        testDraws,
        command,
        stream,
        say,
      }),
    );
    regressions.push(...readRows<RegressRow>(join(regress, 'regressions.json')));

    const pmi = join(base, 'pmi');
    const scored = plan.draws - largest;
    const pmiArgv = [
      'pmi',
      '--data',
      data,
      '--pair',
      'X1;θ',
      '--features',
      o.features[0],
      '--n',
      String(largest),
      '--scored',
      String(scored),
      '--seeds',
      '1',
      '--steps',
      String(o.steps),
      '--out',
      pmi,
    ];
    await step(plan.map, 'pmi', pmi, pmiArgv, (command) =>
      pmiCommand({
        data,
        out: pmi,
        overwrite: true,
        pairs: ['X1;θ'],
        features: [o.features[0]],
        n: largest,
        scored,
        seeds: 1,
        critic: { steps: o.steps },
        command,
        stream,
      }),
    );
    pmis.push(...readRows<PmiRow>(join(pmi, 'pmi.json')));
  }

  const all = join(out, 'all-maps');
  await writeEstimateReport(join(all, 'estimate'), estimates, { command: o.command, title: 'MI estimates vs exact MI, every map' });
  await writeRegressReport(join(all, 'regress'), regressions, { command: o.command, title: 'Regression of θ vs the Bayes optimum, every map' });
  const readme = join(out, 'README.md');
  const drawNotes = plans.flatMap((p) => studyDrawNotes(p, o.seeds));
  await writeFileAtomic(readme, [Buffer.from(studyReadme(o, out, steps, estimates, regressions, pmis, drawNotes))]);
  return { steps, readme };
}

function studyReadme(
  o: StudyOptions & { command: string },
  out: string,
  steps: StudyStep[],
  estimates: EstimateRow[],
  regressions: RegressRow[],
  pmis: PmiRow[],
  drawNotes: string[],
): string {
  const rel = (p: string) => relative(out, p) || '.';
  const total = steps.reduce((a, s) => a + s.seconds, 0);
  const lines = [
    '# Estimator and regression study on the Fig. 6 configuration',
    '',
    `multimodal_decay_DAG (N = 10, d = ${o.modDim ?? 3072}) at α = ${o.alpha}, β = ${o.beta}; maps: ${o.maps.join(', ')}.`,
    'Pairs: I(θ; X_i), i = 1 … 10, and I(X_1; X_i), i = 2 … 10 — the truths come from each dataset’s own latent structure.',
    '',
    'Made by:',
    '',
    '```sh',
    o.command,
    '```',
    '',
    `Wall time: ${(total / 60).toFixed(1)} min in all (steps reused from an earlier run count as 0).`,
    '',
    '## Steps',
    '',
    '| map | step | seconds | folder | command |',
    '|---|---|---|---|---|',
    ...steps.map(
      (s) => `| ${s.map} | ${s.step}${s.reused ? ' (reused)' : ''} | ${s.seconds.toFixed(1)} | \`${rel(s.folder)}\` | \`${s.command.replace(/\|/g, '\\|')}\` |`,
    ),
    '',
    '## Seeds and draws',
    '',
    ...(drawNotes.length
      ? [
          `The seeds of a step share draws where a map's draws cannot give each seed its own; each step said so as it ran:`,
          '',
          ...drawNotes.map((n) => `- ${n.replace(/^note: /, '')}`),
        ]
      : [`Every seed of every step read its own draws, disjoint from the other seeds' (or one seed ran).`]),
    '',
    '## Figures',
    '',
    '- `all-maps/estimate/estimate_vs_truth.png`: every estimator against the exact MI (symlog axes: I(X_1; X_i) reaches thousands of nats).',
    '- `all-maps/estimate/error_vs_n.png`: bias against the sample size.',
    '- `all-maps/regress/r2_vs_mi.png`: test R² against I(X_S; θ), with the Bayes curve 1 − exp(−2I) that no regressor can beat; `unexplained_vs_mi.png`: 1 − R² on a log axis above exp(−2I), where the gaps at high MI show.',
    ...o.maps.map((m) => `- \`${m}/pmi/pmi_scatter.png\`: the InfoNCE critic's per-sample scores against the exact PMI (${m} map).`),
    '',
    '## Estimates',
    '',
    estimatesMarkdown(estimates),
    '',
    '## Regression',
    '',
    regressMarkdown(regressions),
    '',
    '## Critic scores vs exact PMI',
    '',
    pmiMarkdown(pmis),
    '',
  ];
  return lines.join('\n');
}
