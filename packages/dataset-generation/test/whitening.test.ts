/**
 * Whitening in a generation job (SPEC §3b): what the map is fed is Σ_ii^(−1/2)·Noise, the
 * manifest records it, `--whiten off` feeds Noise itself (the reference's bytes), a
 * singular modality is refused before any file is written, and the two settings are two
 * datasets (a rerun with the other one is not taken for a complete shard).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpz } from '@mmmi/formats';
import { marginalWhitening, structureFromDescription } from '@mmmi/latents';
import { tempDir } from '@mmmi/test-utils';
import { generate } from '../src/generate.js';
import type { Manifest } from '../src/manifest.js';

const repo = new URL('../../../', import.meta.url).pathname;
const quiet = { stream: { write: () => true } as unknown as NodeJS.WriteStream };
const tmp = () => tempDir('mmmi-whiten-');
const args = (dir: string, ...extra: string[]) => [
  `@${repo}generation_arguments/simple_fig1_DAG.txt`,
  '--T_vectors_method',
  'random',
  '--rho_theta_arg',
  '[0.6]',
  '--transform',
  'tanh',
  '--dataset_loc',
  dir,
  '--dataset_size',
  '6',
  '--batch_size',
  '4',
  ...extra,
];

async function shard(path: string) {
  const npz = await readNpz(path);
  const manifest = JSON.parse(readFileSync(path.replace(/\.npz$/, '.manifest.json'), 'utf8')) as Manifest;
  return { X: npz.get('X')!.data as Float32Array, Noise: npz.get('Noise')!.data as Float32Array, manifest };
}

describe('whitening in generation', () => {
  it('the map is fed Σ_ii^(−1/2)·Noise (whitening from the manifest), recorded as part of the map; --whiten off feeds Noise', async () => {
    const dir = tmp();
    const on = await shard((await generate(args(dir, '--whiten', 'on', '--dataset_name', 'on'), quiet)).npzPath);
    const off = await shard((await generate(args(dir, '--whiten', 'off', '--dataset_name', 'off'), quiet)).npzPath);
    expect(on.manifest.map.whitening).toMatchObject({ kind: 'marginal' });
    expect(off.manifest.map.whitening).toBeUndefined();
    expect(on.manifest.mi_exact_in_images).toBe(true);
    // the same draws (same seed): Noise keeps the model's latents either way
    expect(Buffer.from(on.Noise.buffer).equals(Buffer.from(off.Noise.buffer))).toBe(true);
    const structure = structureFromDescription(on.manifest.latent.structure as never);
    const whitenings = marginalWhitening(structure);
    const d = 3072;
    const w = new Float64Array(d);
    // Noise is stored as float32: the whitening of the stored value differs from that of the exact one by float32 rounding
    for (let c = 0; c < 6; c++)
      for (let i = 0; i < 2; i++) {
        const off32 = (c * 2 + i) * d;
        whitenings[i].whiten(on.Noise, off32, w, 0);
        for (let t = 0; t < d; t += 97) {
          expect(on.X[off32 + t]).toBeCloseTo(Math.tanh(w[t] / 2), 5);
          expect(off.X[off32 + t]).toBeCloseTo(Math.tanh(off.Noise[off32 + t] / 2), 6);
        }
      }
  });

  it('a rerun with the other setting is another dataset: not skipped as complete, refused without --overwrite', async () => {
    const dir = tmp();
    await generate(args(dir), quiet);
    await expect(generate(args(dir, '--whiten', 'on'), quiet)).rejects.toThrow(/exists and it was made with other arguments.*--overwrite/);
  });

  it('a modality without a local proto-latent is refused before any file is written, naming --whiten off', async () => {
    const dir = join(tmp(), 'out');
    const singular = [...args(dir, '--whiten', 'on'), '--DAG_ul', '[[1],[0]]', '--N_u', '1', '--rho_arg', '[0.9]'];
    await expect(generate(singular, quiet)).rejects.toThrow(/modality 2 cannot be whitened.*--whiten off/);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});
