/**
 * Seeding of the generator: distinct (seed, stream) pairs must give unrelated generators,
 * also when both differ (the shards of a job array: seed = job id by default, or one seed
 * and a stream per job). The first 64 bits of each generator are compared: a repeat among
 * the 30 000 pairs below would occur with probability ~2.4e-11 for independent 64-bit draws.
 */
import { describe, expect, it } from 'vitest';
import { batchStream, MAX_BATCHES_PER_JOB, MAX_JOB_STREAMS, Rng, STREAMS } from '../src/rng.js';

const head = (seed: number, stream: number) => {
  const r = new Rng(seed, stream);
  return `${r.nextU32()}:${r.nextU32()}`;
};

describe('Rng seeding', () => {
  it('pairs differing in seed and stream give distinct generators', () => {
    const seen = new Map<string, string>();
    const add = (seed: number, stream: number) => {
      const k = head(seed, stream);
      expect(seen.get(k), `seed ${seed}, stream ${stream}`).toBeUndefined();
      seen.set(k, `${seed}/${stream}`);
    };
    // seed = job id, batch streams 1024 + b (the default of a job array before per-job streams)
    for (let seed = 0; seed < 100; seed++) for (let b = 0; b < 100; b++) add(seed, STREAMS.firstBatch + b);
    // one seed, a stream per job and batch (the low and the high word of the stream both change)
    for (let job = 1; job < 100; job++) for (let b = 0; b < 100; b++) add(42, batchStream(b, job));
    // seeds beyond 2^32 (the high word of the seed)
    for (let hi = 1; hi < 100; hi++) for (let b = 0; b < 100; b++) add(hi * 2 ** 32 + 7, STREAMS.firstBatch + b);
    expect(seen.size).toBe(10_000 + 9_900 + 9_900);
  });

  it('the same pair gives the same numbers', () => {
    const a = new Rng(5, batchStream(3, 2));
    const b = new Rng(5, batchStream(3, 2));
    for (let i = 0; i < 10; i++) expect(a.nextU32()).toBe(b.nextU32());
  });
});

describe('batchStream', () => {
  it('is 1024 + job · 2^32 + batch, job stream 0 being the shared one', () => {
    expect(batchStream(0)).toBe(1024);
    expect(batchStream(5, 0)).toBe(1029);
    expect(batchStream(5, 3)).toBe(1024 + 3 * 2 ** 32 + 5);
    expect(Number.isSafeInteger(batchStream(MAX_BATCHES_PER_JOB - 1, MAX_JOB_STREAMS - 1))).toBe(true);
  });

  it('refuses batches and job streams out of range', () => {
    expect(() => batchStream(-1)).toThrow(/batch index/);
    expect(() => batchStream(MAX_BATCHES_PER_JOB)).toThrow(/batch index/);
    expect(() => batchStream(0, MAX_JOB_STREAMS)).toThrow(/job stream must be an integer in \[0, 1048576\)/);
    expect(() => batchStream(0, 1.5)).toThrow(/job stream/);
  });
});
