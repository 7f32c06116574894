/**
 * Latent MI behind the package's one interface: trains LMI's networks on a training split,
 * returns KSG on the held-out rows' latent codes (./fit.ts) and frees the networks. An
 * approximation from below where the codes lose shared information (data processing
 * inequality), and KSG's own bias in the codes' dimensions on top.
 */
import type { MiEstimate, MiEstimator, PairedSamples } from '../estimator.js';
import { fitLmi } from './fit.js';
import type { LmiOptions } from './options.js';

async function estimateLmi(data: PairedSamples, options: LmiOptions = {}): Promise<MiEstimate> {
  const fitted = await fitLmi(data, options);
  fitted.dispose();
  return fitted.estimate;
}

/** LMI (Gowri et al., NeurIPS 2024): KSG on codes from paired autoencoders with cross-prediction. */
export const lmi: MiEstimator<LmiOptions> = { name: 'lmi', estimate: estimateLmi };
