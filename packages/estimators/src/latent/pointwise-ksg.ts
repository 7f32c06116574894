/**
 * KSG on latent codes, keeping the per-point terms, which LMI reports as pointwise MI (the
 * authors' `ksg.mi` returns them, and the estimate is their mean). With n_x(i), n_y(i) the
 * marginal neighbour counts of point i (see ../neighbours.ts):
 *
 *   variant 1   t_i = ψ(k) + ψ(N) − ψ(n_x(i) + 1) − ψ(n_y(i) + 1)
 *   variant 2   t_i = ψ(k) − 1/k + ψ(N) − ψ(n_x(i)) − ψ(n_y(i))
 *
 * Î = ⟨t⟩ is the KSG estimate, computed by the same ../ksg.ts code from the same neighbours
 * (the package's exact max-norm k-d tree), so the mean of the terms is that estimate exactly.
 * A t_i is a noisy local reading, not PMI(x_i, y_i) itself: it is a difference of digammas of
 * counts, so it scatters around the PMI by about the spread of ψ(n) for a count of n, and only its
 * average over many points is the MI.
 *
 * Preparation, as ../ksg.ts does it: each code column scaled to unit variance (divisor n; a
 * constant column is left alone), then, with jitter > 0, deterministic noise of jitter × the
 * column's sd, uniform on (−1, 1), to break ties (the authors add uniform noise of 10⁻¹⁰).
 */
import { InputError } from '@mmmi/cli-kit';
import type { PairedSamples } from '../estimator.js';
import { ksgFromNeighbours } from '../ksg.js';
import { ksgNeighbours, type KsgVariant } from '../neighbours.js';
import { mulberry32 } from '../random.js';
import { digamma } from '../special.js';

export interface PointwiseKsgOptions {
  k: number;
  variant: KsgVariant;
  /** Scale each column to unit variance first (default true). */
  standardize?: boolean;
  /** Relative amplitude of the tie-breaking noise (default 0). */
  jitter?: number;
  /** Seeds the tie-breaking noise (default 0). */
  seed?: number;
}

export interface PointwiseKsg {
  /** The per-point terms t_i, in the order of the rows given. */
  terms: Float64Array;
  /** ⟨t⟩, nats. */
  estimate: number;
  /** sd(t)/√N: ignores the dependence between the terms (a lower bound on the real sampling error). */
  standardError: number;
}

/** Unit-variance columns (and the noise, if any) of n rows × d; see the module notes. */
function prepareColumns(v: Float64Array, n: number, d: number, standardize: boolean, jitter: number, next: () => number): Float64Array {
  const out = new Float64Array(v.length);
  for (let c = 0; c < d; c++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += v[i * d + c];
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (v[i * d + c] - mean) ** 2;
    const sd = Math.sqrt(ss / n);
    const scale = standardize && sd > 0 ? 1 / sd : 1;
    const noise = jitter * (standardize ? 1 : sd > 0 ? sd : 1);
    for (let i = 0; i < n; i++) {
      const centred = standardize ? (v[i * d + c] - mean) * scale : v[i * d + c];
      out[i * d + c] = noise > 0 ? centred + noise * (2 * next() - 1) : centred;
    }
  }
  return out;
}

/** KSG's estimate with its per-point terms; refuses (InputError) n ≤ k and points whose k-th neighbour is at distance 0. */
export function pointwiseKsg(data: PairedSamples, o: PointwiseKsgOptions): PointwiseKsg {
  const { n, dx, dy } = data;
  if (n <= o.k) throw new InputError(`${n} pairs with k = ${o.k}: KSG needs more pairs than neighbours (n > k)`);
  const next = mulberry32((o.seed ?? 0) ^ 0x3c5a);
  const standardize = o.standardize ?? true;
  const jitter = o.jitter ?? 0;
  const samples: PairedSamples = {
    n,
    dx,
    dy,
    x: prepareColumns(data.x, n, dx, standardize, jitter, next),
    y: prepareColumns(data.y, n, dy, standardize, jitter, next),
  };
  const nb = ksgNeighbours(samples, o.k, o.variant);
  for (let i = 0; i < n; i++)
    if (nb.epsilon[i] === 0)
      throw new InputError(
        `pair ${i} has ${o.k} or more exact duplicates among the latent codes, so KSG's distance to its k-th neighbour is 0: ` +
          'the encoders map distinct inputs to one code (duplicated inputs, or a collapsed code); raise jitter, e.g. 1e-6',
      );
  const psi = new Float64Array(n + 1);
  for (let m = 1; m <= n; m++) psi[m] = digamma(m);
  const shift = o.variant === 1 ? 1 : 0;
  const constant = o.variant === 1 ? psi[o.k] + psi[n] : psi[o.k] - 1 / o.k + psi[n];
  const terms = new Float64Array(n);
  for (let i = 0; i < n; i++) terms[i] = constant - psi[nb.nx[i] + shift] - psi[nb.ny[i] + shift];
  const { estimate, standardError } = ksgFromNeighbours(nb);
  return { terms, estimate, standardError };
}
