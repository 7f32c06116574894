/**
 * The alignment check (the reference's debug mode): norms of unit-Gaussian draws in R^{N·d}
 * against the norms of the constructed latents (X_1 … X_N) as generated (after alignment,
 * if the configuration asks for it), with the chosen percentile of each marked. After
 * `--percentile_to_align p` the two p-quantiles coincide.
 */
import { join } from 'node:path';
import { chi2Quantile, generalizedChi2Quantile, latentModelFromTokens, normSquaredSpectrum, Rng, sampleBatch } from '@mmmi/latents';
import { configName, toCsv, toJson, vegaLiteToSvg, writeFigure, writeText, type WrittenFigure } from './plot.js';

export interface RadiiData {
  name: string;
  percentile: number;
  aligned: boolean;
  scale: number;
  dof: number;
  /** ‖z‖ of unit-Gaussian draws. */
  gaussian: Float64Array;
  /** ‖(x_1 … x_N)‖ of the model's latent draws. */
  latents: Float64Array;
  /** Exact p-quantiles: sqrt(χ²_{N·d}.ppf(p)) and that of the (scaled) latent norm. */
  exact: { gaussian: number; latents: number };
  empirical: { gaussian: number; latents: number };
  bins: { distribution: string; lo: number; hi: number; count: number }[];
}

function quantile(values: Float64Array, p: number): number {
  const s = Float64Array.from(values).sort();
  const pos = p * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (pos - lo) * (s[hi] - s[lo]);
}

export interface RadiiOptions {
  draws?: number;
  seed?: number;
  /** Percentile to mark when the configuration has no --percentile_to_align (default 0.95). */
  percentile?: number;
  bins?: number;
}

export async function radiiData(tokens: readonly string[], opts: RadiiOptions = {}): Promise<RadiiData> {
  const { structure, alignment } = await latentModelFromTokens(tokens);
  const draws = opts.draws ?? 2000;
  const seed = opts.seed ?? 0;
  const p = alignment?.percentile ?? opts.percentile ?? 0.95;
  const dof = structure.nMod * structure.modDim;
  const gaussian = new Float64Array(draws);
  const rng = new Rng(seed, 7);
  const buf = new Float64Array(dof);
  for (let c = 0; c < draws; c++) {
    rng.fillNormal(buf);
    let s = 0;
    for (let t = 0; t < dof; t++) s += buf[t] * buf[t];
    gaussian[c] = Math.sqrt(s);
  }
  const latents = new Float64Array(draws);
  const chunk = 128;
  for (let start = 0, b = 0; start < draws; start += chunk, b++) {
    const count = Math.min(chunk, draws - start);
    const { x } = sampleBatch(structure, seed, b, count);
    for (let c = 0; c < count; c++) {
      let s = 0;
      for (let t = c * dof, end = t + dof; t < end; t++) s += x[t] * x[t];
      latents[start + c] = Math.sqrt(s);
    }
  }
  const exactLatents = structure.scale * Math.sqrt(generalizedChi2Quantile(p, normSquaredSpectrum(structure)));
  const all = [...gaussian, ...latents];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const nBins = opts.bins ?? 60;
  const width = (hi - lo) / nBins || 1;
  const bins: RadiiData['bins'] = [];
  for (const [distribution, values] of [
    ['unit Gaussian', gaussian],
    ['latents', latents],
  ] as const) {
    const counts = new Array<number>(nBins).fill(0);
    for (const v of values) counts[Math.min(nBins - 1, Math.floor((v - lo) / width))]++;
    counts.forEach((count, j) => bins.push({ distribution, lo: lo + j * width, hi: lo + (j + 1) * width, count }));
  }
  return {
    name: configName(tokens),
    percentile: p,
    aligned: alignment !== null,
    scale: structure.scale,
    dof,
    gaussian,
    latents,
    exact: { gaussian: Math.sqrt(chi2Quantile(p, dof)), latents: exactLatents },
    empirical: { gaussian: quantile(gaussian, p), latents: quantile(latents, p) },
    bins,
  };
}

export function radiiSpec(r: RadiiData): Record<string, unknown> {
  const colors = { domain: ['unit Gaussian', 'latents'], range: ['#636363', '#e6550d'] };
  const pct = `${Math.round(r.percentile * 1000) / 10}th percentile`;
  const marks = [
    { distribution: 'unit Gaussian', q: r.exact.gaussian, label: `Gaussian ${pct}: ${r.exact.gaussian.toFixed(2)}` },
    { distribution: 'latents', q: r.exact.latents, label: `latents ${pct}: ${r.exact.latents.toFixed(2)}` },
  ];
  return {
    width: 460,
    height: 280,
    title: {
      text: `Radii: ‖z‖ (unit Gaussian) vs ‖(X₁…X_N)‖ (latents)`,
      subtitle: `${r.name}: ${r.latents.length} draws each, N·d = ${r.dof}; ${r.aligned ? `aligned at p = ${r.percentile} (s = ${r.scale.toPrecision(4)})` : `not aligned (no --percentile_to_align); p = ${r.percentile} marked`}; dashed: exact quantiles`,
    },
    layer: [
      {
        data: { values: r.bins },
        mark: { type: 'rect', opacity: 0.55 },
        encoding: {
          x: { field: 'lo', type: 'quantitative', title: 'norm ‖·‖', scale: { zero: false } },
          x2: { field: 'hi' },
          y: { field: 'count', type: 'quantitative', title: 'draws per bin', stack: null },
          color: { field: 'distribution', type: 'nominal', scale: colors, title: null, legend: { orient: 'bottom', direction: 'horizontal' } },
        },
      },
      {
        data: { values: marks },
        mark: { type: 'rule', strokeDash: [6, 3], strokeWidth: 2 },
        encoding: { x: { field: 'q', type: 'quantitative' }, color: { field: 'distribution', type: 'nominal', scale: colors } },
      },
      {
        data: { values: marks.map((m, j) => ({ ...m, row: j })) },
        mark: { type: 'text', align: 'right', dx: -4, fontSize: 11 },
        encoding: {
          x: { field: 'q', type: 'quantitative' },
          y: { value: 12 },
          yOffset: { field: 'row', type: 'quantitative', scale: { range: [0, 16] } },
          text: { field: 'label' },
          color: { field: 'distribution', type: 'nominal', scale: colors },
        },
      },
    ],
  };
}

export interface RadiiResult {
  data: RadiiData;
  figure: WrittenFigure;
  csv: string;
  json: string;
}

/** Write radii_<name>.{svg,png}, radii_<name>.csv (the histogram) and radii_<name>.json (quantiles). */
export async function writeRadii(dir: string, tokens: readonly string[], opts: RadiiOptions = {}): Promise<RadiiResult> {
  const data = await radiiData(tokens, opts);
  const figure = await writeFigure(dir, `radii_${data.name}`, await vegaLiteToSvg(radiiSpec(data)));
  const csv = await writeText(join(dir, `radii_${data.name}.csv`), toCsv(['distribution', 'lo', 'hi', 'count'], data.bins));
  const { gaussian: _g, latents: _l, bins: _b, ...summary } = data;
  const json = await writeText(join(dir, `radii_${data.name}.json`), toJson({ ...summary, draws: data.latents.length }));
  return { data, figure, csv, json };
}
