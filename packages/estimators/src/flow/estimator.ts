/**
 * MIENF behind the package's one interface: `mienf.estimate(data, options)` fits the model
 * (./fit.ts), reads the estimate and frees the model. Use `fitMienf` to keep the model for the
 * pointwise MI.
 */
import type { MiEstimate, MiEstimator, PairedSamples } from '../estimator.js';
import { fitMienf } from './fit.js';
import type { MienfOptions } from './options.js';

async function estimateMienf(data: PairedSamples, options: MienfOptions = {}): Promise<MiEstimate> {
  const fitted = await fitMienf(data, options);
  fitted.dispose();
  return fitted.estimate;
}

/** MIENF (Butakov, Tolmachev, Malanchuk, Neopryatnaya, Frolov, NeurIPS 2024), the tridiagonal-Gaussian-base variant. */
export const mienf: MiEstimator<MienfOptions> = { name: 'mienf', estimate: estimateMienf };
