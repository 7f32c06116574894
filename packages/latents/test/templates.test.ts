import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { crc32, writeNpySync, writePngSync } from '@mmmi/formats';
import { hasNumpy, runPython, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { latentModelFromTokens } from '../src/model.js';
import { loadTemplates } from '../src/templates.js';

const tmp = tempDir('mmmi-templates-');

function denseOf(set: Awaited<ReturnType<typeof loadTemplates>>, k: number, i: number, d: number): number[] {
  const v = set.vectors[set.index[k][i]];
  return v.kind === 'const' ? new Array(d).fill(v.value) : Array.from(v.data);
}

describe('templates', () => {
  it('ones: one shared constant vector', async () => {
    const t = await loadTemplates({ method: 'ones' }, 2, 3, 5);
    expect(t.vectors).toEqual([{ kind: 'const', value: 1 }]);
    expect(t.index).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });

  it('random: seeded, reproducible, distinct per (k, i)', async () => {
    const a = await loadTemplates({ method: 'random', seed: 3 }, 2, 2, 6);
    const b = await loadTemplates({ method: 'random', seed: 3 }, 2, 2, 6);
    const c = await loadTemplates({ method: 'random', seed: 4 }, 2, 2, 6);
    expect(denseOf(a, 1, 1, 6)).toEqual(denseOf(b, 1, 1, 6));
    expect(denseOf(a, 1, 1, 6)).not.toEqual(denseOf(c, 1, 1, 6));
    expect(new Set(a.index.flat()).size).toBe(4);
  });

  it.skipIf(!hasNumpy())('a .npy file written by NumPy, shape (N_u_theta, d, N), T[k,:,i]', async () => {
    const path = join(tmp, 'T.npy');
    runPython(`import numpy as np; np.save(${JSON.stringify(path)}, (np.arange(2*5*3, dtype=np.float64).reshape(2,5,3) - 3.5) / 8.0)`);
    const t = await loadTemplates({ method: 'npy', path }, 2, 3, 5);
    for (let k = 0; k < 2; k++)
      for (let i = 0; i < 3; i++) {
        const want = Array.from({ length: 5 }, (_, j) => (k * 15 + j * 3 + i - 3.5) / 8);
        denseOf(t, k, i, 5).forEach((v, j) => expect(v).toBe(want[j]));
      }
    const m = await latentModelFromTokens(['--mod_dim', '5', '--N_mod', '3', '--N_u', '3', '--alpha', '1.5', '--N_u_theta', '2', '--T_vectors_method', path]);
    expect(m.structure.vectors.length).toBe(6);
  });

  it('a .npy file of the wrong shape is rejected with the expected shape', async () => {
    const path = join(tmp, 'bad.npy');
    writeNpySync(path, { shape: [1, 4, 2], data: new Float64Array(8) });
    await expect(latentModelFromTokens(['--mod_dim', '5', '--T_vectors_method', path])).rejects.toThrow(
      /array shape \(1, 4, 2\) does not match \(N_u_theta, mod_dim, N_mod\) = \(1, 5, 2\)/,
    );
  });

  it('a folder of images: sorted by name, k-major, channel-first, divided by 255', async () => {
    const dir = join(tmp, 'imgs');
    mkdirSync(dir);
    const names = ['theta0_mod0', 'theta0_mod1', 'theta1_mod0', 'theta1_mod1'];
    names.forEach((n, idx) => {
      const data = new Uint8Array(32 * 32 * 3);
      for (let p = 0; p < 32 * 32; p++) {
        data[p * 3] = idx * 10 + 1; // R
        data[p * 3 + 1] = p % 251; // G varies by pixel
        data[p * 3 + 2] = 200; // B
      }
      writePngSync(join(dir, `${n}.png`), { width: 32, height: 32, data });
    });
    const t = await loadTemplates({ method: 'images', path: dir, convert: false }, 2, 2, 3072);
    for (let k = 0; k < 2; k++)
      for (let i = 0; i < 2; i++) {
        const v = denseOf(t, k, i, 3072);
        expect(v[0]).toBe(((k * 2 + i) * 10 + 1) / 255); // channel R first
        expect(v[1024 + 5]).toBe(5 / 255); // then G, pixel 5
        expect(v[2048]).toBe(200 / 255);
      }
    await expect(loadTemplates({ method: 'images', path: dir, convert: false }, 1, 2, 3072)).rejects.toThrow(/expected N_u_theta·N_mod = 2 images .* found 4/);
  });

  it('images that are not 8-bit RGB (grey, RGBA, 16-bit) are refused, naming the file and its format, unless --convert_templates', async () => {
    /** A minimal PNG (one IDAT, filter 0 on every row) of the given colour type and depth. */
    const png = (colorType: number, depth: number, channels: number, value: number) => {
      const chunk = (type: string, data: Buffer) => {
        const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
        const out = Buffer.alloc(12 + data.length);
        out.writeUInt32BE(data.length, 0);
        body.copy(out, 4);
        out.writeUInt32BE(crc32(body), 8 + data.length);
        return out;
      };
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(32, 0);
      ihdr.writeUInt32BE(32, 4);
      ihdr[8] = depth;
      ihdr[9] = colorType;
      const bytesPerSample = depth / 8;
      const row = Buffer.alloc(1 + 32 * channels * bytesPerSample);
      for (let i = 1; i < row.length; i++) row[i] = value;
      const raw = Buffer.concat(Array.from({ length: 32 }, () => row));
      return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk('IHDR', ihdr),
        chunk('IDAT', deflateSync(raw)),
        chunk('IEND', Buffer.alloc(0)),
      ]);
    };
    for (const [name, colorType, depth, channels, what] of [
      ['grey', 0, 8, 1, '8-bit grey PNG'],
      ['rgba', 6, 8, 4, '8-bit RGBA PNG'],
      ['deep', 2, 16, 3, '16-bit RGB PNG'],
    ] as const) {
      const dir = join(tmp, `imgs-${name}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'a.png'), png(colorType, depth, channels, 128));
      writeFileSync(join(dir, 'b.png'), png(colorType, depth, channels, 64));
      await expect(loadTemplates({ method: 'images', path: dir, convert: false }, 1, 2, 3072)).rejects.toThrow(
        new RegExp(`template image .*a\\.png is a ${what}, not 8-bit RGB: convert it, or pass --convert_templates`),
      );
      const t = await loadTemplates({ method: 'images', path: dir, convert: true }, 1, 2, 3072);
      expect(t.vectors.length).toBe(2);
      // through the argument files too
      await expect(latentModelFromTokens(['--T_vectors_method', dir])).rejects.toThrow(/not 8-bit RGB/);
      await expect(latentModelFromTokens(['--T_vectors_method', dir, '--convert_templates'])).resolves.toBeDefined();
    }
  });

  const anchors = '/work/shared/anchors/templates/galaxy_rot_curve_DAG';
  it.skipIf(!existsSync(anchors))("reads the paper's own template images (shared anchors)", async () => {
    const t = await loadTemplates({ method: 'images', path: anchors, convert: false }, 2, 2, 3072);
    expect(t.index.flat().length).toBe(4);
    for (const v of t.vectors) if (v.kind === 'dense') expect(Math.max(...v.data)).toBeLessThanOrEqual(1);
  });

  it('the committed galaxy templates: two orientations, the same image for both modalities', async () => {
    const { structure } = await latentModelFromTokens(['@../../generation_arguments/galaxy_rot_curve_0_1_DAG.txt']);
    expect(structure.vectors.length).toBe(2);
    expect(structure.columns[0].vector[0]).toBe(structure.columns[0].vector[1]);
    expect(structure.columns[0].vector[0]).not.toBe(structure.columns[1].vector[0]);
  });
});
