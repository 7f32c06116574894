/**
 * MI tables: the reference's table of any configuration (Markdown, CSV, JSON), and sweeps
 * that tabulate any MI quantities over a grid of options in one process, as the paper's
 * sweep scripts do (e.g. --sweep alpha=1.2,1.4,1.6 --sweep beta=1.2,1.4).
 */
import { join } from 'node:path';
import { conditionalMutualInformation, latentModelFromTokens, miTable, parseMiQuery, thetaVariance } from '@mmmi/latents';
import { configName, toCsv, toJson, toMarkdown, writeText } from './plot.js';

export interface MiTableFiles {
  name: string;
  labels: string[];
  values: number[];
  markdown: string;
  csv: string;
  json: string;
}

/** Write mi_<name>.{md,csv,json}: the reference's MI table (nats) and Var(θ). */
export async function writeMiTable(dir: string, tokens: readonly string[]): Promise<MiTableFiles> {
  const { structure } = await latentModelFromTokens(tokens);
  const name = configName(tokens);
  const t = miTable(structure);
  const rows = t.labels.map((quantity, j) => ({ quantity, nats: t.values[j] }));
  const vt = thetaVariance(structure);
  const md = `# MI table of ${name}\n\nExact, nats, d = ${structure.modDim}, N = ${structure.nMod}; Var(θ) = ${vt}.\n\n${toMarkdown(['quantity', 'nats'], rows, 10)}`;
  return {
    name,
    ...t,
    markdown: await writeText(join(dir, `mi_${name}.md`), md),
    csv: await writeText(join(dir, `mi_${name}.csv`), toCsv(['quantity', 'nats'], rows)),
    json: await writeText(join(dir, `mi_${name}.json`), toJson({ configuration: tokens, units: 'nats', labels: t.labels, values: t.values, theta_var: vt })),
  };
}

export interface SweepAxis {
  flag: string;
  values: string[];
}

/** `alpha=1.2,1.4,1.6` → { flag: 'alpha', values: [...] } (commas inside brackets stay: `rho_arg=[1,2],[2,1]`). */
export function parseSweep(text: string): SweepAxis {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new RangeError(`--sweep ${text}: expected FLAG=V1,V2,… (e.g. alpha=1.2,1.4,1.6)`);
  const flag = text.slice(0, eq).replace(/^--/, '');
  const values: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text.slice(eq + 1)) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      values.push(cur);
      cur = '';
    } else cur += ch;
  }
  values.push(cur);
  if (values.some((v) => v.trim() === '')) throw new RangeError(`--sweep ${text}: empty value`);
  return { flag, values: values.map((v) => v.trim()) };
}

export interface SweepTable {
  columns: string[];
  rows: Record<string, string | number>[];
}

/**
 * Every combination of the sweep axes (the last axis varies fastest) applied after
 * `tokens`, and for each the MI `queries` (parseMiQuery syntax; none: the full MI table).
 */
export async function sweepTable(tokens: readonly string[], axes: readonly SweepAxis[], queries: readonly string[] = []): Promise<SweepTable> {
  let combos: string[][] = [[]];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => [...c, v]));
  const rows: SweepTable['rows'] = [];
  let miColumns: string[] = [];
  for (const combo of combos) {
    const extra = combo.flatMap((v, j) => [`--${axes[j].flag}`, v]);
    const { structure } = await latentModelFromTokens([...tokens, ...extra]);
    const row: Record<string, string | number> = {};
    axes.forEach((a, j) => (row[a.flag] = Number.isFinite(Number(combo[j])) ? Number(combo[j]) : combo[j]));
    if (queries.length === 0) {
      const t = miTable(structure);
      miColumns = t.labels;
      t.labels.forEach((l, j) => (row[l] = t.values[j]));
    } else {
      miColumns = queries.map((q) => `I(${q})`);
      for (const q of queries) {
        const { a, b, c } = parseMiQuery(q, structure.nMod);
        row[`I(${q})`] = conditionalMutualInformation(structure, a, b, c);
      }
    }
    rows.push(row);
  }
  return { columns: [...axes.map((a) => a.flag), ...miColumns], rows };
}

export function sweepCsv(t: SweepTable): string {
  return toCsv(t.columns, t.rows);
}

export function sweepMarkdown(t: SweepTable): string {
  return toMarkdown(t.columns, t.rows, 8);
}

export { configName };
