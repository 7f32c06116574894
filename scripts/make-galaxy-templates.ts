/**
 * Make the template images of the galaxy rotation-curve configurations (the paper's Fig. 3a):
 * a synthetic two-armed spiral disc galaxy seen at two orientations, one per θ proto-latent,
 * the same image for both modalities. 32×32 RGB PNGs named theta<k>_mod<i>.png.
 *
 *   npx tsx scripts/make-galaxy-templates.ts [outFolder]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writePng } from '@mmmi/formats';

const SIDE = 32;

/** Surface brightness in R, G, B of a face-on spiral seen at position angle `pa` and inclination `incl`. */
function galaxy(pa: number, incl: number): Uint8Array {
  const out = new Uint8Array(SIDE * SIDE * 3);
  const c = (SIDE - 1) / 2;
  const cosI = Math.cos(incl);
  const pitch = (16 * Math.PI) / 180;
  for (let yy = 0; yy < SIDE; yy++) {
    for (let xx = 0; xx < SIDE; xx++) {
      // Sky coordinates → disc-plane coordinates (rotate by the position angle, stretch the minor axis).
      const dx = xx - c;
      const dy = yy - c;
      const u = dx * Math.cos(pa) + dy * Math.sin(pa);
      const v = (-dx * Math.sin(pa) + dy * Math.cos(pa)) / cosI;
      const r = Math.hypot(u, v) + 1e-9;
      const phi = Math.atan2(v, u);
      const disc = Math.exp(-r / 4.2);
      const arms = 1 + 0.9 * Math.cos(2 * (phi - Math.log(r) / Math.tan(pitch)));
      const bulge = Math.exp(-((r / 1.6) ** 2));
      const edge = r < 14 ? 1 : Math.exp(-(r - 14));
      const blue = edge * disc * arms;
      const rgb = [0.55 * blue + 1.0 * bulge, 0.7 * blue + 0.9 * bulge, 1.25 * blue + 0.6 * bulge];
      for (let ch = 0; ch < 3; ch++) {
        out[(yy * SIDE + xx) * 3 + ch] = Math.max(0, Math.min(255, Math.round(255 * rgb[ch] * 0.8)));
      }
    }
  }
  return out;
}

const folder = process.argv[2] ?? 'generation_arguments/templates/galaxy_rot_curve_DAG';
mkdirSync(folder, { recursive: true });
const orientations = [
  { pa: (25 * Math.PI) / 180, incl: (35 * Math.PI) / 180 },
  { pa: (115 * Math.PI) / 180, incl: (60 * Math.PI) / 180 },
];
for (let k = 0; k < orientations.length; k++) {
  const img = { width: SIDE, height: SIDE, data: galaxy(orientations[k].pa, orientations[k].incl) };
  for (let i = 0; i < 2; i++) await writePng(join(folder, `theta${k}_mod${i}.png`), img);
}
console.log(`wrote ${orientations.length * 2} template images to ${folder}`);
