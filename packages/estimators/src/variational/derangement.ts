/**
 * Derangements: permutations σ of {0, …, K−1} with no fixed point (σ(i) ≠ i for every i). f-DIME
 * (Letizia, Novello, Tonello, NeurIPS 2024) builds its K negative pairs of a batch as (x_i, y_σ(i))
 * with σ a derangement, so that no negative is one of the batch's own joint pairs; a plain random
 * permutation leaves on average one y with its own x per batch (E[fixed points] = 1), a joint
 * sample counted as a product-of-marginals one (the paper studies the two choices; its repository,
 * github.com/nicolaNovello/fDIME, shows both on its staircase benchmark).
 *
 *  - {@link randomDerangement}: uniform over all derangements, as the authors draw them (shuffle
 *    until no fixed point; a uniform permutation is a derangement with probability D_K/K! → 1/e,
 *    so e ≈ 2.7 shuffles on average), from the package's seeded generator.
 *  - {@link cyclicDerangement}: i ↦ i + 1 mod K, fixed. The held-out rows are in the seeded
 *    split's random order, so (x_i, y_{i+1}) are already independent draws of p(x)p(y); a fixed
 *    shift keeps the held-out objective deterministic, so that curve points compare the critic,
 *    not the draw of negatives.
 */
import { permutation } from '@mmmi/latents';

/** A uniformly random derangement of K ≥ 2 positions. */
export function randomDerangement(k: number, random: () => number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`a derangement needs at least 2 positions, got ${k}`);
  for (;;) {
    const p = permutation(k, random);
    if (!hasFixedPoint(p)) return p;
  }
}

/** i ↦ (i + 1) mod K. */
export function cyclicDerangement(k: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`a derangement needs at least 2 positions, got ${k}`);
  return Int32Array.from({ length: k }, (_, i) => (i + 1) % k);
}

export function hasFixedPoint(p: ArrayLike<number>): boolean {
  for (let i = 0; i < p.length; i++) if (p[i] === i) return true;
  return false;
}

/** The K×K matrix P with P[i][σ(i)] = 1 (row-major float32): P·E takes row σ(i) of E to row i, with a gradient on every backend. */
export function permutationMatrix(sigma: Int32Array): Float32Array {
  const k = sigma.length;
  const m = new Float32Array(k * k);
  for (let i = 0; i < k; i++) m[i * k + sigma[i]] = 1;
  return m;
}
