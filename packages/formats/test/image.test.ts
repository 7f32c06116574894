/** Format detection, JPEG via jpeg-js's encoder, error reporting, channel-first layout. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { decodeImageRgb, detectImageFormat, encodePng, FormatError, readImageRgb, readImageRgbSync, toChannelFirst, type RgbImage } from '../src/index.js';
import { absDiff } from './helpers.js';

function gradient(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      data[p] = Math.round((255 * x) / (width - 1));
      data[p + 1] = Math.round((255 * y) / (height - 1));
      data[p + 2] = 128;
    }
  }
  return { width, height, data };
}

function jpegBytes(img: RgbImage, quality: number): Uint8Array {
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) {
    rgba.set(img.data.subarray(3 * p, 3 * p + 3), 4 * p);
    rgba[4 * p + 3] = 255;
  }
  return jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data;
}

describe('decodeImageRgb', () => {
  const tmp = tempDir('mmmi-formats-image-');
  const img = gradient(40, 24);

  it('decodes a JPEG close to the original (lossy)', () => {
    const back = decodeImageRgb(jpegBytes(img, 100));
    expect([back.width, back.height]).toEqual([40, 24]);
    const { max, mean } = absDiff(back.data, img.data);
    expect(max).toBeLessThanOrEqual(8);
    expect(mean).toBeLessThan(2);
  });

  it('detects the format from magic bytes, not the extension', async () => {
    const pngAsJpg = join(tmp, 'really-a-png.jpg');
    const jpgAsPng = join(tmp, 'really-a-jpeg.png');
    writeFileSync(pngAsJpg, encodePng(img));
    writeFileSync(jpgAsPng, jpegBytes(img, 90));
    expect(detectImageFormat(encodePng(img))).toBe('png');
    expect(detectImageFormat(jpegBytes(img, 90))).toBe('jpeg');
    expect(Buffer.from((await readImageRgb(pngAsJpg)).data).equals(Buffer.from(img.data))).toBe(true);
    expect(readImageRgbSync(jpgAsPng).width).toBe(40);
  });

  it('reports unsupported and corrupt files with the path and cause', () => {
    const check = (name: string, bytes: Uint8Array, re: RegExp) => {
      const p = join(tmp, name);
      writeFileSync(p, bytes);
      let err: unknown;
      try {
        readImageRgbSync(p);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(FormatError);
      expect((err as FormatError).message, name).toContain(p);
      expect((err as FormatError).message, name).toMatch(re);
    };
    const png = encodePng(img);
    const jpg = jpegBytes(img, 90);
    check('gif.png', new TextEncoder().encode('GIF89a....'), /GIF images are not supported; only PNG and JPEG/);
    check('junk.png', Uint8Array.from([1, 2, 3, 4]), /unrecognised magic bytes \[01 02 03 04\]/);
    check('empty.png', new Uint8Array(0), /\(empty file\)/);
    check('cut.png', png.subarray(0, png.length - 30), /invalid PNG/);
    check('header-only.png', png.subarray(0, 20), /invalid PNG/);
    const badCrc = png.slice();
    badCrc[40] ^= 0xff; // inside IDAT
    check('crc.png', badCrc, /invalid PNG/);
    check('cut.jpg', jpg.subarray(0, 200), /invalid JPEG/);
    check('sig-only.jpg', jpg.subarray(0, 3), /invalid JPEG/);
  });

  it('leaves I/O errors alone', async () => {
    await expect(readImageRgb(join(tmp, 'nope.png'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('message without a path says in-memory', () => {
    expect(() => decodeImageRgb(new Uint8Array(2))).toThrow(/^image \(in-memory bytes\): /);
  });
});

describe('toChannelFirst', () => {
  it('lays out C,H,W and scales by 1/255', () => {
    // 2 wide, 1 high: pixels (255,0,51) and (0,102,255)
    const out = toChannelFirst({ width: 2, height: 1, data: Uint8Array.from([255, 0, 51, 0, 102, 255]) });
    expect(Array.from(out)).toEqual([1, 0, 0, 102 / 255, 51 / 255, 1]);
  });

  it('matches index arithmetic on a larger image', () => {
    const img = gradient(5, 3);
    const out = toChannelFirst(img);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 5; x++) expect(out[c * 15 + y * 5 + x]).toBe(img.data[(y * 5 + x) * 3 + c] / 255);
      }
    }
  });

  it('rejects a data length that does not match', () => {
    expect(() => toChannelFirst({ width: 2, height: 2, data: new Uint8Array(3) })).toThrow(/needs 12 bytes/);
  });
});
