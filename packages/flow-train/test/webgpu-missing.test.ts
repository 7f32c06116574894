/**
 * Where no WebGPU adapter opens, `--backend webgpu` fails with one clear line that names
 * what was tried and what to install (exit 2, no stack trace); tfjs-runtime's
 * test/webgpu-missing.test.ts checks `auto` and MMMI_WEBGPU_BACKENDS. The adapter search is narrowed to Dawn's
 * default backend (Vulkan on Linux), which finds nothing on a machine without a Vulkan
 * loader, such as CI; where it does find one, the tests are skipped with the reason.
 */
import { discoverAdapters } from '@mmmi/tfjs-runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';

const previous = process.env.MMMI_WEBGPU_BACKENDS;
process.env.MMMI_WEBGPU_BACKENDS = 'default';
const found = (await discoverAdapters()).filter((r) => r.adapter);
if (found.length) process.stderr.write(`webgpu-missing tests skipped: Dawn's default backend found ${found.map((r) => r.adapter!.device).join(', ')}\n`);

afterAll(() => {
  if (previous === undefined) delete process.env.MMMI_WEBGPU_BACKENDS;
  else process.env.MMMI_WEBGPU_BACKENDS = previous;
});

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe.skipIf(found.length > 0)('no WebGPU adapter', () => {
  it('mmmi-train sample --backend webgpu: exit 2, one line naming the attempts and the install step', async () => {
    const r = await run([
      'sample',
      '--checkpoint',
      'cifar10-small',
      '--n',
      '1',
      '--nfe',
      '2',
      '--engine',
      'tfjs',
      '--backend',
      'webgpu',
      '--out',
      '/nonexistent-never-written/grid.png',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^mmmi-train: error: no usable tfjs backend: webgpu: no WebGPU adapter \(default: no adapter\); a GPU needs its Vulkan driver and the loader \(Debian: libvulkan1/m,
    );
    expect(r.err).not.toMatch(/^\s+at /m);
  });
});
