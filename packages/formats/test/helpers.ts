/**
 * Python is the independent truth for these tests (NumPy for .npy, PIL when present for
 * images, and a standard-library PNG codec in test/py/ otherwise). Set MMMI_PYTHON to use
 * an interpreter other than `python3`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.MMMI_PYTHON ?? 'python3';

function pythonCan(code: string): boolean {
  return spawnSync(PYTHON, ['-c', code], { stdio: 'ignore' }).status === 0;
}

export const hasPython = pythonCan('pass');
export const hasNumpy = hasPython && pythonCan('import numpy');
export const hasPil = hasNumpy && pythonCan('import PIL.Image');

function python(args: readonly string[]): string {
  try {
    return execFileSync(PYTHON, args, {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'pipe'],
      // test/py/ imports a helper module; keep __pycache__ out of the source tree
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`python failed: ${err.stderr || err.message}`);
  }
}

/** Run Python source with argv; returns stdout. Fails the test with Python's stderr. */
export function runPython(code: string, args: readonly string[] = []): string {
  return python(['-c', code, ...args]);
}

/** Run one of the scripts in test/py/. */
export function runPythonScript(name: string, args: readonly string[] = []): string {
  return python([fileURLToPath(new URL(`./py/${name}`, import.meta.url)), ...args]);
}

/** A fresh temp folder and its cleanup, for beforeAll/afterAll. */
export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `mmmi-formats-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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
