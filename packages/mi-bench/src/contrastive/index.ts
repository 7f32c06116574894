/** `mmmi-bench contrastive`: contrastive encoders held against the exact PMI and the Bayes bound, along a grid of MI. */
export { contrastiveCommand, type ContrastiveCommand, type ContrastiveOutcome } from './command.js';
export { directionLoss, multiViewLoss, normaliseRows, pairLoss, similarityMatrix, viewPairs } from './loss.js';
export { makeNetwork, type ContrastiveNetwork, type EncoderKind, type NetworkSpec } from './model.js';
export { linearProbe, type ProbeResult } from './probe.js';
export { checkSettings, planPoint, runPoint, validationDraws, type ContrastiveSettings, type GridQuery } from './run.js';
export { similarityScores, encodeAll, type SimilarityScores } from './score.js';
export { trainNetwork, type EpochPoint, type TrainResult, type TrainSettings } from './train.js';
export { CONTRASTIVE_MAPS, DEFAULT_BASE, designTargets, parseTargets, valueSlug } from './grid.js';
export { parseViews } from './views.js';
export type { ContrastivePmiRow, ContrastiveProbeRow, PointResult } from './rows.js';
export { writeContrastiveReport, type ContrastiveReportFiles } from './report.js';
