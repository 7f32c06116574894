/**
 * The regress command's work: open the dataset, check the plan, resume from the journal, run
 * with progress (terminal and log file), write the report folder.
 */
import { openDataset } from '../dataset.js';
import { prepareOutputFolder, type ReportCommandBase } from '../output.js';
import { DRAW_LAYOUT_VERSION } from '../seed-draws.js';
import { startJournaledRun } from '../journaled-run.js';
import { planRegressions, regressCount, regressKey, runRegressions, type RegressOptions } from './run.js';
import { writeRegressReport, type ReportFiles } from '../report/index.js';
import type { RegressRow } from '../results.js';

export type RegressCommand = Omit<RegressOptions, 'progress' | 'onRow' | 'done'> & ReportCommandBase;

export async function regressCommand(c: RegressCommand): Promise<{ rows: RegressRow[]; report: ReportFiles }> {
  const say = c.say ?? (() => {});
  const data = await openDataset(c.data);
  try {
    const options: RegressOptions = {
      subsets: c.subsets,
      models: c.models,
      features: c.features,
      sizes: c.sizes,
      seeds: c.seeds,
      testDraws: c.testDraws,
      cnn: c.cnn && { epochs: c.cnn.epochs, patience: c.cnn.patience, batchSize: c.cnn.batchSize, learningRate: c.cnn.learningRate, backend: c.cnn.backend },
    };
    const plan = planRegressions(data, options);
    prepareOutputFolder(c.out, c.overwrite, { '--data': c.data });
    for (const note of plan.layout.notes) say(note);
    if (!data.miExactInImages)
      say(`warning: ${data.source}: the manifest says the images do not keep the MI exactly; the Bayes line holds for the latents only`);
    const { journal, progress } = startJournaledRun<RegressRow>({
      out: c.out,
      kind: 'regress',
      options: { data: data.source, draws: DRAW_LAYOUT_VERSION, ...options },
      key: regressKey,
      total: regressCount(plan, c.seeds),
      unit: 'fits',
      stream: c.stream,
      say,
    });
    const rows = await runRegressions(data, {
      ...options,
      cnn: { ...options.cnn, onEpoch: (p) => progress.logOnly(`cnn epoch ${JSON.stringify(p)}`) },
      progress,
      done: journal,
      onRow: (r) => {
        journal.add(r);
        progress.logOnly(
          `${r.subset} ${r.model} ${r.features} n=${r.n} seed=${r.seed}: R² ${r.r2.toFixed(4)} (Bayes ${r.bayesR2.toFixed(4)}) in ${r.seconds.toFixed(2)} s`,
        );
      },
    });
    progress.finish();
    const report = await writeRegressReport(c.out, rows, { command: c.command, title: `Regression of θ on ${data.name} (${data.map})` });
    journal.remove();
    return { rows, report };
  } finally {
    await data.close();
  }
}
