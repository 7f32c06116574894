/** The pmi command's work: open the dataset, check the plan, train and score with progress, write the report folder. */
import { join } from 'node:path';
import { Progress } from '@mmmi/cli-kit';
import { openDataset } from '../dataset.js';
import { prepareOutputFolder, type ReportCommandBase } from '../output.js';
import { planPmi, runPmi, type PmiOptions } from './run.js';
import { writePmiReport, type PmiReportFiles } from '../report/index.js';
import type { PmiRow } from '../results.js';

export type PmiCommand = Omit<PmiOptions, 'progress'> & ReportCommandBase;

export async function pmiCommand(c: PmiCommand): Promise<{ rows: PmiRow[]; report: PmiReportFiles }> {
  const data = await openDataset(c.data);
  try {
    const plan = planPmi(data, c);
    prepareOutputFolder(c.out, c.overwrite, { '--data': c.data });
    const total = plan.pairs.length * plan.specs.length * c.seeds;
    const progress = new Progress({ label: 'pmi', total, unit: 'critics', stream: c.stream, logFile: join(c.out, 'pmi.log') });
    // on the terminal and in pmi.log: whether the seeds' critics were trained and scored on disjoint draws
    for (const note of plan.layout.notes) progress.log(note);
    const { rows, points } = await runPmi(data, {
      ...c,
      critic: {
        ...c.critic,
        onProgress: (p) => progress.logOnly(`critic step ${JSON.stringify(p)}`),
        log: (line) => progress.logOnly(line),
      },
      progress,
    });
    progress.finish();
    const report = await writePmiReport(c.out, rows, points, { command: c.command, title: `InfoNCE critic scores vs exact PMI on ${data.name} (${data.map})` });
    return { rows, report };
  } finally {
    await data.close();
  }
}
