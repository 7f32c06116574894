/**
 * Image files as 8-bit RGB. The format is taken from the magic bytes, never the file
 * extension, so a mislabelled template still decodes (or fails with a clear reason).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import { FormatError, hexPreview } from './errors.js';
import { decodeJpegRgb, JPEG_SIGNATURE } from './jpeg.js';
import { decodePngRgb, encodePng, PNG_SIGNATURE } from './png.js';
import type { RgbImage } from './rgb.js';

export type { RgbImage } from './rgb.js';
export { encodePng } from './png.js';

export type ImageFormat = 'png' | 'jpeg';

const startsWith = (bytes: Uint8Array, sig: readonly number[]): boolean => bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);

const OTHER_FORMATS: [string, number[]][] = [
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['BMP', [0x42, 0x4d]],
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]],
  ['TIFF', [0x4d, 0x4d, 0x00, 0x2a]],
  ['WebP (RIFF)', [0x52, 0x49, 0x46, 0x46]],
];

export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, JPEG_SIGNATURE)) return 'jpeg';
  return undefined;
}

/** What an image file stores before decoding to 8-bit RGB, and whether decoding changes it. */
export interface ImageSourceKind {
  /** e.g. '8-bit RGB PNG', '16-bit RGBA PNG', '8-bit grey JPEG'. */
  description: string;
  /** 8-bit RGB as stored (or an 8-bit palette of RGB colours): decoding loses and invents nothing. */
  rgb8: boolean;
}

const PNG_KINDS: Record<number, string> = { 0: 'grey', 2: 'RGB', 3: 'palette', 4: 'grey + alpha', 6: 'RGBA' };

/** The stored pixel format of PNG or JPEG bytes (from the PNG header or the JPEG frame header). */
export function imageSourceKind(bytes: Uint8Array): ImageSourceKind | undefined {
  const format = detectImageFormat(bytes);
  if (format === 'png' && bytes.length >= 26) {
    const depth = bytes[24];
    const colorType = bytes[25];
    return { description: `${depth}-bit ${PNG_KINDS[colorType] ?? `colour type ${colorType}`} PNG`, rgb8: depth === 8 && (colorType === 2 || colorType === 3) };
  }
  if (format === 'jpeg') {
    // the first start-of-frame segment (FFC0–FFCF but FFC4, FFC8, FFCC) gives precision and components
    for (let p = 2; p + 9 < bytes.length;) {
      if (bytes[p] !== 0xff) return undefined;
      const marker = bytes[p + 1];
      const length = (bytes[p + 2] << 8) | bytes[p + 3];
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        const precision = bytes[p + 4];
        const components = bytes[p + 9];
        const kind = components === 1 ? 'grey' : components === 3 ? 'colour' : components === 4 ? 'CMYK' : `${components}-component`;
        return { description: `${precision}-bit ${kind} JPEG`, rgb8: precision === 8 && components === 3 };
      }
      p += 2 + length;
    }
  }
  return undefined;
}

/** Decode PNG or JPEG bytes to RGB. `file` only labels error messages. */
export function decodeImageRgb(bytes: Uint8Array, file?: string): RgbImage {
  const format = detectImageFormat(bytes);
  if (format === undefined) {
    const other = OTHER_FORMATS.find(([, sig]) => startsWith(bytes, sig));
    const what = other ? `${other[0]} images are not supported` : `unrecognised magic bytes [${hexPreview(bytes)}]`;
    throw new FormatError('image', file, `${what}; only PNG and JPEG can be read`);
  }
  try {
    return format === 'png' ? decodePngRgb(bytes) : decodeJpegRgb(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new FormatError('image', file, `invalid ${format.toUpperCase()}: ${msg}`, { cause: e });
  }
}

export async function readImageRgb(path: string): Promise<RgbImage> {
  return decodeImageRgb(await readFile(path), path);
}

export function readImageRgbSync(path: string): RgbImage {
  return decodeImageRgb(readFileSync(path), path);
}

/** Write an RGB PNG atomically (temp file in the same folder, then rename). */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  await writeFileAtomic(path, [encodePng(image)]);
}

export function writePngSync(path: string, image: RgbImage): void {
  writeFileAtomicSync(path, [encodePng(image)]);
}

/**
 * Channel-first (C, H, W) float copy scaled to [0, 1] by dividing by 255: the layout and
 * range in which template images enter the generative model (like torchvision's ToTensor).
 */
export function toChannelFirst(image: RgbImage): Float64Array {
  const { width, height, data } = image;
  const plane = width * height;
  if (data.length !== plane * 3) {
    throw new Error(`toChannelFirst: ${width}x${height} RGB needs ${plane * 3} bytes, data has ${data.length}`);
  }
  const out = new Float64Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    out[p] = data[3 * p] / 255;
    out[plane + p] = data[3 * p + 1] / 255;
    out[2 * plane + p] = data[3 * p + 2] / 255;
  }
  return out;
}
