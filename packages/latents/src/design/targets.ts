/**
 * MI targets of an inverse design, in the notation the MI table prints:
 *
 *   I(X_1;θ)=2.0            one target (any query the MI engine answers: groups of
 *   I(X_1,X_2;θ|X_3)=0.5    modalities and θ, ranges X2..X5, X for all, a condition after |)
 *   I(X_1;θ)=0.5..5:10      a grid: 10 values evenly from 0.5 to 5 (one design per value)
 *   I(θ;X_i)=3..0.5         a profile: i = 1 … N_mod, values evenly from 3 to 0.5
 *
 * The `I( )` wrapper is optional (`X1;theta=2` is the same target). Values are in nats.
 */
import { InputError } from '@mmmi/cli-kit';
import { groupLabel, parseMiQuery } from '../mi.js';
import type { Group } from '../logdet.js';

export interface MiTarget {
  /** As printed: I(X_1; θ | X_2). */
  label: string;
  query: { a: Group; b: Group; c: Group };
  value: number;
}

export function queryLabel(q: { a: Group; b: Group; c: Group }): string {
  const cond = q.c.mods.length || q.c.theta ? ` | ${groupLabel(q.c)}` : '';
  return `I(${groupLabel(q.a)}; ${groupLabel(q.b)}${cond})`;
}

/** Splits `I(query)=rhs` into the query and the right-hand side. */
function split(text: string, flag: string): { query: string; rhs: string } {
  const eq = text.lastIndexOf('=');
  if (eq <= 0 || eq === text.length - 1) throw new InputError(`${flag} ${text}: expected I(A;B|C)=value, e.g. "I(X_1;θ)=2.0"`);
  let query = text.slice(0, eq).trim();
  const wrapped = /^I\((.*)\)$/i.exec(query);
  if (wrapped) query = wrapped[1];
  return { query, rhs: text.slice(eq + 1).trim() };
}

function number(text: string, what: string): number {
  const v = Number(text);
  if (text === '' || !Number.isFinite(v)) throw new InputError(`${what}: '${text}' is not a number`);
  return v;
}

function query(text: string, nMod: number, what: string): MiTarget['query'] {
  try {
    return parseMiQuery(text, nMod);
  } catch (e) {
    throw new InputError(`${what}: ${(e as Error).message}`);
  }
}

/** `I(A;B|C)=v`. */
export function parseTarget(text: string, nMod: number): MiTarget {
  const { query: q, rhs } = split(text, '--target');
  const parsed = query(q, nMod, `--target ${text}`);
  return { label: queryLabel(parsed), query: parsed, value: number(rhs, `--target ${text}`) };
}

/** n values evenly from a to b (both included). */
function evenly(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));
}

/** `I(A;B|C)=a..b:n`: the query and its n values. */
export function parseTargetGrid(text: string, nMod: number): { query: MiTarget['query']; label: string; values: number[] } {
  const { query: q, rhs } = split(text, '--target_grid');
  const m = /^(.+)\.\.(.+):(\d+)$/.exec(rhs);
  if (!m) throw new InputError(`--target_grid ${text}: expected I(A;B|C)=from..to:points, e.g. "I(X_1;θ)=0.5..5:10"`);
  const n = Number(m[3]);
  if (n < 1) throw new InputError(`--target_grid ${text}: at least one point`);
  const parsed = query(q, nMod, `--target_grid ${text}`);
  return { query: parsed, label: queryLabel(parsed), values: evenly(number(m[1], `--target_grid ${text}`), number(m[2], `--target_grid ${text}`), n) };
}

/** `I(θ;X_i)=a..b`: one target per modality i = 1 … N_mod, the values evenly from a to b. */
export function parseTargetProfile(text: string, nMod: number): MiTarget[] {
  const { query: q, rhs } = split(text, '--target_profile');
  const m = /^(.+)\.\.(.+)$/.exec(rhs);
  if (!m) throw new InputError(`--target_profile ${text}: expected I(…X_i…)=from..to, e.g. "I(θ;X_i)=3..0.5"`);
  if (!/X_?i\b/i.test(q)) throw new InputError(`--target_profile ${text}: the query must name X_i, the modality that runs over 1 … N_mod`);
  const values = evenly(number(m[1], `--target_profile ${text}`), number(m[2], `--target_profile ${text}`), nMod);
  return values.map((value, i) => {
    const parsed = query(q.replace(/X_?i\b/gi, `X${i + 1}`), nMod, `--target_profile ${text}`);
    return { label: queryLabel(parsed), query: parsed, value };
  });
}
