/**
 * The forward diffusion applied to rows: x_λ = α(λ) x + σ(λ) ε with ε ~ N(0, I), in float32,
 * each row at its own λ. Noise comes from a seeded JavaScript stream, so a seed gives the same
 * draws on every backend.
 */
import { signalAndNoise } from './schedule.js';

/** Paired float32 rows as the denoiser sees them: `x` the diffused side (d values), `y` the condition (m values), row-major. */
export interface DiffusionRows {
  n: number;
  d: number;
  m: number;
  x: Float32Array;
  y: Float32Array;
}

export interface NoisedRows {
  /** x_λ, rows × d. */
  xt: Float32Array;
  /** The ε that made it, rows × d. */
  eps: Float32Array;
}

/** x_λ of each row of `x` (rows × d) at `lambda[row]`, with fresh noise from `normal`. */
export function noiseRows(x: Float32Array, d: number, lambda: Float32Array, normal: () => number): NoisedRows {
  const rows = lambda.length;
  const xt = new Float32Array(rows * d);
  const eps = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const { alpha, sigma } = signalAndNoise(lambda[i]);
    for (let j = i * d; j < (i + 1) * d; j++) {
      const e = normal();
      eps[j] = e;
      xt[j] = alpha * x[j] + sigma * e;
    }
  }
  return { xt, eps };
}
