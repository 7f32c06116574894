/**
 * MINDE-C against closed forms.
 *
 *  - The readout alone, fed the exact noise predictors of Gaussian pairs (E[ε | x_λ] and
 *    E[ε | x_λ, y] in closed form), must give −½ Σ log(1 − ρ_j²): this checks the schedule, the
 *    λ range, the importance weight and the Monte Carlo, with no training in the way.
 *  - The log-SNR range matches the VP-SDE's α² and σ² computed directly.
 *  - Trained on Gaussian pairs: a clear share of I at ρ = 0.9, near 0 at independence, the same
 *    estimate (within its error) after a per-coordinate monotone map of each side, and the
 *    other direction ('y|x') alike. Measured (2026-12-07, wasm): see each test's bounds.
 *  - Bad options refused before any tensor is made.
 */
import { InputError } from '@mmmi/cli-kit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTrainingBackend } from '../src/variational/backend.js';
import { minde, mindeReadout, resolveMindeOptions, type NoisePredictor } from '../src/index.js';
import { logSnrAt, logSnrRange } from '../src/diffusion/schedule.js';
import { gaussianPairs, mapped } from './variational-data.js';

const SCHEDULE = { betaMin: 0.1, betaMax: 20, tEpsilon: 1e-3 };
const miOf = (rhos: number[]) => rhos.reduce((s, r) => s - 0.5 * Math.log(1 - r * r), 0);

/** The exact ε-predictors of pairs (x_j, y_j) of unit variance and correlation ρ_j, independent across j. */
function exactPredictor(rhos: number[]): NoisePredictor {
  const rho = tf.tensor1d(rhos);
  return (xt, y, c, lambda) =>
    tf.tidy(() => {
      const a2 = tf.sigmoid(lambda);
      const s2 = tf.sigmoid(tf.neg(lambda));
      const marginal = tf.mul(tf.sqrt(s2), xt); // Var(x_λ) = α² + σ² = 1
      const residual = tf.sub(xt, tf.mul(tf.mul(tf.sqrt(a2), rho), y));
      const conditional = tf.div(tf.mul(tf.sqrt(s2), residual), tf.add(tf.mul(a2, tf.sub(1, tf.square(rho))), s2));
      return tf.add(tf.mul(c, conditional), tf.mul(tf.sub(1, c), marginal)) as tf.Tensor2D;
    });
}

const asRows = (p: { n: number; x: Float64Array; y: Float64Array; dx: number; dy: number }) => ({
  n: p.n,
  d: p.dx,
  m: p.dy,
  x: Float32Array.from(p.x),
  y: Float32Array.from(p.y),
});

beforeAll(async () => {
  await ensureTrainingBackend('wasm');
});

describe('the MINDE readout with exact scores', () => {
  it('integrates over the VP-SDE log-SNR range', () => {
    const { min, max } = logSnrRange(SCHEDULE);
    for (const [t, lambda] of [
      [1, min],
      [1e-3, max],
    ]) {
      const alpha2 = Math.exp(-(0.1 * t + 0.5 * 19.9 * t * t));
      expect(lambda).toBeCloseTo(Math.log(alpha2 / (1 - alpha2)), 10);
    }
    expect(min).toBeCloseTo(-10.05, 2);
    expect(max).toBeCloseTo(9.115, 2);
    expect(logSnrAt(0.5, SCHEDULE)).toBeLessThan(logSnrAt(0.4, SCHEDULE));
  });

  for (const rhos of [[0.5], [0.9], [0.3, 0.6, 0.8]]) {
    it(`gives −½ Σ log(1 − ρ²) at ρ = ${rhos.join(', ')}`, () => {
      const pairs = gaussianPairs(4000, rhos, 11);
      const read = mindeReadout(exactPredictor(rhos), asRows(pairs), logSnrRange(SCHEDULE), 10, 0);
      const truth = miOf(rhos);
      // the range's truncation leaves out < 0.2 % of I at these ρ
      expect(Math.abs(read.estimate - truth)).toBeLessThan(4 * read.standardError + 0.01);
      expect(read.standardError).toBeLessThan(0.05 * truth);
    });
  }

  it('gives 0 when the conditional score is the marginal one', () => {
    const pairs = gaussianPairs(1000, [0.9], 12);
    const read = mindeReadout(exactPredictor([0]), asRows(pairs), logSnrRange(SCHEDULE), 4, 0);
    expect(read.estimate).toBeCloseTo(0, 6);
  });
});

describe('MINDE trained on Gaussian pairs', () => {
  const rho = 0.9;
  const truth = miOf([rho]);
  const data = gaussianPairs(4000, [rho], 5);
  let base: number;

  it('reads a clear share of I(X; Y) = 0.830 at ρ = 0.9, not above it beyond its error', { timeout: 900_000 }, async () => {
    const e = await minde.estimate(data, { steps: 2500 });
    process.stderr.write(
      `minde: ρ = 0.9: ${e.estimate.toFixed(3)} ± ${e.standardError!.toFixed(3)} (I = ${truth.toFixed(3)}), steps ${(e.details as { steps: number }).steps}\n`,
    );
    base = e.estimate;
    expect(e.estimate).toBeGreaterThan(0.75 * truth);
    expect(e.estimate).toBeLessThan(truth + 4 * e.standardError! + 0.03);
  });

  it('is unchanged by a per-coordinate monotone map of each side', { timeout: 900_000 }, async () => {
    const e = await minde.estimate(
      mapped(
        data,
        (v) => v + 0.3 * v ** 3,
        (v) => Math.sinh(v),
      ),
      { steps: 2500 },
    );
    process.stderr.write(`minde: ρ = 0.9 mapped: ${e.estimate.toFixed(3)} ± ${e.standardError!.toFixed(3)} (Gaussian ${base.toFixed(3)})\n`);
    expect(Math.abs(e.estimate - base)).toBeLessThan(0.15);
    expect(e.estimate).toBeLessThan(truth + 4 * e.standardError! + 0.03);
  });

  it('reads near 0 for independent sides, either way round', { timeout: 900_000 }, async () => {
    const e = await minde.estimate(gaussianPairs(4000, [0], 6), { steps: 1500, direction: 'y|x' });
    process.stderr.write(`minde: ρ = 0, y|x: ${e.estimate.toFixed(3)} ± ${e.standardError!.toFixed(3)}\n`);
    expect(e.estimate).toBeLessThan(0.05);
    expect((e.details as { direction: string }).direction).toBe('y|x');
  });
});

describe('MINDE refuses bad options before any work', () => {
  it.each([
    [{ trainFraction: 1 }, /trainFraction = 1/],
    [{ direction: 'x|z' as never }, /direction = 'x\|z'/],
    [{ emaDecay: 1 }, /emaDecay = 1/],
    [{ betaMax: 0.01 }, /betaMax = 0.01 is below betaMin/],
    [{ tEpsilon: 1 }, /tEpsilon = 1/],
    [{ mcSamples: 0 }, /mcSamples = 0/],
    [{ backend: 'gpu-please' }, /backend = 'gpu-please'/],
  ])('%o', (options, message) => {
    expect(() => resolveMindeOptions(options)).toThrow(InputError);
    expect(() => resolveMindeOptions(options)).toThrow(message);
  });

  it('refuses too few rows for the split', async () => {
    await expect(minde.estimate({ n: 5, dx: 1, dy: 1, x: new Float64Array(5), y: new Float64Array(5) }, { trainFraction: 0.8 })).rejects.toThrow(
      /leave 1 held-out rows/,
    );
  });
});
