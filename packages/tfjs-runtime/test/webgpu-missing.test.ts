/**
 * Where no WebGPU adapter opens, `auto` moves on to the next backend with the reason, and a
 * bad MMMI_WEBGPU_BACKENDS is named. The adapter search is narrowed to Dawn's default backend
 * (Vulkan on Linux), which finds nothing on a machine without a Vulkan loader, such as CI;
 * where it does find one, the tests are skipped with the reason. (flow-train's
 * test/webgpu-missing.test.ts checks the CLI's one-line error.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/select.js';
import { discoverAdapters, webGpuProbes } from '../src/webgpu.js';

const previous = process.env.MMMI_WEBGPU_BACKENDS;
process.env.MMMI_WEBGPU_BACKENDS = 'default';
const found = (await discoverAdapters()).filter((r) => r.adapter);
if (found.length) process.stderr.write(`webgpu-missing tests skipped: Dawn's default backend found ${found.map((r) => r.adapter!.device).join(', ')}\n`);

afterAll(() => {
  if (previous === undefined) delete process.env.MMMI_WEBGPU_BACKENDS;
  else process.env.MMMI_WEBGPU_BACKENDS = previous;
});

describe.skipIf(found.length > 0)('no WebGPU adapter', () => {
  it('auto skips webgpu with the reason and takes the next backend', async () => {
    const lines: string[] = [];
    const chosen = await selectBackend('auto', { log: (m) => lines.push(m), label: 't' });
    expect(['tensorflow', 'wasm', 'cpu']).toContain(chosen);
    expect(lines).toContain(lines.find((l) => /^t: tfjs backend webgpu unavailable \(no WebGPU adapter \(default: no adapter\); .*libvulkan1/.test(l)));
  });
});

describe('MMMI_WEBGPU_BACKENDS', () => {
  it('restricts the search in order; an unknown name is an error naming the choices', () => {
    expect(webGpuProbes({ MMMI_WEBGPU_BACKENDS: 'opengl, default' }).map((p) => p.dawnBackend)).toEqual(['default', 'opengl']);
    expect(webGpuProbes({}).map((p) => p.dawnBackend)).toEqual(['default', 'opengles', 'opengl']);
    expect(() => webGpuProbes({ MMMI_WEBGPU_BACKENDS: 'vulkan,opengles' })).toThrow(
      /unknown Dawn backend 'vulkan' \(expected a comma list of default, opengles, opengl\)/,
    );
  });
});
