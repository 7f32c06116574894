/**
 * Exact marginal whitening in front of another map (SPEC §3b): modality i's latent z_i is
 * fed as w_i = Σ_ii^(−1/2)·z_i, exactly N(0, I_d) for any configuration, which is the noise a
 * flow was trained on. The whitening is a linear bijection of each modality alone, so the
 * composite keeps the MI exactly whenever the inner map does; `Noise` keeps z.
 */
import type { ModalityWhitening } from '@mmmi/latents';
import type { MapInversion, ModalityMap } from './modality-map.js';

export const WHITENING_FORMULA = 'w_i = Σ_ii^(−1/2)·z_i = s⁻¹·(K_ii^(−1/2)·z_i + Q_i·(R_i^(−1/2) − K_ii^(−1/2)·I)·Q_iᵀ·z_i), exactly N(0, I_d) (SPEC §3b)';

/** The manifest's record of the whitening: its formula and, per modality, the variances it undoes. */
export function whiteningDescription(whitenings: readonly ModalityWhitening[]): Record<string, unknown> {
  return {
    kind: 'marginal',
    formula: WHITENING_FORMULA,
    modalities: whitenings.map((w) => ({ span_dim: w.spanDim, off_span_variance: w.offSpanVariance, span_variances: w.spanVariances })),
  };
}

/** Whitens each modality of a batch [count, nMod, d] (a new array). */
export function whitenBatch(whitenings: readonly ModalityWhitening[], x: Float64Array, count: number, nMod: number): Float64Array {
  const d = x.length / (count * nMod);
  const out = new Float64Array(x.length);
  for (let c = 0; c < count; c++) for (let i = 0; i < nMod; i++) whitenings[i].whiten(x, (c * nMod + i) * d, out, (c * nMod + i) * d);
  return out;
}

/** Undoes `whitenBatch`: the latents z that whiten to w. */
export function unwhitenBatch(whitenings: readonly ModalityWhitening[], w: Float64Array, count: number, nMod: number): Float64Array {
  const d = w.length / (count * nMod);
  const out = new Float64Array(w.length);
  for (let c = 0; c < count; c++) for (let i = 0; i < nMod; i++) whitenings[i].unwhiten(w, (c * nMod + i) * d, out, (c * nMod + i) * d);
  return out;
}

/** `inner` fed whitened latents; its description gains `whitening`; its inverse (when `inner` has one) is `inner`'s, then `unwhitenBatch`. */
export function whitenedMap<M extends ModalityMap>(inner: M, whitenings: readonly ModalityWhitening[]): M {
  const innerInvert = inner.invert?.bind(inner);
  return {
    ...inner,
    description: { ...inner.description, formula: `${inner.description.formula}, of the whitened latent`, whitening: whiteningDescription(whitenings) },
    apply: (x: Float64Array, count: number, nMod: number, labels: readonly number[]) =>
      inner.apply(whitenBatch(whitenings, x, count, nMod), count, nMod, labels),
    invert: innerInvert
      ? async (y: Float32Array | Float64Array, count: number, nMod: number, labels: readonly number[]): Promise<MapInversion> => {
          const w = await innerInvert(y, count, nMod, labels);
          return { ...w, x: unwhitenBatch(whitenings, w.x, count, nMod) };
        }
      : undefined,
  };
}
