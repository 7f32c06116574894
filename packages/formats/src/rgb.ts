/** An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC): length height*width*3. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export function checkRgb(image: RgbImage, what: string): void {
  const { width, height, data } = image;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new Error(`${what}: ${width}x${height} RGB needs ${width * height * 3} bytes, data has ${data.length}`);
  }
}
