/**
 * Seeded, platform-independent random numbers: xoshiro128** for bits, the Marsaglia–Tsang
 * ziggurat for standard normals. Only integer ops and IEEE float64 math are used, so the
 * same seed gives the same bytes on every machine. A generator is keyed by (seed, stream)
 * so that independent parts of a job (batch b, templates, alignment draws) each have their
 * own reproducible stream and any batch can be regenerated alone (resumable jobs).
 */

const LAYERS = 128;
const R = 3.442619855899;
const V = 9.91256303526217e-3;
const M1 = 2147483648.0;

const kn = new Uint32Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
(function setupZiggurat() {
  let dn = R;
  let tn = dn;
  const q = V / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * M1);
  kn[1] = 0;
  wn[0] = q / M1;
  wn[LAYERS - 1] = dn / M1;
  fn[0] = 1;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * M1);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / M1;
  }
})();

/** MurmurHash3_x86_32 of 32-bit words with a seed (Appleby's reference, word input). */
function murmur3(words: readonly number[], seed: number): number {
  let h = seed | 0;
  for (const w of words) {
    let k = Math.imul(w | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= words.length * 4;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Unused 7-bit ziggurat layer indices left in the last word drawn for them. */
  private layerBits = 0;
  private layersLeft = 0;

  /** `seed` and `stream` are non-negative integers below 2^53. */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
    if (!Number.isSafeInteger(stream) || stream < 0) throw new RangeError(`stream must be a non-negative integer, got ${stream}`);
    // Each 32-bit word of the state is its own hash of all four words of (seed, stream), so
    // distinct pairs give unrelated states (an earlier chain of xor-then-add collided for
    // pairs differing in two words: seed j, batch b and seed j + 1, batch b ^ 1).
    const words = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, stream >>> 0, Math.floor(stream / 2 ** 32) >>> 0];
    this.a = murmur3(words, 0x9e3779b9);
    this.b = murmur3(words, 0x85ebca6b);
    this.c = murmur3(words, 0xc2b2ae35);
    this.d = murmur3(words, 0x27d4eb2f);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32 random bits as an unsigned integer (xoshiro128**). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform in the open interval (0, 1). */
  uniform(): number {
    return (this.nextU32() + 0.5) / 4294967296;
  }

  /**
   * Layer index and position come from separate words, avoiding the classic ziggurat's
   * correlation between the two; one word supplies four 7-bit layer indices.
   */
  private nextLayer(): number {
    if (this.layersLeft === 0) {
      this.layerBits = this.nextU32();
      this.layersLeft = 4;
    }
    const iz = this.layerBits & (LAYERS - 1);
    this.layerBits >>>= 7;
    this.layersLeft--;
    return iz;
  }

  /** A standard normal draw. */
  normal(): number {
    const hz = this.nextU32() | 0;
    const iz = this.nextLayer();
    if (Math.abs(hz) < kn[iz]) return hz * wn[iz];
    return this.normalSlow(hz, iz);
  }

  private normalSlow(hz: number, iz: number): number {
    for (;;) {
      if (iz === 0) {
        let x: number;
        let y: number;
        do {
          x = -Math.log(this.uniform()) / R;
          y = -Math.log(this.uniform());
        } while (y + y < x * x);
        return hz > 0 ? R + x : -R - x;
      }
      const x = hz * wn[iz];
      if (fn[iz] + this.uniform() * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return x;
      hz = this.nextU32() | 0;
      iz = this.nextLayer();
      if (Math.abs(hz) < kn[iz]) return hz * wn[iz];
    }
  }

  /**
   * Fill `out` with standard normals: the same stream as repeated normal(), with the
   * generator state held in locals on the fast path (about twice as fast).
   */
  fillNormal(out: Float64Array | Float32Array, offset = 0, length = out.length - offset): void {
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    let bits = this.layerBits;
    let left = this.layersLeft;
    for (let i = offset, end = offset + length; i < end; i++) {
      let word = Math.imul(rotl(Math.imul(b, 5), 7), 9);
      let t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      const hz = word | 0;
      if (left === 0) {
        word = Math.imul(rotl(Math.imul(b, 5), 7), 9);
        t = b << 9;
        c ^= a;
        d ^= b;
        b ^= c;
        a ^= d;
        c ^= t;
        d = rotl(d, 11);
        bits = word >>> 0;
        left = 4;
      }
      const iz = bits & (LAYERS - 1);
      bits >>>= 7;
      left--;
      if (Math.abs(hz) < kn[iz]) {
        out[i] = hz * wn[iz];
        continue;
      }
      this.a = a;
      this.b = b;
      this.c = c;
      this.d = d;
      this.layerBits = bits;
      this.layersLeft = left;
      out[i] = this.normalSlow(hz, iz);
      a = this.a;
      b = this.b;
      c = this.c;
      d = this.d;
      bits = this.layerBits;
      left = this.layersLeft;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    this.layerBits = bits;
    this.layersLeft = left;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Streams reserved for the model itself; batch b of job stream j uses {@link batchStream}(b, j). */
export const STREAMS = {
  templates: 1,
  covTheta: 2,
  alignment: 3,
  firstBatch: 1024,
} as const;

/** Batches a job may draw, and job streams, so that streams stay below 2^53. */
export const MAX_BATCHES_PER_JOB = 2 ** 32;
export const MAX_JOB_STREAMS = 2 ** 20;

/**
 * The stream of batch `batchIndex` of job stream `jobStream`:
 *
 *   STREAMS.firstBatch + jobStream · 2^32 + batchIndex
 *
 * so that the shards of a job array (one job id each) draw disjoint streams of one sample
 * seed; job stream 0 is the stream every job used before (the reference's behaviour).
 */
export function batchStream(batchIndex: number, jobStream = 0): number {
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= MAX_BATCHES_PER_JOB)
    throw new RangeError(`batch index must be an integer in [0, 2^32), got ${batchIndex}`);
  if (!Number.isInteger(jobStream) || jobStream < 0 || jobStream >= MAX_JOB_STREAMS)
    throw new RangeError(`job stream must be an integer in [0, ${MAX_JOB_STREAMS}), got ${jobStream}`);
  return STREAMS.firstBatch + jobStream * MAX_BATCHES_PER_JOB + batchIndex;
}

/**
 * A uniformly random permutation of 0 … n − 1 by the Fisher–Yates shuffle, driven by `random`
 * (uniforms on [0, 1): `() => rng.uniform()` for an {@link Rng}, or any seeded generator):
 * for i = n − 1 … 1, swap p[i] with p[j], j = ⌊random()·(i + 1)⌋. The toolkit's one shuffle.
 */
export function permutation(n: number, random: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
