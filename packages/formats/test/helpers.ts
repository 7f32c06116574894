/**
 * formats' own test helpers. Python is the independent truth for these tests (NumPy for .npy,
 * PIL when present for images, and a standard-library PNG codec in test/py/ otherwise); the
 * interpreter (MMMI_PYTHON, else python3), the probes and runPython come from @mmmi/test-utils.
 */
import { fileURLToPath } from 'node:url';
import { hasNumpy, hasPythonModule, runPythonFile } from '@mmmi/test-utils';

/** Whether the test Python has NumPy and PIL (the image reference). */
export const hasPil = (): boolean => hasNumpy() && hasPythonModule('PIL.Image');

/** Run one of the scripts in test/py/; returns stdout, or throws with Python's stderr. */
export function runPythonScript(name: string, args: readonly string[] = []): string {
  return runPythonFile(fileURLToPath(new URL(`./py/${name}`, import.meta.url)), args);
}

export function hex(bytes: ArrayBufferView): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Largest and mean absolute difference between two equally long byte arrays. */
export function absDiff(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > max) max = d;
    sum += d;
  }
  return { max, mean: a.length ? sum / a.length : 0 };
}

/** Elements of any decoded typed array as a plain array (numbers, or bigints for 64-bit ints). */
export function list(data: ArrayLike<number> | ArrayLike<bigint>): (number | bigint)[] {
  return Array.from(data as ArrayLike<number | bigint>);
}
