/**
 * The linear probe and its Bayes bound. On Fig. 1a (θ = η·u, X_i = c_i·1·u + g_i·e_i with
 * e_i ~ N(0, I_d) and all-ones templates) the mean of X_i's d values is sufficient for u, so
 *
 *   Var(θ | X_i) = η² (g_i²/d) / (c_i² + g_i²/d),   Var(θ | X_1, X_2) = η² / (1 + d·Σ_i c_i²/g_i²),
 *
 * closed forms the bound is held to. The probe itself: given the latents (a representation that
 * keeps everything), its test R² reaches the bound within its standard error and does not beat
 * it; given noise, it explains nothing.
 */
import { describe, expect, it } from 'vitest';
import { latentModelFromTokens, sampleBatch, type LatentStructure } from '@mmmi/latents';
import { SeededRandom } from '@mmmi/test-utils';
import { linearProbe } from '../src/contrastive/probe.js';
import { argsFile } from './helpers/tiny-dataset.js';

const D = 16;
// simple_fig1_DAG.txt: η = 1, ρ_θ = 0.3, ρ = [0.1, 0.2], α = β = 1 (so c_i = 0.3, g = [0.1, 0.2])
const ETA = 1;
const C = 0.3;
const G = [0.1, 0.2];

const structure = async (): Promise<LatentStructure> =>
  (await latentModelFromTokens([`@${argsFile('simple_fig1_DAG.txt')}`, '--mod_dim', String(D)])).structure;

/** Draws of the model: θ and modality i's latents (count × d). */
function draws(m: LatentStructure, seed: number, count: number): { theta: Float64Array; x: Float64Array[] } {
  const b = sampleBatch(m, seed, 0, count);
  const x = Array.from({ length: m.nMod }, (_, i) => Float64Array.from({ length: count * D }, (_, k) => b.x[(Math.floor(k / D) * m.nMod + i) * D + (k % D)]));
  return { theta: b.theta, x };
}

describe('linear probe', () => {
  it('reports the closed-form Bayes bound of each modality set', async () => {
    const m = await structure();
    const { theta, x } = draws(m, 1, 200);
    const probe = (mods: number[]) => {
      const features =
        mods.length === 1 ? x[mods[0]] : Float64Array.from({ length: 200 * 2 * D }, (_, k) => x[Math.floor(k / D) % 2][Math.floor(k / (2 * D)) * D + (k % D)]);
      const data = { x: features, p: mods.length * D, theta };
      return linearProbe(m, mods, data, data).bayes;
    };
    for (const i of [0, 1]) {
      const mse = (ETA ** 2 * (G[i] ** 2 / D)) / (C ** 2 + G[i] ** 2 / D);
      const b = probe([i]);
      expect(b.thetaVariance).toBeCloseTo(ETA ** 2, 12);
      expect(b.mse).toBeCloseTo(mse, 12);
      expect(b.r2).toBeCloseTo(1 - mse / ETA ** 2, 12);
      expect(b.mi).toBeCloseTo(-0.5 * Math.log(mse / ETA ** 2), 10);
    }
    const both = probe([0, 1]);
    expect(both.mse).toBeCloseTo(ETA ** 2 / (1 + D * (C ** 2 / G[0] ** 2 + C ** 2 / G[1] ** 2)), 12);
  });

  it('reaches the bound from the latents themselves and never beats it beyond its standard error', async () => {
    const m = await structure();
    for (const seed of [1, 2, 3]) {
      const train = draws(m, 10 + seed, 3000);
      const test = draws(m, 20 + seed, 3000);
      const r = linearProbe(m, [1], { x: train.x[1], p: D, theta: train.theta }, { x: test.x[1], p: D, theta: test.theta });
      // a linear function of X_2 is the Bayes predictor here: R² within 4 SE (+ the λ and n = 3000 fitting error) of it
      expect(r.r2).toBeLessThan(r.bayes.r2 + 4 * r.r2StandardError);
      expect(r.r2).toBeGreaterThan(r.bayes.r2 - 4 * r.r2StandardError - 0.01);
    }
  });

  it('explains nothing from a representation of noise', async () => {
    const m = await structure();
    const train = draws(m, 5, 1000);
    const test = draws(m, 6, 1000);
    const rng = new SeededRandom(4);
    const noise = (n: number) => Float64Array.from({ length: n * 8 }, () => rng.normal());
    const r = linearProbe(m, [0], { x: noise(1000), p: 8, theta: train.theta }, { x: noise(1000), p: 8, theta: test.theta });
    expect(Math.abs(r.r2)).toBeLessThan(0.03);
    expect(r.bayes.r2).toBeGreaterThan(0.9);
  });
});
