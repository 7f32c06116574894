/**
 * The variational estimators behind the package's one interface: each trains a fresh critic
 * with its bound on a training split and returns the bound on the held-out split (./fit.ts),
 * freeing the critic afterwards. They are lower bounds on I(X; Y) for the trained critic, so a
 * weak critic, too few steps or (InfoNCE) a small batch biases them low; the standard error
 * covers the held-out sampling noise only (./evaluate.ts).
 */
import type { MiEstimate, MiEstimator, PairedSamples } from '../estimator.js';
import { fitCritic } from './fit.js';
import type { BoundName, VariationalOptions } from './options.js';

async function estimateWith(bound: BoundName, data: PairedSamples, options: VariationalOptions = {}): Promise<MiEstimate> {
  const fitted = await fitCritic(data, { ...options, bound });
  fitted.dispose();
  return fitted.estimate;
}

function estimator(bound: BoundName): MiEstimator<VariationalOptions> {
  return { name: bound, estimate: (data, options) => estimateWith(bound, data, options) };
}

/** MINE (Belghazi et al. 2018): the Donsker–Varadhan bound, trained with the moving-average bias correction. */
export const mine: MiEstimator<VariationalOptions> = estimator('mine');
/** NWJ (Nguyen, Wainwright, Jordan 2010; Poole et al.'s I_NWJ). */
export const nwj: MiEstimator<VariationalOptions> = estimator('nwj');
/** InfoNCE (van den Oord et al. 2018): at most log of the evaluation batch size. */
export const infonce: MiEstimator<VariationalOptions> = estimator('infonce');
/** SMILE (Song & Ermon 2020): the clipped DV value of a critic trained with the JS objective. */
export const smile: MiEstimator<VariationalOptions> = estimator('smile');

/** The four, by name. */
export const VARIATIONAL_ESTIMATORS: Readonly<Record<BoundName, MiEstimator<VariationalOptions>>> = { mine, nwj, infonce, smile };
