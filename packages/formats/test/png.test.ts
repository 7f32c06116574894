/**
 * PNG decoding against an independent standard-library PNG codec (test/py/pngkit.py):
 * every colour type and bit depth, all row filters, Adam7, palettes and colour keys.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasPython, mulberry32, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImageRgb, encodePng, readImageRgb, readImageRgbSync, writePng, writePngSync, type RgbImage } from '../src/index.js';
import { hex, runPythonScript } from './helpers.js';

const ANCHORS = '/work/shared/anchors/templates/galaxy_rot_curve_DAG';

function testImage(width: number, height: number, seed = 1): RgbImage {
  const rand = mulberry32(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    // mostly smooth with some noise, so the encoder's filter choice varies by row
    data[i] = (((i / 3) % width) * 7 + Math.floor(rand() * 16)) & 0xff;
  }
  return { width, height, data };
}

describe.skipIf(!hasPython())('decode PNGs written by an independent encoder', () => {
  const tmp = tempDir('mmmi-formats-png-cases-');
  let cases: Record<string, { png: string; rgb: string; width: number; height: number }> = {};
  beforeAll(() => {
    cases = JSON.parse(runPythonScript('png_cases.py', [tmp]));
  });

  it('covers the colour types, depths and layouts', () => {
    expect(Object.keys(cases).sort()).toEqual(
      [
        'gray1',
        'gray2',
        'gray4',
        'gray8',
        'gray16',
        'rgb8',
        'rgb16',
        'rgba8',
        'rgba16',
        'la8',
        'la16',
        'pal8_trns',
        'pal4',
        'pal1',
        'rgb8_trns',
        'gray8_trns',
        'rgb8_interlaced',
        'gray2_interlaced',
        'rgba16_interlaced',
      ].sort(),
    );
  });

  it('gives exactly the documented RGB bytes for each', () => {
    for (const [name, c] of Object.entries(cases)) {
      const img = readImageRgbSync(c.png);
      expect({ name, width: img.width, height: img.height }).toEqual({ name, width: c.width, height: c.height });
      expect(hex(img.data), name).toBe(readFileSync(c.rgb).toString('hex'));
    }
  });

  it('async reader agrees', async () => {
    const c = cases.rgba16_interlaced;
    expect(hex((await readImageRgb(c.png)).data)).toBe(readFileSync(c.rgb).toString('hex'));
  });
});

describe('encodePng', () => {
  const tmp = tempDir('mmmi-formats-png-enc-');

  it('round-trips through our decoder', () => {
    for (const [w, h] of [
      [1, 1],
      [32, 32],
      [13, 7],
      [200, 3],
    ]) {
      const img = testImage(w, h, w * h);
      const back = decodeImageRgb(encodePng(img));
      expect({ w: back.width, h: back.height }).toEqual({ w, h });
      expect(hex(back.data)).toBe(hex(img.data));
    }
  });

  it('is deterministic and accepts a view into a larger buffer', () => {
    const img = testImage(9, 4);
    const padded = new Uint8Array(img.data.length + 10);
    padded.set(img.data, 5);
    const view = { ...img, data: padded.subarray(5, 5 + img.data.length) };
    expect(hex(encodePng(view))).toBe(hex(encodePng(img)));
  });

  it.skipIf(!hasPython())('is read back exactly by the independent decoder', async () => {
    const files: string[] = [];
    const images: RgbImage[] = [];
    for (const [i, [w, h]] of [
      [32, 32],
      [13, 7],
      [64, 3],
    ].entries()) {
      const img = testImage(w, h, 100 + i);
      const file = join(tmp, `enc${i}.png`);
      if (i % 2) writePngSync(file, img);
      else await writePng(file, img);
      files.push(file);
      images.push(img);
    }
    const got = JSON.parse(runPythonScript('png_decode.py', files)) as Record<string, { width: number; height: number; hex: string }>;
    files.forEach((f, i) => {
      expect(got[f]).toEqual({ width: images[i].width, height: images[i].height, hex: hex(images[i].data) });
    });
    expect(readdirSync(tmp).filter((f) => !f.endsWith('.png'))).toEqual([]);
  });

  it('rejects inconsistent sizes', () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(11) })).toThrow(/needs 12 bytes, data has 11/);
    expect(() => encodePng({ width: 0, height: 2, data: new Uint8Array(0) })).toThrow(/positive integers/);
    expect(() => encodePng({ width: 1.5, height: 2, data: new Uint8Array(9) })).toThrow(/positive integers/);
  });
});

describe.skipIf(!existsSync(ANCHORS))('anchor templates (the paper’s 32×32 palette PNGs)', () => {
  const files = existsSync(ANCHORS)
    ? readdirSync(ANCHORS)
        .filter((f) => f.endsWith('.png'))
        .map((f) => join(ANCHORS, f))
    : [];

  it('decode to 32×32 RGB', async () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const img = await readImageRgb(f);
      expect([img.width, img.height, img.data.length]).toEqual([32, 32, 32 * 32 * 3]);
    }
  });

  it.skipIf(!hasPython())('match the independent decoder exactly', () => {
    const got = JSON.parse(runPythonScript('png_decode.py', files)) as Record<string, { hex: string }>;
    for (const f of files) expect(hex(readImageRgbSync(f).data), f).toBe(got[f].hex);
  });
});

describe('broken PNG files are named for what is wrong with them', () => {
  const whole = encodePng(testImage(8, 8));
  const decodeError = (bytes: Uint8Array) => {
    try {
      decodeImageRgb(bytes, 'a.png');
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('decoded');
  };

  it('a truncated file says so, with its length, at any cut', () => {
    for (const cut of [20, 40, whole.length - 30, whole.length - 4]) expect(decodeError(whole.subarray(0, cut))).toMatch(new RegExp(`truncated.*${cut}`));
  });

  it('a flipped byte is a CRC mismatch of the chunk that holds it; a GIF is named as one', () => {
    const bytes = Uint8Array.from(whole);
    bytes[45] ^= 0xff;
    expect(decodeError(bytes)).toMatch(/IDAT chunk at byte \d+ is corrupt \(CRC-32 mismatch\)/);
    expect(decodeError(new TextEncoder().encode('GIF89a……………………'))).toMatch(/GIF images are not supported/);
  });
});
