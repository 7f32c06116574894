import { describe, expect, it } from 'vitest';
import { MAP_KINDS, openModalityMap, resolveModalityMap } from '../src/maps/modality-map.js';
import { TRANSFORMS, transformMap, type TransformName } from '../src/maps/transforms.js';
import { SCALINGS, scaleBatch, type ScalingName } from '../src/scaling.js';

const grid = Float64Array.from({ length: 2001 }, (_, i) => -10 + i / 100);

describe('modality maps', () => {
  it('every transform is a strictly increasing bijection with the inverse it states: a map that keeps the MI exactly', async () => {
    for (const name of Object.keys(TRANSFORMS) as TransformName[]) {
      const map = await openModalityMap({ transform: name });
      expect(map.keepsMiExact).toBe(true);
      expect(map.description).toEqual({ kind: 'transform', name, formula: TRANSFORMS[name].formula });
      expect(map.numClasses).toBeUndefined();
      const y = await map.apply(grid, grid.length, 1, [0]);
      for (let i = 1; i < y.length; i++) expect(y[i]).toBeGreaterThan(y[i - 1]);
      for (let i = 0; i < y.length; i += 50) expect(TRANSFORMS[name].invert(y[i])).toBeCloseTo(grid[i], 9);
      await map.dispose();
    }
    // the closed forms, at a point each
    const at = async (name: TransformName, x: number) => (await transformMap(name).apply(Float64Array.of(x), 1, 1, [0]))[0];
    expect(await at('tanh', 2)).toBeCloseTo(Math.tanh(1), 15);
    expect(await at('cubic', 3)).toBeCloseTo(12, 12);
    expect(await at('identity', -1.5)).toBe(-1.5);
  });

  it('a job resolves its map through MAP_KINDS: a transform is identified by nothing but its name, holds no memory, and opens as transformMap', async () => {
    expect(MAP_KINDS.length).toBeGreaterThanOrEqual(2);
    const resolved = await resolveModalityMap({ transform: 'tanh', checkpointPath: null, flow: {} }, { modDim: 4 });
    expect(resolved.identity).toEqual({ checkpoint: null, recipe: null });
    expect(resolved.holdsMemory).toBe(false);
    expect(resolved.summary).toBe(`transform tanh (${TRANSFORMS.tanh.formula})`);
    const map = await resolved.open({ log: () => {} });
    expect(map.description).toEqual(transformMap('tanh').description);
    expect(Array.from(await map.apply(Float64Array.of(2), 1, 1, [0]))).toEqual([Math.tanh(1)]);
    await map.dispose();
    // a flow checkpoint takes 3×32×32 latents only, refused before the checkpoint is looked for
    await expect(resolveModalityMap({ transform: null, checkpointPath: '/nonexistent.safetensors', flow: {} }, { modDim: 4 })).rejects.toThrow(
      /a flow checkpoint maps 3×32×32 latents \(mod_dim 3072\), this model has mod_dim 4/,
    );
  });

  it('a scaling says whether it keeps the MI exactly, and it does what it says: float is injective, the 8-bit ones are not', () => {
    const injective = (name: ScalingName) =>
      new Set(
        scaleBatch(
          name,
          grid.map((x) => x / 10),
        ),
      ).size === grid.length;
    for (const name of Object.keys(SCALINGS) as ScalingName[]) expect(injective(name)).toBe(SCALINGS[name].keepsMiExact);
    expect(Array.from(scaleBatch('clamp', Float64Array.of(-2, -1, 0, 1, 2)))).toEqual(Array.from(Float32Array.of(0, 0, Math.floor(0.5 * 255) / 255, 1, 1)));
    expect(Array.from(scaleBatch('minmax-batch', Float64Array.of(2, 4, 6)))).toEqual(Array.from(Float32Array.of(0, Math.floor(0.5 * 255) / 255, 1)));
    expect(Array.from(scaleBatch('minmax-batch', Float64Array.of(3, 3)))).toEqual([0, 0]);
    expect(Array.from(scaleBatch('affine', Float64Array.of(-1.25, -1, 0, 1, 1.5)))).toEqual([-0.125, 0, 0.5, 1, 1.25]);
  });

  it('the exact scalings invert to the float32 rounding of their input; the 8-bit ones lose up to a quantisation step', () => {
    const x = grid.map((v) => v / 10);
    for (const name of Object.keys(SCALINGS) as ScalingName[]) {
      const y = scaleBatch(name, x);
      const back = new Float64Array(y.length);
      SCALINGS[name].invert(y, back);
      let err = 0;
      for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) < 1) err = Math.max(err, Math.abs(back[i] - x[i]));
      if (SCALINGS[name].keepsMiExact) expect(err).toBeLessThan(1e-6);
      else expect(err).toBeGreaterThan(1e-3);
    }
  });
});
