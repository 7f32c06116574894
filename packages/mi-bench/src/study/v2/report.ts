/**
 * The v2 study's merge: every unit's result → the estimate rows (one report folder per
 * protocol, with the estimate-vs-truth figure), the per-estimator summary the paper reports
 * and the study's README.
 *
 * Per (estimator, input, protocol), over the ρ_θ sweep with estimates Î_k and truths I_k:
 *   RMSE = √(mean_k (Î_k − I_k)²),  r = Pearson(Î, I),  largest % error = max_k |Î_k − I_k| / I_k · 100.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '@mmmi/formats';
import { fixed } from '../../report/format.js';
import { pearson, writeEstimateReport } from '../../report/index.js';
import type { EstimateRow } from '../../results.js';
import { V2_FULL_SIZE, V2_PAPER_TRUTHS, V2_RHO_THETA, type V2Protocol } from './preset.js';
import type { V2UnitResult } from './run-unit.js';

export interface V2Summary {
  estimator: string;
  input: string;
  protocol: string;
  points: number;
  rmse: number;
  pearson: number | null;
  largestPercentError: number;
  seconds: number;
}

/** The result as a harness estimate row (the study's map in `map`, the input as the features). */
export function unitRow(r: V2UnitResult): EstimateRow {
  return {
    // one dataset name and the ρ_θ in the pair: the sweep is one panel of the estimate-vs-truth figure
    dataset: 'v2 ρ_θ sweep',
    map: r.settings.map,
    pair: `I(X_1; X_2) at ρ_θ = ${r.rho}`,
    truth: r.truth,
    estimator: r.estimator,
    features: r.input,
    n: r.settings.draws,
    seed: r.settings.seed,
    estimate: r.estimate,
    standardError: r.standardError,
    bias: r.estimate - r.truth,
    seconds: r.seconds,
  };
}

export function summariseV2(results: readonly V2UnitResult[]): V2Summary[] {
  const groups = new Map<string, V2UnitResult[]>();
  for (const r of results) {
    const key = JSON.stringify([r.protocol, r.input, r.estimator]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const est = rs.map((r) => r.estimate);
    const truth = rs.map((r) => r.truth);
    const sq = rs.reduce((a, r) => a + (r.estimate - r.truth) ** 2, 0) / rs.length;
    return {
      estimator: rs[0].estimator,
      input: rs[0].input,
      protocol: rs[0].protocol,
      points: rs.length,
      rmse: Math.sqrt(sq),
      pearson: rs.length >= 3 ? pearson(est, truth) : null,
      largestPercentError: Math.max(...rs.map((r) => (Math.abs(r.estimate - r.truth) / r.truth) * 100)),
      seconds: rs.reduce((a, r) => a + r.seconds, 0),
    };
  });
}

export function v2SummaryMarkdown(summary: readonly V2Summary[]): string {
  const lines = ['| protocol | input | estimator | ρ_θ points | RMSE [nats] | Pearson r | largest % error | seconds |', '|---|---|---|---|---|---|---|---|'];
  for (const s of summary)
    lines.push(
      `| ${s.protocol} | ${s.input === 'pixels' ? 'X (pixels)' : 'Noise (latents)'} | ${s.estimator} | ${s.points} | ${fixed(s.rmse, 3)} | ${s.pearson === null ? '—' : fixed(s.pearson, 3)} | ${s.largestPercentError.toFixed(0)} % | ${s.seconds.toFixed(0)} |`,
    );
  return lines.join('\n');
}

/** Our exact truths beside the paper's table, per ρ_θ in the results. */
export function truthsMarkdown(results: readonly V2UnitResult[]): string {
  const byRho = new Map(results.map((r) => [r.rho, r.truth]));
  const lines = ['| ρ_θ | I(X_1; X_2) here [nats] | the paper’s |', '|---|---|---|'];
  for (const [rho, truth] of [...byRho].sort((a, b) => a[0] - b[0])) {
    const k = V2_RHO_THETA.indexOf(rho);
    lines.push(`| ${rho} | ${truth.toFixed(4)} | ${k >= 0 ? V2_PAPER_TRUTHS[k] : '—'} |`);
  }
  return lines.join('\n');
}

export interface V2ReportMeta {
  command: string;
  /** The command of the full-size study. */
  fullCommand: string;
  draws: number;
  steps: number;
  map: string;
  criticHidden: number;
  expectedUnits: number;
  protocols: readonly V2Protocol[];
}

/** Writes report/<protocol>/ (rows, figures) and README.md; returns the README's path. */
export async function writeV2Report(out: string, results: readonly V2UnitResult[], meta: V2ReportMeta): Promise<string> {
  const sorted = [...results].sort((a, b) => a.id.localeCompare(b.id));
  for (const protocol of meta.protocols) {
    const rows = sorted.filter((r) => r.protocol === protocol).map(unitRow);
    if (rows.length)
      await writeEstimateReport(join(out, 'report', protocol), rows, {
        command: meta.command,
        title: `v2 study, ${protocol} protocol: estimate vs exact I(X_1; X_2)`,
      });
  }
  const summary = summariseV2(sorted);
  const full = meta.draws >= V2_FULL_SIZE.draws && meta.steps >= V2_FULL_SIZE.steps && meta.map === 'flow' && meta.criticHidden === V2_FULL_SIZE.criticHidden;
  const lines = [
    '# The paper’s v2 estimator study (ρ_θ sweep of simple_fig1_DAG)',
    '',
    full
      ? `Full size: ${meta.draws} draws per dataset, ${meta.steps} training steps per estimate, the flow map.`
      : `**Scaled down** (the figures below are not the full-size study's): ${meta.draws} draws per dataset (full: ${V2_FULL_SIZE.draws}), ${meta.steps} training steps per estimate (full: ${V2_FULL_SIZE.steps}), map ${meta.map} (full: flow), critic width ${meta.criticHidden} (full: 256).`,
    '',
    'Made by:',
    '',
    '```sh',
    meta.command,
    '```',
    '',
    'The full-size study:',
    '',
    '```sh',
    meta.fullCommand,
    '```',
    '',
    `Results: ${sorted.length} of ${meta.expectedUnits} estimates (one file each in \`units/\`).`,
    '',
    '## Per estimator',
    '',
    'Over the ρ_θ sweep: RMSE of the estimates, their Pearson correlation with the truth, and the largest relative error. `fork`: the authors’ protocol (the mean of every training step’s value, no held-out split); `held-out`: ours (early stopping on held-out monitor batches, the bound on other held-out rows).',
    '',
    v2SummaryMarkdown(summary),
    '',
    '## Truths',
    '',
    truthsMarkdown(sorted),
    '',
    '## Figures',
    '',
    ...meta.protocols.map((p) => `- \`report/${p}/estimate_vs_truth.png\`: every estimator against the exact MI under the ${p} protocol (shape: the input).`),
    '',
  ];
  const readme = join(out, 'README.md');
  await writeFileAtomic(readme, [Buffer.from(lines.join('\n'))]);
  return readme;
}
