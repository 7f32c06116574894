/**
 * The rows every command of the harness writes (CSV, JSON, markdown) and plots: one row per
 * measured quantity, beside the exact value the dataset's own description gives.
 */

/** One MI estimate of one pair at one sample size and seed. */
export interface EstimateRow {
  /** The dataset's name (its shards' `dataset_name`). */
  dataset: string;
  /** The modality map as the manifest names it ('identity', 'tanh', a flow checkpoint, …). */
  map: string;
  /** The query, in the MI table's notation, e.g. 'I(X_1; θ)'. */
  pair: string;
  /** Exact MI of the pair, nats. */
  truth: number;
  estimator: string;
  /** What the estimator saw: 'pixels', 'latents', 'pca16', … */
  features: string;
  n: number;
  seed: number;
  /** nats */
  estimate: number;
  standardError: number | null;
  /** estimate − truth, nats */
  bias: number;
  seconds: number;
}

/** One regression of θ from a subset of modalities. */
export interface RegressRow {
  dataset: string;
  map: string;
  /** The modalities regressed on, e.g. 'X_1,X_2'. */
  subset: string;
  /** Exact I(X_S; θ), nats. */
  mi: number;
  /** 'ridge' or 'cnn'. */
  model: string;
  features: string;
  /** Training draws. */
  n: number;
  seed: number;
  testMse: number;
  r2: number;
  /** The Bayes-optimal MSE Var(θ)·exp(−2 I(X_S; θ)) and its R², 1 − exp(−2 I). */
  bayesMse: number;
  bayesR2: number;
  seconds: number;
}

/** An InfoNCE critic's per-sample scores against the exact per-sample PMI. */
export interface PmiRow {
  dataset: string;
  map: string;
  pair: string;
  features: string;
  n: number;
  seed: number;
  pearson: number;
  spearman: number;
  /** Mean exact PMI over the scored samples (≈ the MI), nats. */
  meanPmi: number;
  /** The critic's MI estimate on the same samples, nats. */
  estimate: number;
  seconds: number;
}
