/**
 * What a resumable command opens before its first row: the journal of the rows done (a rerun
 * of the same command takes them, see ../journal.ts) and the progress bar with its log file in
 * the output folder, counting the journal's rows as done but not in the rate.
 */
import { join } from 'node:path';
import { Progress, type ProgressStream } from '@mmmi/cli-kit';
import { RowJournal } from './journal.js';

export interface JournaledRun<Row> {
  journal: RowJournal<Row>;
  progress: Progress;
}

export function startJournaledRun<Row>(o: {
  out: string;
  /** 'estimate' or 'regress': names the journal (.<kind>.journal.jsonl) and the log (<kind>.log). */
  kind: string;
  /** What identifies the run: a journal made with other options is set aside. */
  options: unknown;
  key: (row: Row) => string;
  total: number;
  unit: string;
  stream?: ProgressStream | null;
  say: (line: string) => void;
}): JournaledRun<Row> {
  const journal = new RowJournal<Row>(join(o.out, `.${o.kind}.journal.jsonl`), o.options, o.key);
  if (journal.discarded) o.say(journal.discarded);
  const progress = new Progress({ label: o.kind, total: o.total, unit: o.unit, stream: o.stream, logFile: join(o.out, `${o.kind}.log`) });
  if (journal.resumed) {
    progress.resume(journal.resumed);
    progress.log(`resuming: ${journal.resumed} ${o.unit} done by an earlier run`);
  }
  return { journal, progress };
}
