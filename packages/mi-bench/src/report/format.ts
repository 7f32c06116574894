/**
 * Number formatting of the human-readable tables. The CSV and JSON keep full precision; these
 * only decide what a reader sees: nats to 3 decimals (a thousandth of a nat is below any
 * estimator's seed-to-seed spread at benchmark sizes), times to 3 significant figures.
 */

/** Non-finite values as words a reader recognises, and missing ones as a dash rather than 'null'. */
function special(x: number | null): string | null {
  if (x === null) return '—';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  return null;
}

/** Fixed decimals, never '-0.000' (a tiny negative bias rounds to zero, not to a signed zero). */
export function fixed(x: number | null, decimals = 3): string {
  const s = special(x);
  if (s !== null) return s;
  const t = (x as number).toFixed(decimals);
  return Number(t) === 0 ? (0).toFixed(decimals) : t;
}

/**
 * Significant figures, trailing zeros kept (2.1 → '2.10': the precision is part of the number),
 * and no exponent for large values (1234.5 → '1230', not '1.23e+3').
 */
export function significant(x: number | null, digits = 3): string {
  const s = special(x);
  if (s !== null) return s;
  const t = (x as number).toPrecision(digits);
  return /e\+/.test(t) ? String(Number(t)) : t;
}

export const nats = (x: number | null): string => fixed(x, 3);
export const seconds = (x: number | null): string => significant(x, 3);

/** 'mean ± sd', or the mean alone when there is no spread (a single seed). */
export function plusMinus(m: number | null, sd: number | null, f: (x: number | null) => string): string {
  return sd === null ? f(m) : `${f(m)} ± ${f(sd)}`;
}
