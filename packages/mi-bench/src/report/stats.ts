/**
 * The few statistics the report needs (means and spreads over seeds, correlations of a critic's
 * scores), kept here so the tables, the plots and their tests agree on one definition.
 */
import { InputError } from '@mmmi/cli-kit';

/** Refuse an empty result set up front: an empty table or plot would look like a bug elsewhere. */
export function requireRows<T>(rows: readonly T[], what: string): void {
  if (rows.length === 0) throw new InputError(`no ${what} to report: the run produced no rows (did every job fail, or did the filters match nothing?)`);
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * Sample standard deviation (n − 1 in the denominator): the spread a further seed would show.
 * null for a single value, where there is no spread to speak of (0 would claim a precision
 * nobody measured).
 */
export function sampleSd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** Mean of the values that are present; null when none is (an estimator that reports no standard error). */
export function meanOfPresent(xs: readonly (number | null)[]): number | null {
  const present = xs.filter((x): x is number => x !== null);
  return present.length === 0 ? null : mean(present);
}

/**
 * The one value a group's rows must share (an exact MI, a Bayes bound): the rows of one pair
 * disagreeing on it means they came from different configurations, and averaging would hide that.
 */
export function sharedValue(xs: readonly number[], what: string, group: string): number {
  const v = xs[0];
  for (const x of xs) {
    const same = x === v || (Number.isNaN(x) && Number.isNaN(v)) || Math.abs(x - v) <= 1e-9 * Math.max(1, Math.abs(v));
    if (!same) throw new InputError(`rows of ${group} disagree on ${what} (${v} vs ${x}): were results of different configurations merged?`);
  }
  return v;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks 1…n, ties sharing their mean rank (so Spearman's ρ is Pearson's r of the ranks). */
export function ranks(x: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(x.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]] = rank;
    i = j + 1;
  }
  return r;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}
