/**
 * tfjs-backend-cpu's "install our node backend" banner is not printed by a cpu backend made
 * through the runtime's registration, while a cpu backend made outside it still prints it
 * (so the check can see it) and other tfjs warnings still come through.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silenceCpuBanner } from '../src/cpu-banner.js';
import { selectBackend } from '../src/select.js';

const BANNER = /looks like you are running TensorFlow\.js in Node\.js/;

afterEach(() => {
  vi.restoreAllMocks();
});

const warned = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.map((c) => c.map(String).join(' '));

describe('the cpu backend banner', () => {
  it('is not printed on first use of the cpu backend the runtime registers', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await selectBackend('cpu', { log: () => {} })).toBe('cpu');
    const t = tf.tensor([1, 2, 3]);
    expect(Array.from(await t.data())).toEqual([1, 2, 3]);
    t.dispose();
    expect(warned(warn).filter((m) => BANNER.test(m))).toEqual([]);
  });

  it('only the banner: a cpu backend made outside the registration still greets, other warnings still print', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const outside = new MathBackendCPU();
    outside.write(new Float32Array(1), [1], 'float32');
    tf.backend_util.warn('another tfjs warning');
    const lines = warned(warn);
    expect(lines.filter((m) => BANNER.test(m))).toHaveLength(1);
    expect(lines).toContain('another tfjs warning');
    outside.dispose();
  });

  it('is idempotent and quiets an instance that already exists', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    silenceCpuBanner();
    silenceCpuBanner();
    const cpu = tf.engine().registry['cpu'] as MathBackendCPU;
    (cpu as unknown as { firstUse: boolean }).firstUse = true;
    silenceCpuBanner();
    cpu.write(new Float32Array(1), [1], 'float32');
    expect(warned(warn).filter((m) => BANNER.test(m))).toEqual([]);
  });
});
