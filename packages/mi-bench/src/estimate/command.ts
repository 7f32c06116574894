/**
 * The estimate command's work: open the dataset, check the whole plan, resume from the
 * journal, run with progress (terminal and log file), write the report folder.
 */
import { openDataset } from '../dataset.js';
import { estimateCount, estimateKey, planEstimates, runEstimates, type EstimateOptions } from './run.js';
import { prepareOutputFolder, type ReportCommandBase } from '../output.js';
import { DRAW_LAYOUT_VERSION } from '../seed-draws.js';
import { startJournaledRun } from '../journaled-run.js';
import { writeEstimateReport, type ReportFiles } from '../report/index.js';
import type { EstimateRow } from '../results.js';

export type EstimateCommand = Omit<EstimateOptions, 'progress' | 'onRow' | 'onDetails' | 'done'> &
  ReportCommandBase & {
    /** Seconds before an external estimator is stopped (its default when absent). */
    externalTimeoutSeconds?: number;
  };

export async function estimateCommand(c: EstimateCommand): Promise<{ rows: EstimateRow[]; report: ReportFiles }> {
  const say = c.say ?? (() => {});
  const data = await openDataset(c.data);
  try {
    const plan = planEstimates(data, c);
    prepareOutputFolder(c.out, c.overwrite, { '--data': c.data });
    for (const note of plan.layout.notes) say(note);
    if (!data.miExactInImages)
      say(`warning: ${data.source}: the manifest says the images do not keep the MI exactly (a scaling that quantises); the truth holds for the latents only`);
    const options: EstimateOptions = {
      pairs: c.pairs,
      estimators: c.estimators,
      features: c.features,
      sizes: c.sizes,
      seeds: c.seeds,
      fitDraws: c.fitDraws,
      externalCommand: c.externalCommand,
      estimatorOptions: c.estimatorOptions,
    };
    const { journal, progress } = startJournaledRun<EstimateRow>({
      out: c.out,
      kind: 'estimate',
      options: { data: data.source, draws: DRAW_LAYOUT_VERSION, ...options },
      key: estimateKey,
      total: estimateCount(plan, c.seeds),
      unit: 'estimates',
      stream: c.stream,
      say,
    });
    const rows = await runEstimates(data, {
      ...options,
      // the time-out changes no result: kept out of the journal's options, so a rerun with a longer one resumes
      estimatorOptions: { ...options.estimatorOptions, external: { timeoutSeconds: c.externalTimeoutSeconds, timeoutName: '--external_timeout' } },
      progress,
      done: journal,
      onRow: (r) => {
        journal.add(r);
        progress.logOnly(
          `${r.pair} ${r.estimator} ${r.features} n=${r.n} seed=${r.seed}: ${r.estimate.toFixed(4)} (truth ${r.truth.toFixed(4)}) in ${r.seconds.toFixed(2)} s`,
        );
      },
      // a variational critic's training curve (step, train bound, held-out bound, seconds) goes to the log
      onDetails: (r, details) =>
        details.forEach((d, term) => {
          if (Array.isArray(d.curve)) progress.logOnly(`${r.pair} ${r.estimator} n=${r.n} seed=${r.seed} term ${term} curve ${JSON.stringify(d.curve)}`);
        }),
    });
    progress.finish();
    const report = await writeEstimateReport(c.out, rows, { command: c.command, title: `MI estimates on ${data.name} (${data.map})` });
    journal.remove();
    return { rows, report };
  } finally {
    await data.close();
  }
}
