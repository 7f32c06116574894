/**
 * The package's one deterministic generator (the Krylov solver's random start, KSG's jitter, the
 * critics' splits and minibatches, shuffled by latents' `permutation`):
 * the same numbers on every run and platform.
 */

/** Mulberry32: a small deterministic generator of uniforms on [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
