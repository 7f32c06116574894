import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BACKEND_ORDER, selectBackend } from '../src/select.js';

describe('selectBackend', () => {
  it('activates a named backend and logs the choice', async () => {
    const lines: string[] = [];
    expect(await selectBackend('cpu', { log: (m) => lines.push(m), label: 'fid' })).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toEqual(['fid: tfjs backend cpu']);
  });

  it('auto: takes the first that works in the order tensorflow-gpu, tensorflow, wasm, cpu, logging the skipped ones', async () => {
    const lines: string[] = [];
    const chosen = await selectBackend(undefined, { log: (m) => lines.push(m), label: 'fid' });
    const i = BACKEND_ORDER.indexOf(chosen);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(lines).toHaveLength(i + 1);
    for (const [k, skipped] of BACKEND_ORDER.slice(0, i).entries()) expect(lines[k]).toMatch(new RegExp(`^fid: tfjs backend ${skipped} unavailable \\(.+\\)$`));
    expect(lines[i]).toMatch(new RegExp(`^fid: tfjs backend ${chosen}\\b`));
    expect(tf.getBackend()).toBe(chosen.startsWith('tensorflow') ? 'tensorflow' : chosen);
    // in this repository wasm is a dependency: auto never has to fall back to cpu
    expect(i).toBeLessThanOrEqual(BACKEND_ORDER.indexOf('wasm'));
  });

  it('rejects unknown names, and a named backend that cannot start', async () => {
    await expect(selectBackend('webgl')).rejects.toThrow(/unknown backend 'webgl'/);
    let nodeInstalled = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nodeInstalled = false;
    }
    if (!nodeInstalled) await expect(selectBackend('tensorflow', { log: () => {} })).rejects.toThrow(/no usable tfjs backend: tensorflow: /);
  });
});
