/**
 * The webgpu backend's selection on the adapter this machine has. Without a GPU that is
 * Mesa's software renderer through Dawn's OpenGL ES backend (CI installs Mesa; .ci/run):
 * `auto` never takes it, `webgpu` named explicitly does and says so. Where no adapter can be
 * made at all, the tests are skipped with the reason printed. (flow-train's
 * test/webgpu.test.ts runs the UNet on it against cpu.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../src/select.js';
import { openWebGpuAdapter, WebGpuUnavailableError } from '../src/webgpu.js';

let skipReason: string | undefined;
let software = false;
try {
  const opened = await openWebGpuAdapter({ allowSoftware: true });
  software = opened.description.software;
} catch (e) {
  skipReason = e instanceof WebGpuUnavailableError ? e.message : String(e);
  process.stderr.write(`webgpu tests skipped: ${skipReason}\n`);
}

describe.skipIf(skipReason !== undefined || !software)('webgpu on a software adapter', () => {
  it('auto never takes it; the log says why', async () => {
    const lines: string[] = [];
    const chosen = await selectBackend('auto', { log: (m) => lines.push(m), label: 't' });
    expect(chosen).not.toBe('webgpu');
    expect(lines.find((l) => l.startsWith('t: tfjs backend webgpu unavailable'))).toMatch(/no hardware WebGPU adapter .*software adapter/);
    await tf.setBackend('cpu');
  });

  it('named explicitly, it is used and the log line says it is a software adapter', async () => {
    const lines: string[] = [];
    expect(await selectBackend('webgpu', { log: (m) => lines.push(m), label: 't' })).toBe('webgpu');
    expect(lines.at(-1)).toMatch(/^t: tfjs backend webgpu \(.+ software adapter: correct, slower than wasm, for tests\)$/);
    await tf.setBackend('cpu');
  });
});
