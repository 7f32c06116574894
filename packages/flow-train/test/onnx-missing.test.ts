/**
 * Where onnxruntime-node does not load, `auto` uses tfjs and says why, and an explicit
 * `onnx` fails with an EngineError that names the install step (never a stack trace).
 */
import { describe, expect, it, vi } from 'vitest';
import { openEngine, EngineError } from '../src/engine/index.js';
import { buildArchitecture } from '../src/unet/architecture.js';
import { unetConfig } from '../src/unet/config.js';
import { initialParamValues } from '../src/unet/params.js';

vi.mock('onnxruntime-node', () => {
  throw new Error('simulated: onnxruntime-node is not installed');
});

const arch = buildArchitecture(unetConfig('tiny'));
const source = { arch, values: initialParamValues(arch, 1), checkpointSha256: 'e'.repeat(64), weights: 'live' as const };

describe('onnxruntime-node missing', () => {
  it('auto → tfjs with the reason', async () => {
    const messages: string[] = [];
    expect(await openEngine(source, { engine: 'auto', log: (m) => messages.push(m) })).toBeUndefined();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^engine: tfjs, because onnxruntime-node does not load \(/);
  });

  it('onnx → an EngineError naming npm ci', async () => {
    const opening = openEngine(source, { engine: 'onnx', log: () => {}, cacheDir: '/nonexistent-never-written' });
    await expect(opening).rejects.toBeInstanceOf(EngineError);
    await expect(openEngine(source, { engine: 'onnx', log: () => {} })).rejects.toThrow(/onnxruntime-node does not load.*npm ci/);
  });
});
