/** The report writers of mmmi-bench: tables, figures and a self-describing folder per command. */
export {
  ESTIMATE_COLUMNS,
  REGRESS_COLUMNS,
  PMI_COLUMNS,
  estimatesCsv,
  regressCsv,
  pmiCsv,
  reportJson,
  summariseEstimates,
  summariseRegressions,
  summarisePmi,
  estimatesMarkdown,
  regressMarkdown,
  pmiMarkdown,
  type ReportKind,
  type EstimateSummary,
  type RegressSummary,
  type PmiSummary,
} from './tables.js';
export {
  estimateVsTruthSpec,
  errorVsNSpec,
  regressionSpec,
  pmiScatterSpec,
  bayesCurve,
  writeFigureSpec,
  type FigureSpec,
  type NChoice,
  type EstimateVsTruthOptions,
  type ErrorVsNOptions,
  type RegressionOptions,
  type PmiPoints,
  type PmiScatterOptions,
  type PmiScatterStats,
} from './plots.js';
export { writeEstimateReport, writeRegressReport, writePmiReport, type ReportMeta, type ReportFiles, type PmiReportFiles } from './write-report.js';
export { writeFigureFiles, writeTextAtomic, type FigureFiles } from './files.js';
export { mean, sampleSd, pearson, spearman, ranks } from './stats.js';
