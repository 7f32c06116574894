/**
 * Sample grids: modalities × samples of a generated dataset (the paper's 2×8 figure), and
 * for configurations with image templates (the galaxy rotation-curve pair, Fig. 3a) the
 * template images beside the samples. The samples come through the model registry's default
 * flow model (or `--checkpoint_path` among the flags), or from a model-free shard (`generate`
 * with `--transform`) when asked; the caption says which.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng, readNpz } from '@mmmi/formats';
import { latentModelFromTokens } from '@mmmi/latents';
import { generate } from '../generate.js';
import { SCALINGS, type ScalingName } from '../scaling.js';
import { configName, sub, toJson, writeFigure, writeText, type WrittenFigure } from './plot.js';

const SIDE = 32;
const ZOOM = 3;
const TILE = SIDE * ZOOM;
const GAP = 6;

/** A channel-first 3×32×32 image (values shown as [lo, hi] → [0, 255]) → a zoomed PNG data URI. */
function tileUri(chw: ArrayLike<number>, offset: number, lo: number, hi: number): string {
  const data = new Uint8Array(TILE * TILE * 3);
  for (let y = 0; y < TILE; y++)
    for (let x = 0; x < TILE; x++)
      for (let c = 0; c < 3; c++) {
        const v = (chw[offset + c * SIDE * SIDE + Math.floor(y / ZOOM) * SIDE + Math.floor(x / ZOOM)] - lo) / (hi - lo || 1);
        data[(y * TILE + x) * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
  return `data:image/png;base64,${Buffer.from(encodePng({ width: TILE, height: TILE, data })).toString('base64')}`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export interface SampleGridData {
  name: string;
  npzPath: string;
  nMod: number;
  samples: number;
  templates: number;
  /** θ of each shown sample. */
  theta: number[];
  caption: string;
}

export interface SampleGridOptions {
  samples?: number;
  /** Model-free samples (--transform tanh) instead of the registry's default flow model. */
  modelFree?: boolean;
  /** Extra generation flags (default: the flow map with generation's defaults: whitened latents, affine scaling; model-free: --transform tanh). */
  generateFlags?: readonly string[];
}

/** Generate a small shard (flow map, or model-free) under `<dir>/datasets/<name>/` and draw its grid. */
export async function writeSampleGrid(
  dir: string,
  tokens: readonly string[],
  opts: SampleGridOptions = {},
): Promise<{ data: SampleGridData; figure: WrittenFigure; json: string }> {
  const name = configName(tokens);
  const samples = opts.samples ?? 8;
  const flags = opts.generateFlags ?? (opts.modelFree ? ['--transform', 'tanh'] : ['--checkpoint_path', 'default']);
  const run = [...tokens, ...flags, '--dataset_size', String(samples), '--job_id', '0', '--preview', '0', '--dataset_loc', join(dir, 'datasets', name)];
  const result = await generate(run, { stream: { write: () => true } as unknown as NodeJS.WriteStream });
  const npz = await readNpz(result.npzPath);
  const X = npz.get('X');
  const Y = npz.get('Y');
  if (!X || X.dtype !== '<f4' || !Y || Y.dtype !== '<f4') throw new Error(`${result.npzPath}: no float32 X / Y`);
  const [n, nMod, ...img] = X.shape;
  if (img.length !== 3 || img[0] !== 3 || img[1] !== SIDE || img[2] !== SIDE)
    throw new Error(`${name}: sample grids need 32×32 RGB modalities (mod_dim 3072), got shape ${X.shape}`);
  const x = X.data as Float32Array;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const manifest = JSON.parse(readFileSync(result.manifestPath, 'utf8')) as {
    scaling: ScalingName;
    map: { kind: string; name: string; flow?: { engine?: { engine: string }; cfg_scale?: number }; whitening?: object };
  };
  // images of a [0, 1] scaling are shown clamped (a flow's exact float output overshoots a little); other values stretched
  if ((lo >= 0 && hi <= 1) || SCALINGS[manifest.scaling].display === 'clamp') [lo, hi] = [0, 1];
  // Template images: for image / .npy templates, T[k] of each modality.
  const { structure, spec } = await latentModelFromTokens(tokens);
  const withTemplates = spec.paradigm === 'constructive' && (spec.templates.method === 'images' || spec.templates.method === 'npy');
  const nT = withTemplates ? structure.columns.length : 0;
  const labelW = 56;
  const top = 74;
  const colX = (j: number) => labelW + j * (TILE + GAP) + (j >= nT && nT > 0 ? 3 * GAP : 0);
  const width = colX(nT + n) + GAP;
  const height = top + nMod * (TILE + GAP) + 26;
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, size = 15, anchor = 'middle') =>
    parts.push(`<text x="${x}" y="${y}" font-family="DejaVu Sans" font-size="${size}" text-anchor="${anchor}">${esc(s)}</text>`);
  const { map, scaling } = manifest;
  const whitened = map.whitening ? 'whitened ' : '';
  const caption =
    map.kind === 'flow'
      ? `flow-map samples: ${whitened}latents → flow model ${map.name} (${map.flow?.engine?.engine ?? 'tfjs'}, guidance ${map.flow?.cfg_scale}) → ${scaling} scaling`
      : `model-free samples: ${whitened}latents → ${map.name} → ${scaling} scaling`;
  text(width / 2, 22, `Samples of ${name}`, 18);
  text(width / 2, 42, caption, 12);
  for (let k = 0; k < nT; k++) text(colX(k) + TILE / 2, top - 8, `template T${sub(k + 1)}`, 12);
  for (let j = 0; j < n; j++) text(colX(nT + j) + TILE / 2, top - 8, `θ = ${(Y.data as Float32Array)[j].toFixed(2)}`, 12);
  for (let i = 0; i < nMod; i++) {
    const y = top + i * (TILE + GAP);
    text(labelW / 2, y + TILE / 2 + 6, `X${sub(i + 1)}`, 17);
    for (let k = 0; k < nT; k++) {
      const v = structure.vectors[structure.columns[k].vector[i]];
      const arr = v.kind === 'const' ? new Float64Array(3 * SIDE * SIDE).fill(v.value) : v.data;
      let tlo = Infinity;
      let thi = -Infinity;
      for (const a of arr) {
        tlo = Math.min(tlo, a);
        thi = Math.max(thi, a);
      }
      if (tlo >= 0 && thi <= 1) [tlo, thi] = [0, 1];
      parts.push(`<image x="${colX(k)}" y="${y}" width="${TILE}" height="${TILE}" href="${tileUri(arr, 0, tlo, thi)}"/>`);
    }
    for (let j = 0; j < n; j++)
      parts.push(`<image x="${colX(nT + j)}" y="${y}" width="${TILE}" height="${TILE}" href="${tileUri(x, (j * nMod + i) * 3 * SIDE * SIDE, lo, hi)}"/>`);
  }
  text(
    width / 2,
    height - 8,
    `${n} samples (columns, θ above) × ${nMod} modalities (rows)${nT ? '; left: the θ proto-latents’ template images' : ''}; shard ${result.npzPath.replace(/^.*[\\/]/, '')}`,
    11,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="white"/>${parts.join('')}</svg>`;
  const figure = await writeFigure(dir, `samples_${name}`, svg);
  const data: SampleGridData = {
    name,
    npzPath: result.npzPath,
    nMod,
    samples: n,
    templates: nT,
    theta: Array.from(Y.data as Float32Array).slice(0, n),
    caption,
  };
  const json = await writeText(join(dir, `samples_${name}.json`), toJson({ ...data, command: run }));
  return { data, figure, json };
}
