/**
 * Model-free invertible maps, applied elementwise to each modality's latent. Each is a
 * strictly increasing bijection of R onto its image, so every MI of the latents is the MI
 * of the outputs (SPEC §3: MI is invariant under invertible maps of each modality).
 * A new one is one entry of TRANSFORMS (with its inverse, which the tests check).
 */
import type { MapKind, ModalityMap } from './modality-map.js';

export interface Transform {
  /** What the map does, for the manifest and the README. */
  formula: string;
  apply(x: number): number;
  invert(y: number): number;
}

export const TRANSFORMS = {
  identity: { formula: 'y = x', apply: (x: number) => x, invert: (y: number) => y },
  tanh: {
    formula: 'y = tanh(x / 2), onto (−1, 1)',
    apply: (x: number) => Math.tanh(x / 2),
    invert: (y: number) => 2 * Math.atanh(y),
  },
  cubic: {
    formula: 'y = x + x³/3',
    apply: (x: number) => x + (x * x * x) / 3,
    invert: (y: number) => {
      // the real root of x³/3 + x − y = 0 (Cardano; the map is strictly increasing)
      const q = 1.5 * y;
      const s = Math.sqrt(q * q + 1);
      return Math.cbrt(q + s) + Math.cbrt(q - s);
    },
  },
} as const satisfies Record<string, Transform>;

export type TransformName = keyof typeof TRANSFORMS;

export function applyTransform(name: TransformName, values: Float64Array): Float64Array {
  const f = TRANSFORMS[name].apply;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f(values[i]);
  return out;
}

/** The closed-form inverse of a transform, elementwise. */
export function invertTransform(name: TransformName, values: Float64Array | Float32Array): Float64Array {
  const g = TRANSFORMS[name].invert;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = g(values[i]);
  return out;
}

/** A transform as a modality map: instant, exact, no classes; its inverse is the closed form. */
export function transformMap(name: TransformName): ModalityMap {
  const t = TRANSFORMS[name];
  return {
    description: { kind: 'transform', name, formula: t.formula },
    keepsMiExact: true,
    apply: async (x) => applyTransform(name, x),
    invert: async (y) => ({ x: invertTransform(name, y), converged: true }),
    dispose: async () => {},
  };
}

/** `--transform <name>`: instant, holds no memory, identified by its name alone (in the job's arguments). */
export const transformMapKind: MapKind = {
  resolve: (request) => {
    const name = request.transform;
    if (!name) return null;
    return Promise.resolve({
      identity: { checkpoint: null, recipe: null },
      summary: `transform ${name} (${TRANSFORMS[name].formula})`,
      holdsMemory: false,
      open: async () => transformMap(name),
    });
  },
  reopen: (manifest) => {
    if (manifest.map.kind !== 'transform') return null;
    const name = manifest.map.name;
    if (!(name in TRANSFORMS)) return Promise.resolve({ problem: `the manifest's transform '${name}' is not one of ${Object.keys(TRANSFORMS).join(', ')}` });
    return Promise.resolve({ map: transformMap(name as TransformName) });
  },
};
