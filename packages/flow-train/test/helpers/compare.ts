import { expect } from 'vitest';

/** max |a − b| / max |ref| (fails the test on a length mismatch or an all-zero reference). */
export function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(a.length).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}
