/**
 * PNG ↔ 8-bit RGB on top of pngjs, converting the way PIL's `Image.open(p).convert("RGB")`
 * does: alpha is dropped (not composited over a background), grayscale is replicated to
 * three channels, palettes are looked up, 1/2/4-bit gray is scaled to 0..255, and 16-bit
 * samples keep their high byte (PIL's RGB;16B / RGBA;16B / LA;16B unpackers).
 * Known difference: PIL opens 16-bit grayscale without alpha as mode I;16 and its
 * convert("RGB") clips values above 255 to 255; we take the high byte like the other
 * 16-bit modes instead. Gamma/colour-profile chunks are ignored, as PIL does.
 */
import { PNG } from 'pngjs';
import { crc32 } from './crc32.js';
import { checkRgb, type RgbImage } from './rgb.js';

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const COLOR_GRAY = 0;
const COLOR_RGB = 2;

/**
 * pngjs zeroes R, G, B *and* A of pixels matching a tRNS colour key in gray/RGB images,
 * destroying colours that PIL keeps. Since alpha is dropped anyway, remove the chunk.
 * Malformed chunk structure is left for pngjs to report.
 */
function withoutColorKey(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 33) return bytes;
  const colorType = bytes[25];
  if (colorType !== COLOR_GRAY && colorType !== COLOR_RGB) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  let found = false;
  for (let off = 8; off + 12 <= bytes.length;) {
    const end = off + 12 + view.getUint32(off, false);
    if (end > bytes.length) return bytes;
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    if (type === 'tRNS') found = true;
    else keep.push(bytes.subarray(off, end));
    off = end;
    if (type === 'IEND') break;
  }
  return found ? Buffer.concat(keep) : bytes;
}

/**
 * Why the chunk structure of a PNG is broken, in the user's terms, or undefined when it is
 * whole: pngjs reports a truncated file as "There are some read requests waiting on finished
 * stream", which names neither the truncation nor the fix. Checks the signature, that every
 * chunk lies inside the file with a matching CRC-32, and that IEND is reached.
 */
export function pngStructureProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return 'not a PNG file (its first 8 bytes are not the PNG signature)';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 8; ;) {
    if (off + 12 > bytes.length) return `the file is truncated: it ends at byte ${bytes.length} before the IEND chunk (copy it again, or re-export it)`;
    const length = view.getUint32(off, false);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    const end = off + 12 + length;
    if (end > bytes.length)
      return `the file is truncated: its ${type} chunk needs ${end} bytes and the file has ${bytes.length} (copy it again, or re-export it)`;
    const stored = view.getUint32(end - 4, false);
    if (crc32(bytes.subarray(off + 4, end - 4)) !== stored) return `its ${type} chunk at byte ${off} is corrupt (CRC-32 mismatch)`;
    if (type === 'IEND') return undefined;
    off = end;
  }
}

/** Throws on malformed input (the structure in our words, the rest in pngjs's); the caller adds the file name. */
export function decodePngRgb(bytes: Uint8Array): RgbImage {
  const problem = pngStructureProblem(bytes);
  if (problem) throw new Error(problem);
  const input = withoutColorKey(bytes);
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  // skipRescale keeps 16-bit samples as a Uint16Array, so we choose the 8-bit rounding.
  const png = PNG.sync.read(buf, { skipRescale: true });
  const { width, height, depth, colorType } = png;
  const rgba = png.data as Uint8Array | Uint16Array;
  const n = width * height;
  if (rgba.length !== n * 4) throw new Error(`decoded ${rgba.length} samples for a ${width}x${height} image`);
  const shift = rgba instanceof Uint16Array ? 8 : 0;
  // Low-bit gray is raw (0..2^d-1); palette entries are already 8-bit.
  const scale = colorType === COLOR_GRAY && depth < 8 ? 255 / (2 ** depth - 1) : 1;
  const out = new Uint8Array(n * 3);
  for (let p = 0, q = 0; p < n * 4; p += 4, q += 3) {
    out[q] = (rgba[p] >> shift) * scale;
    out[q + 1] = (rgba[p + 1] >> shift) * scale;
    out[q + 2] = (rgba[p + 2] >> shift) * scale;
  }
  return { width, height, data: out };
}

/** 8-bit RGB PNG, no alpha, no metadata chunks; deterministic for identical input. */
export function encodePng(image: RgbImage): Uint8Array {
  checkRgb(image, 'encodePng');
  const { width, height, data } = image;
  const opts = { colorType: COLOR_RGB, inputColorType: COLOR_RGB, inputHasAlpha: false, bitDepth: 8 } as const;
  // pngjs's packer only reads width/height/data from its first argument, so there is no
  // need to build a PNG stream object (which would allocate an RGBA buffer we never use).
  const meta = { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) } as unknown as PNG;
  const bytes = PNG.sync.write(meta, opts);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
