/**
 * Writing report files so that none is ever seen half-written (a killed run, a reader polling
 * the folder): every file goes through write-then-rename. The figure pipeline's own
 * `writeFigure` writes in place, so figures are rendered with its `vegaLiteToSvg`/`svgToPng`
 * and written here instead — same renderer, same fonts, same PNG scale.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { figures } from '@mmmi/dataset-generation';
import { writeFileAtomic } from '@mmmi/formats';

export async function writeTextAtomic(path: string, text: string): Promise<string> {
  await writeFileAtomic(path, [Buffer.from(text, 'utf8')]);
  return path;
}

/** The files of one figure: the picture twice (SVG, PNG) and the numbers drawn (CSV). */
export interface FigureFiles {
  svg: string;
  png: string;
  csv: string;
  /** PNG size in pixels (2 per SVG pixel). */
  width: number;
  height: number;
}

/** Render a Vega-Lite spec and write `<dir>/<name>.{svg,png,csv}`. */
export async function writeFigureFiles(dir: string, name: string, spec: Record<string, unknown>, csv: string): Promise<FigureFiles> {
  await mkdir(dir, { recursive: true });
  const svg = await figures.vegaLiteToSvg(spec);
  const { png, width, height } = figures.svgToPng(svg);
  const paths = { svg: join(dir, `${name}.svg`), png: join(dir, `${name}.png`), csv: join(dir, `${name}.csv`) };
  await writeTextAtomic(paths.svg, svg);
  await writeFileAtomic(paths.png, [png]);
  await writeTextAtomic(paths.csv, csv);
  return { ...paths, width, height };
}
