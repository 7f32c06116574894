/**
 * The seeded pseudo-random generators the tests use, written out once: test data must be
 * reproducible from a seed, and must not come from the code under test (the packages have
 * their own generators in src/). Each is named by its algorithm, because some tests depend
 * on the exact stream (e.g. mutation fuzzers that must hit the same cases every run).
 */

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): uniform floats in [0, 1), the 32-bit output
 * divided by 2^32. Any number is a valid seed (taken modulo 2^32).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Marsaglia's xorshift32 (shifts 13, 17, 5): the next 32-bit state as an unsigned integer in
 * [1, 2^32). The seed (modulo 2^32) must not be 0, a fixed point of the recurrence.
 */
export function xorshift32(seed: number): () => number {
  let state = seed >>> 0;
  if (state === 0) throw new RangeError('xorshift32: the seed must not be 0 (mod 2^32), a fixed point');
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}
