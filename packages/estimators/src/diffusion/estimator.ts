/** MINDE behind the package's one interface (./fit.ts): trains the denoiser, reads the estimate, frees the network. */
import type { MiEstimator } from '../estimator.js';
import { estimateMinde } from './fit.js';
import type { MindeOptions } from './options.js';

/** MINDE-C (Franzese, Bounoua, Michiardi, ICLR 2024): the Girsanov score gap of a conditional diffusion model. */
export const minde: MiEstimator<MindeOptions> = { name: 'minde', estimate: estimateMinde };
