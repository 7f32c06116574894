/**
 * Shared plotting: Vega-Lite specifications → SVG (vega, headless, no browser) → PNG
 * (resvg, with the DejaVu fonts of the `dejavu-fonts-ttf` package loaded explicitly, so
 * text renders the same on machines without system fonts), plus the CSV/JSON writers for
 * the numbers behind each figure.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The font every figure uses (shipped by the dejavu-fonts-ttf npm package). */
export const FONT_FAMILY = 'DejaVu Sans';
/** PNG pixels per SVG pixel (≈190 dpi for a 3.4-inch column-width figure of 640 px). */
export const PNG_SCALE = 2;

let fontFiles: string[] | null = null;

/** The TrueType files resvg loads (DejaVu Sans, regular, bold, oblique). */
export function figureFontFiles(): string[] {
  if (fontFiles) return fontFiles;
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf', 'DejaVuSans-BoldOblique.ttf']
    .map((f) => join(dir, f))
    .filter((f) => existsSync(f));
  if (fontFiles.length === 0) throw new Error(`no DejaVu fonts found in ${dir}; reinstall dependencies (npm ci)`);
  return fontFiles;
}

/** Common look: fonts and sizes readable at paper size. */
export const BASE_CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  title: { fontSize: 16, fontWeight: 'normal', subtitleFontSize: 11, subtitleColor: '#444' },
  axis: { labelFontSize: 13, titleFontSize: 15, titleFontWeight: 'normal', grid: true, gridColor: '#ddd' },
  legend: { labelFontSize: 12, titleFontSize: 12, symbolStrokeWidth: 2.5, labelLimit: 400 },
  view: { stroke: '#444' },
} as const;

/** Vega-Lite specification → SVG text, rendered headlessly by vega. */
export async function vegaLiteToSvg(spec: Record<string, unknown>): Promise<string> {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec, config: { ...BASE_CONFIG, ...(spec.config as object | undefined) } };
  const vg = compile(full as unknown as TopLevelSpec, { logger: vega.logger(vega.Error) }).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The width and height attributes of an SVG's root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\bwidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\bheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) throw new Error('SVG without a width and height');
  return { width, height };
}

/** SVG → PNG bytes at `scale` PNG pixels per SVG pixel. */
export function svgToPng(svg: string, scale = PNG_SCALE): { png: Buffer; width: number; height: number } {
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: figureFontFiles(), defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  const img = r.render();
  return { png: img.asPng(), width: img.width, height: img.height };
}

export interface WrittenFigure {
  svg: string;
  png: string;
  width: number;
  height: number;
}

/** Write `<dir>/<name>.svg` and `<dir>/<name>.png`. */
export async function writeFigure(dir: string, name: string, svg: string, scale = PNG_SCALE): Promise<WrittenFigure> {
  await mkdir(dir, { recursive: true });
  const svgPath = join(dir, `${name}.svg`);
  const pngPath = join(dir, `${name}.png`);
  const { png, width, height } = svgToPng(svg, scale);
  await writeFile(svgPath, svg);
  await writeFile(pngPath, png);
  return { svg: svgPath, png: pngPath, width, height };
}

function csvCell(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan') : String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows of objects → CSV text (columns in `columns` order, numbers at full precision). */
export function toCsv(columns: readonly string[], rowsIn: readonly object[]): string {
  const rows = rowsIn as readonly Record<string, unknown>[];
  return [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

/** Rows → a Markdown table; numbers with `digits` significant digits. */
export function toMarkdown(columns: readonly string[], rowsIn: readonly object[], digits = 6): string {
  const rows = rowsIn as readonly Record<string, unknown>[];
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : v > 0 ? '∞' : 'NaN') : String(v ?? ''));
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return (
    [
      `| ${columns.map(esc).join(' | ')} |`,
      `|${columns.map(() => '---').join('|')}|`,
      ...rows.map((r) => `| ${columns.map((c) => esc(fmt(r[c]))).join(' | ')} |`),
    ].join('\n') + '\n'
  );
}

/** JSON with infinities as the string "Infinity" (as `mmmi-latents mi --json`). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}

export async function writeText(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** Unicode subscript digits: 12 → ₁₂. */
export function sub(n: number | string): string {
  return String(n).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[Number(d)]);
}

/** A file of the repository (e.g. generation_arguments/…): from the working directory, else from the repository root. */
export function repoFile(rel: string): string {
  if (existsSync(rel)) return rel;
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  return resolve(root, rel);
}

/** A short name for a configuration: the argument file's base name without `.txt`. */
export function configName(tokens: readonly string[]): string {
  const file = [...tokens].reverse().find((t) => t.startsWith('@'));
  return file
    ? file
        .slice(1)
        .replace(/^.*[\\/]/, '')
        .replace(/\.txt$/, '')
    : 'default';
}
