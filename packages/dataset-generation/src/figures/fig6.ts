/**
 * The paper's Fig. 6: I(θ; X_i) and I(X_1; X_i) against the modality index i for the
 * multimodal_decay_DAG configuration over a grid of α and β — exact values (nats) at the
 * configuration's d (3072), no model and no sampling.
 */
import { join } from 'node:path';
import { latentModelFromTokens, mutualInformation } from '@mmmi/latents';
import { repoFile, toCsv, toJson, vegaLiteToSvg, writeFigure, writeText, type WrittenFigure } from './plot.js';

export const FIG6_ARGS = 'generation_arguments/multimodal_decay_DAG.txt';
export const FIG6_VALUES = [1.2, 1.4, 1.6];

export interface Fig6Row {
  alpha: number;
  beta: number;
  /** 1-based modality index. */
  i: number;
  /** I(θ; X_i), nats. */
  I_theta_Xi: number;
  /** I(X_1; X_i), nats (null for i = 1: X_1 with itself is infinite). */
  I_X1_Xi: number | null;
}

export interface Fig6Options {
  /** Argument tokens of the base configuration (default: @generation_arguments/multimodal_decay_DAG.txt). */
  tokens?: readonly string[];
  alphas?: readonly number[];
  betas?: readonly number[];
}

/** The numbers behind Fig. 6. */
export async function fig6Data(opts: Fig6Options = {}): Promise<{ rows: Fig6Row[]; modDim: number; nMod: number }> {
  const tokens = opts.tokens ?? [`@${repoFile(FIG6_ARGS)}`];
  const rows: Fig6Row[] = [];
  let modDim = 0;
  let nMod = 0;
  for (const alpha of opts.alphas ?? FIG6_VALUES)
    for (const beta of opts.betas ?? FIG6_VALUES) {
      const { structure } = await latentModelFromTokens([...tokens, '--alpha', String(alpha), '--beta', String(beta)]);
      modDim = structure.modDim;
      nMod = structure.nMod;
      const theta = { mods: [], theta: true };
      for (let i = 0; i < structure.nMod; i++) {
        const xi = { mods: [i], theta: false };
        rows.push({
          alpha,
          beta,
          i: i + 1,
          I_theta_Xi: mutualInformation(structure, theta, xi),
          I_X1_Xi: i === 0 ? null : mutualInformation(structure, { mods: [0], theta: false }, xi),
        });
      }
    }
  return { rows, modDim, nMod };
}

// Colour by α (greens, blues, reds, as the paper), lightness and dash by β.
const PALETTES = [
  ['#1a9641', '#5cb85c', '#9bd46a'],
  ['#3b6fb6', '#8fb8dc', '#6fa3d2'],
  ['#d7301f', '#f28552', '#fdae61'],
];
const DASHES = [
  [1, 0],
  [7, 3],
  [1.5, 3],
];

function seriesName(alpha: number, beta: number): string {
  return `α = ${alpha},  β = ${beta}`;
}

function curveSpec(
  rows: Fig6Row[],
  field: 'I_theta_Xi' | 'I_X1_Xi',
  symbol: string,
  alphas: readonly number[],
  betas: readonly number[],
  subtitle: string,
): Record<string, unknown> {
  const series: string[] = [];
  const colors: string[] = [];
  const dashes: number[][] = [];
  alphas.forEach((a, ai) =>
    betas.forEach((b, bi) => {
      series.push(seriesName(a, b));
      const pal = PALETTES[ai % PALETTES.length];
      colors.push(pal[bi % pal.length]);
      dashes.push(DASHES[bi % DASHES.length]);
    }),
  );
  const values = rows.filter((r) => r[field] !== null).map((r) => ({ i: r.i, value: r[field], series: seriesName(r.alpha, r.beta) }));
  const legend = { title: null, orient: 'bottom', columns: Math.min(3, alphas.length), direction: 'horizontal', symbolType: 'stroke', symbolSize: 500 };
  return {
    width: 460,
    height: 300,
    title: { text: `Mutual information ${symbol} vs i`, subtitle },
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2.2 },
    encoding: {
      x: {
        field: 'i',
        type: 'quantitative',
        title: 'i (modality index)',
        scale: { nice: false, domain: [values.reduce((m, v) => Math.min(m, v.i), Infinity) - 0.3, values.reduce((m, v) => Math.max(m, v.i), 0) + 0.3] },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: { field: 'value', type: 'quantitative', title: `${symbol}  [nats]` },
      color: { field: 'series', type: 'nominal', scale: { domain: series, range: colors }, sort: series, legend },
      strokeDash: { field: 'series', type: 'nominal', scale: { domain: series, range: dashes }, sort: series, legend },
    },
  };
}

export interface Fig6Result {
  rows: Fig6Row[];
  figures: WrittenFigure[];
  csv: string;
  json: string;
}

/** Write fig6_theta_xi.{svg,png}, fig6_x1_xi.{svg,png}, fig6.csv and fig6.json into `dir`. */
export async function writeFig6(dir: string, opts: Fig6Options = {}): Promise<Fig6Result> {
  const alphas = opts.alphas ?? FIG6_VALUES;
  const betas = opts.betas ?? FIG6_VALUES;
  const { rows, modDim, nMod } = await fig6Data(opts);
  const subtitle = `multimodal_decay_DAG, N = ${nMod}, d = ${modDim}: exact values`;
  const figures = [
    await writeFigure(dir, 'fig6_theta_xi', await vegaLiteToSvg(curveSpec(rows, 'I_theta_Xi', 'I(θ; Xᵢ)', alphas, betas, subtitle))),
    await writeFigure(dir, 'fig6_x1_xi', await vegaLiteToSvg(curveSpec(rows, 'I_X1_Xi', 'I(X₁; Xᵢ)', alphas, betas, subtitle))),
  ];
  const csv = await writeText(join(dir, 'fig6.csv'), toCsv(['alpha', 'beta', 'i', 'I_theta_Xi', 'I_X1_Xi'], rows));
  const json = await writeText(
    join(dir, 'fig6.json'),
    toJson({ figure: 'paper Fig. 6', configuration: opts.tokens ?? [`@${FIG6_ARGS}`], units: 'nats', modDim, nMod, rows }),
  );
  return { rows, figures, csv, json };
}
