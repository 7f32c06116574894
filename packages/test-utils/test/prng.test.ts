import { describe, expect, it } from 'vitest';
import { hasPython, mulberry32, runPython, xorshift32 } from '../src/index.js';

/**
 * First outputs of the reference C code, compiled with gcc (uint32_t arithmetic):
 *   mulberry32 (Tommy Ettinger):  z = (state += 0x6D2B79F5); z = (z ^ z >> 15) * (z | 1);
 *                                 z ^= z + (z ^ z >> 7) * (z | 61); return z ^ z >> 14;
 *   xorshift32 (Marsaglia, "Xorshift RNGs", J. Stat. Softw. 8(14), 2003, with his seed
 *   2463534242, whose first output 723471715 the paper's example gives):
 *                                 y ^= y << 13; y ^= y >> 17; return y ^= y << 5;
 */
const MULBERRY32: Record<number, number[]> = {
  0: [1144304738, 1416247, 958946056, 627933444, 2007157716],
  1: [2693262067, 11749833, 2265367787, 4213581821, 4159151403],
  12345: [4207900869, 1317490944, 2079646450, 3513001552, 2187978186],
  0xdeadbeef: [4043151706, 1147597007, 3315858022, 1538288752, 2042435954],
};
const XORSHIFT32: Record<number, number[]> = {
  2463534242: [723471715, 2497366906, 2064144800, 2008045182, 3532304609],
  1: [270369, 67634689, 2647435461, 307599695, 2398689233],
};

const take = (next: () => number, n: number) => Array.from({ length: n }, next);

describe('mulberry32', () => {
  it("gives the reference C code's outputs, divided by 2^32", () => {
    for (const [seed, want] of Object.entries(MULBERRY32)) {
      expect(take(mulberry32(Number(seed)), 5).map((u) => u * 2 ** 32)).toEqual(want);
    }
  });

  it('takes the seed modulo 2^32, and the values are in [0, 1)', () => {
    expect(take(mulberry32(2 ** 32 + 1), 5)).toEqual(take(mulberry32(1), 5));
    expect(take(mulberry32(-1), 3)).toEqual(take(mulberry32(0xffffffff), 3));
    const u = take(mulberry32(9), 10_000);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
  });

  it.skipIf(!hasPython())('agrees with a Python transcription (integer arithmetic) on 2000 outputs of 3 seeds', () => {
    const py = `
import json, sys
M = 0xFFFFFFFF
def mulberry32(seed, n):
    s, out = seed & M, []
    for _ in range(n):
        s = (s + 0x6D2B79F5) & M
        z = ((s ^ (s >> 15)) * (s | 1)) & M
        z = (z ^ (z + (((z ^ (z >> 7)) * (z | 61)) & M))) & M
        out.append(z ^ (z >> 14))
    return out
print(json.dumps({seed: mulberry32(int(seed), 2000) for seed in sys.argv[1:]}))
`;
    const want = JSON.parse(runPython(py, ['7', '42', '4000000000'])) as Record<string, number[]>;
    for (const [seed, values] of Object.entries(want)) expect(take(mulberry32(Number(seed)), 2000).map((u) => u * 2 ** 32)).toEqual(values);
  });
});

describe('xorshift32', () => {
  it("gives Marsaglia's outputs", () => {
    for (const [seed, want] of Object.entries(XORSHIFT32)) expect(take(xorshift32(Number(seed)), 5)).toEqual(want);
  });

  it('refuses the seed 0, a fixed point', () => {
    expect(() => xorshift32(0)).toThrow(/must not be 0/);
    expect(() => xorshift32(2 ** 32)).toThrow(/must not be 0/);
  });
});
