/**
 * Seeded test data of the usual shapes (uniform and normal numbers, integers, bytes, filled
 * Float32Arrays) from one mulberry32 stream, so that tests need not each write out their own
 * Box–Muller and fill loops.
 */
import { mulberry32 } from './prng.js';

export class SeededRandom {
  private readonly next: () => number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.next();
  }

  /**
   * Standard normal, by Box–Muller on two uniforms u1, u2: √(−2 ln(1 − u1))·cos(2π u2), then
   * the same pair's sine on the next call. 1 − u1 is in (0, 1], so the logarithm is finite.
   */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Uniform integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** `n` normal values times `scale`, as float32. */
  normals(n: number, scale = 1): Float32Array {
    return Float32Array.from({ length: n }, () => scale * this.normal());
  }

  /** `n` values uniform on (−bound, bound), as float32. */
  uniforms(n: number, bound: number): Float32Array {
    return Float32Array.from({ length: n }, () => (2 * this.uniform() - 1) * bound);
  }

  /** `n` bytes uniform on 0…255 (the top 8 bits of each draw). */
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => Math.floor(this.uniform() * 256));
  }
}
