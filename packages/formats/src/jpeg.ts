/**
 * JPEG → 8-bit RGB via jpeg-js. Pixel values can differ from PIL/libjpeg by a few
 * levels (different IDCT and chroma upsampling). EXIF orientation is not applied,
 * matching a plain PIL `Image.open`. CMYK/YCCK files are converted by jpeg-js's
 * naive formula.
 */
import jpeg from 'jpeg-js';
import type { RgbImage } from './rgb.js';

export const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** Throws jpeg-js's own Error on malformed input; the caller adds the file name. */
export function decodeJpegRgb(bytes: Uint8Array): RgbImage {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`decoded ${img.data.length} bytes for a ${img.width}x${img.height} image`);
  }
  return { width: img.width, height: img.height, data: img.data };
}
