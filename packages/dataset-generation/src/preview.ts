/**
 * A preview grid of the first samples: one row per modality, one column per draw, each
 * 32×32 RGB tile drawn from the stored values for display only: `clamp` clamps them to
 * [0, 1] (images of a [0, 1] scaling whose exact float values overshoot it a little),
 * `stretch` maps a tile's own min–max onto [0, 1] where its values leave [0, 1] (unbounded
 * transforms); each pixel drawn as a ZOOM×ZOOM block so that 32×32 images can be seen.
 */
import { writePng } from '@mmmi/formats';

const SIDE = 32;
const GAP = 4;
export const PREVIEW_ZOOM = 3;

export async function writePreview(
  path: string,
  x: Float32Array,
  draws: number,
  nMod: number,
  display: 'clamp' | 'stretch' = 'stretch',
  zoom = PREVIEW_ZOOM,
): Promise<void> {
  const tile = SIDE * zoom;
  const width = draws * (tile + GAP) + GAP;
  const height = nMod * (tile + GAP) + GAP;
  const data = new Uint8Array(width * height * 3).fill(255);
  for (let c = 0; c < draws; c++)
    for (let i = 0; i < nMod; i++) {
      const off = (c * nMod + i) * 3 * SIDE * SIDE;
      let min = Infinity;
      let max = -Infinity;
      for (let t = 0; t < 3 * SIDE * SIDE; t++) {
        min = Math.min(min, x[off + t]);
        max = Math.max(max, x[off + t]);
      }
      const inUnit = display === 'clamp' || (min >= 0 && max <= 1);
      const scale = inUnit ? 1 : max > min ? 1 / (max - min) : 0;
      const shift = inUnit ? 0 : min;
      for (let yy = 0; yy < SIDE; yy++)
        for (let xx = 0; xx < SIDE; xx++)
          for (let ch = 0; ch < 3; ch++) {
            const v = (x[off + ch * SIDE * SIDE + yy * SIDE + xx] - shift) * scale;
            const byte = Math.round(255 * Math.min(1, Math.max(0, v)));
            for (let dy = 0; dy < zoom; dy++)
              for (let dx = 0; dx < zoom; dx++) {
                const px = GAP + c * (tile + GAP) + xx * zoom + dx;
                const py = GAP + i * (tile + GAP) + yy * zoom + dy;
                data[(py * width + px) * 3 + ch] = byte;
              }
          }
    }
  await writePng(path, { width, height, data });
}
