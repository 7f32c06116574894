import { InputError } from '@mmmi/cli-kit';
import { describe, expect, it } from 'vitest';
import { checkPairedSamples, timed } from '../src/estimator.js';

const pair = (n: number, dx: number, dy: number) => ({ n, dx, dy, x: new Float64Array(n * dx), y: new Float64Array(n * dy) });

describe('paired samples', () => {
  it('accepts consistent shapes and refuses the rest, naming the cause', () => {
    expect(() => checkPairedSamples(pair(10, 2, 3))).not.toThrow();
    const cases: [object, RegExp][] = [
      [pair(1, 1, 1), /1 paired samples: at least 2 are needed/],
      [{ ...pair(10, 2, 3), x: new Float64Array(19) }, /x holds 19 values, 10 samples × 2 need 20/],
      [{ ...pair(10, 2, 3), y: new Float64Array(31) }, /y holds 31 values, 10 samples × 3 need 30/],
      [pair(10, 0, 1), /dimensions 0 and 1: each side needs at least one value per sample/],
      [{ ...pair(2, 1, 1), y: Float64Array.of(0, NaN) }, /y\[1\] = NaN: samples must be finite/],
    ];
    for (const [data, message] of cases) {
      expect(() => checkPairedSamples(data as never)).toThrow(InputError);
      expect(() => checkPairedSamples(data as never)).toThrow(message);
    }
    expect(() => checkPairedSamples(pair(5, 1, 1), 6)).toThrow(/5 paired samples: at least 6 are needed/);
  });

  it('timed returns the value and a non-negative duration in seconds', () => {
    const { value, seconds } = timed(() => 42);
    expect(value).toBe(42);
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(60);
  });
});
