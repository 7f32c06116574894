/**
 * A small seeded random source for tests (mulberry32 for U[0, 1), Box–Muller for N(0, 1)),
 * independent of the package's own Rng so that test data do not depend on the code under test.
 */
export class TestRandom {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  }

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

  normals(n: number, scale = 1): Float32Array {
    return Float32Array.from({ length: n }, () => scale * this.normal());
  }

  /** Uniform on (−bound, bound). */
  uniforms(n: number, bound: number): Float32Array {
    return Float32Array.from({ length: n }, () => (2 * this.uniform() - 1) * bound);
  }
}
