/**
 * The variational estimators behind the package's one interface: each trains a fresh critic
 * with its bound on a training split and returns the bound on the held-out split (./fit.ts),
 * freeing the critic afterwards. The bounds are lower bounds on I(X; Y) for the trained critic, so
 * a weak critic, too few steps or (InfoNCE) a small batch biases them low; the f-DIME read-outs are
 * estimates, not bounds (./dime.ts). The standard error covers the held-out sampling noise only
 * (./evaluate.ts). `protocol: 'training-mean'` gives the benchmark fork's number instead (./training-mean.ts).
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
/** SMILE (Song & Ermon 2020): the clipped DV value of a critic trained with the JS objective (`tau`, Infinity: no clip). */
export const smile: MiEstimator<VariationalOptions> = estimator('smile');
/** JS (Poole et al. 2019's I_JS): a critic trained with the Jensen–Shannon f-GAN objective, read by NWJ shifted by 1 (./bounds.ts). */
export const js: MiEstimator<VariationalOptions> = estimator('js');
/** DV: the Donsker–Varadhan bound trained on its own minibatch value (MINE without the moving-average correction). */
export const dv: MiEstimator<VariationalOptions> = estimator('dv');
/** KL-DIME (Letizia, Novello, Tonello 2024): D = softplus(T) trained on the KL variational objective with derangement negatives; mean log D. */
export const klDime: MiEstimator<VariationalOptions> = estimator('kl-dime');
/** GAN-DIME (same authors): a discriminator trained on the GAN objective with derangement negatives; mean log D/(1 − D). */
export const ganDime: MiEstimator<VariationalOptions> = estimator('gan-dime');
/** HD-DIME (same authors): D = softplus(T) trained on the squared-Hellinger objective with derangement negatives; mean log 1/D². */
export const hdDime: MiEstimator<VariationalOptions> = estimator('hd-dime');

/** All of them, by name (mmmi-bench offers each, and each with a CNN critic as name-cnn). */
export const VARIATIONAL_ESTIMATORS: Readonly<Record<BoundName, MiEstimator<VariationalOptions>>> = {
  mine,
  nwj,
  infonce,
  smile,
  js,
  dv,
  'kl-dime': klDime,
  'gan-dime': ganDime,
  'hd-dime': hdDime,
};
