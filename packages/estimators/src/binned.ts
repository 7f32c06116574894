/**
 * The binned (histogram) estimator of I(X; Y) for one-dimensional X and Y, with equal-count
 * (quantile) bins and the Miller–Madow bias correction.
 *
 * Bins: each side's n values are ranked and sample i goes to bin ⌊r_i · B / n⌋ (r_i its 0-based
 * rank), B bins a side, default B = ⌈n^{1/3}⌉ (so the B² cells hold about n^{1/3} samples each
 * and the cells' number and size both grow with n). Tied values share the rank of the first of
 * them, hence a bin (with heavy ties some bins stay empty). The bins depend on the ranks alone,
 * so the estimate is exactly invariant to any strictly increasing map of either side.
 *
 * Plug-in: with counts c_ij (cells), a_i, b_j (margins),
 *
 *   Î_plug = Σ_ij (c_ij / n) log(n c_ij / (a_i b_j)) = Ĥ(X) + Ĥ(Y) − Ĥ(X, Y).
 *
 * Miller–Madow: the plug-in entropy of a multinomial with m occupied cells is low by (m − 1)/(2n)
 * to first order (Miller 1955); correcting each of the three entropies gives
 *
 *   Î_MM = Î_plug − (m_xy − m_x − m_y + 1) / (2n).
 *
 * Under independence with every cell occupied this subtracts (B − 1)²/(2n), the mean of Î_plug
 * (2n Î_plug is the G statistic, χ² with (B − 1)² degrees of freedom), so Î_MM ≈ 0 there, with
 * spread √(2 (B − 1)²) / (2n). What it estimates is the MI of the binned variables, which by the
 * data-processing inequality is at most I(X; Y): under dependence the estimate is low by the
 * discretisation loss (0.040 nats for a ρ = 0.9 Gaussian with B = 22, the default at n = 10 000,
 * against an exact I of 0.830 nats; 0.075 at B = 13, n = 2000), which shrinks as B grows. Under
 * strong dependence Miller–Madow under-corrects a little (cells of probability ~1/n go unseen and
 * uncounted): measured over 200 seeds at ρ = 0.9, +0.0049 nats at n = 2000 and +0.0026 at
 * n = 10 000 above the binned MI, about a quarter of a standard error.
 *
 * Standard error: the delta method on the multinomial, Var(Î) ≈ (Σ p_ij L_ij² − Î²) / n with L_ij =
 * log(p_ij / (p_i p_j)) at the sample frequencies. It is first order (zero at independence, where
 * the true spread is the χ² one above), and it treats the bin edges as fixed whereas quantile edges
 * are themselves estimated. Measured over 200 seeds (spread of the estimates ÷ mean reported
 * error, n = 2000 unless said): 1.03 at ρ = 0.9, 1.00 at ρ = 0.9 and n = 10 000, 0.96 at ρ = 0.5,
 * 0.82 at ρ = 0.2, 0.65 under independence: calibrated under clear dependence, conservative near
 * independence (test/binned.test.ts checks the first).
 */
import { InputError } from '@mmmi/cli-kit';
import { checkPairedSamples, timed, type MiEstimate, type MiEstimator, type PairedSamples } from './estimator.js';

export interface BinnedOptions {
  /** Bins per side, an integer in 2 … n (default ⌈n^{1/3}⌉, at least 2). */
  bins?: number;
  /** Apply the Miller–Madow correction (default true); false gives the plug-in. */
  millerMadow?: boolean;
}

/** ⌈n^{1/3}⌉ computed exactly in integers (at least 2). */
export function defaultBins(n: number): number {
  let b = Math.max(1, Math.round(Math.cbrt(n)));
  while (b * b * b < n) b++;
  while (b > 1 && (b - 1) ** 3 >= n) b--;
  return Math.max(2, b);
}

/**
 * Equal-count bin of each of the n values: ⌊r · bins / n⌋ with r the 0-based rank, ties taking the
 * rank of their first. Depends on the order of the values alone.
 */
export function quantileBins(values: Float64Array, bins: number): Int32Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  const bin = new Int32Array(n);
  let first = 0;
  for (let r = 0; r < n; r++) {
    if (r > 0 && values[order[r]] !== values[order[r - 1]]) first = r;
    bin[order[r]] = Math.floor((first * bins) / n);
  }
  return bin;
}

/** The binned estimate of I(X; Y) in nats for dx = dy = 1; see the module notes. */
export function binnedMi(data: PairedSamples, options: BinnedOptions = {}): MiEstimate {
  if (data.dx !== 1 || data.dy !== 1) {
    throw new InputError(
      `the binned estimator takes one-dimensional x and y, got dx = ${data.dx} and dy = ${data.dy}: use the Gaussian or KSG estimator, or project each side to one feature`,
    );
  }
  checkPairedSamples(data, 2);
  const { n } = data;
  const bins = options.bins ?? defaultBins(n);
  if (!Number.isInteger(bins) || bins < 2 || bins > n) throw new InputError(`bins = ${bins}: must be an integer in 2 … n = ${n}`);
  const millerMadow = options.millerMadow ?? true;
  const { value, seconds } = timed(() => {
    const bx = quantileBins(data.x, bins);
    const by = quantileBins(data.y, bins);
    const a = new Float64Array(bins);
    const b = new Float64Array(bins);
    const c = new Float64Array(bins * bins);
    for (let i = 0; i < n; i++) {
      a[bx[i]]++;
      b[by[i]]++;
      c[bx[i] * bins + by[i]]++;
    }
    let plugIn = 0;
    let second = 0;
    let cells = 0;
    for (let i = 0; i < bins; i++)
      for (let j = 0; j < bins; j++) {
        const cij = c[i * bins + j];
        if (cij === 0) continue;
        cells++;
        const l = Math.log((n * cij) / (a[i] * b[j]));
        plugIn += (cij / n) * l;
        second += (cij / n) * l * l;
      }
    const occupiedX = a.reduce((m, v) => m + (v > 0 ? 1 : 0), 0);
    const occupiedY = b.reduce((m, v) => m + (v > 0 ? 1 : 0), 0);
    const correction = -(cells - occupiedX - occupiedY + 1) / (2 * n);
    const variance = Math.max(second - plugIn * plugIn, 0) / n;
    return { plugIn, correction, cells, occupiedX, occupiedY, standardError: Math.sqrt(variance) };
  });
  return {
    estimator: 'binned',
    estimate: value.plugIn + (millerMadow ? value.correction : 0),
    standardError: value.standardError,
    samples: n,
    seconds,
    details: {
      bins,
      occupiedBinsX: value.occupiedX,
      occupiedBinsY: value.occupiedY,
      occupiedCells: value.cells,
      plugIn: value.plugIn,
      millerMadowCorrection: value.correction,
      millerMadow,
    },
  };
}

/** The equal-count binned estimator (1-D x and y); options `{ bins, millerMadow }`. */
export const binned: MiEstimator<BinnedOptions> = { name: 'binned', estimate: (data, options) => binnedMi(data, options) };
