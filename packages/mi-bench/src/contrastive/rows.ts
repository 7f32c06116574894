/**
 * What the contrastive command measures, one row per grid point × seed × (pair of views, or
 * modality set probed), beside the exact value each is held against.
 */

/** Where on the grid a row was measured. */
export interface PointFields {
  /** The grid point as written, e.g. 'I(X_1; X_2) = 0.5' or the dataset's folder. */
  point: string;
  dataset: string;
  map: string;
  /** The grid's axis: the exact MI of the --targets query (or of the first two views), nats. */
  gridMi: number;
  /** What `gridMi` is, e.g. 'I(X_1; X_2)'. */
  gridQuery: string;
  /** 'cnn' or 'mlp:<features>'. */
  encoder: string;
  /** Training draws (validation draws included). */
  n: number;
  /** Held-out draws, scored. */
  test: number;
  seed: number;
}

/** The learned similarity of a pair of views against the exact per-sample PMI of the same test draws. */
export interface ContrastivePmiRow extends PointFields {
  /** e.g. 'I(X_1; X_2)'. */
  pair: string;
  /** Exact I of the pair, nats. */
  pairMi: number;
  /** Mean exact PMI over the test draws (≈ pairMi), nats. */
  meanPmi: number;
  /** Cosine similarity vs exact PMI. */
  pearsonCosine: number;
  spearmanCosine: number;
  /** InfoNCE-normalised score vs exact PMI. */
  pearsonNormalised: number;
  spearmanNormalised: number;
  /** The InfoNCE bound on the test draws (K = test), nats: ≤ log(test). */
  infonce: number;
  /** Epochs trained, and the epoch whose weights were kept. */
  epochs: number;
  keptEpoch: number;
  seconds: number;
}

/** A linear probe of θ on the frozen representation of a set of views, against the Bayes bound. */
export interface ContrastiveProbeRow extends PointFields {
  /** The views the representation sees, e.g. 'X_1' or '(X_1, X_2)'. */
  subset: string;
  /** Exact I(θ; X_S), nats. */
  miTheta: number;
  testMse: number;
  r2: number;
  r2StandardError: number;
  /** Var(θ)·exp(−2 I(θ; X_S)) and 1 − exp(−2 I(θ; X_S)). */
  bayesMse: number;
  bayesR2: number;
  seconds: number;
}

/** One set of per-draw (exact PMI, similarity) pairs for the scatter figure (seed 0 of a point). */
export interface PmiScatter {
  label: string;
  pmi: number[];
  score: number[];
}

/** Everything one grid point produced: what a rerun reads back instead of redoing it. */
export interface PointResult {
  pmi: ContrastivePmiRow[];
  probe: ContrastiveProbeRow[];
  scatter: PmiScatter[];
  /** Notes for the log and the README (seeds sharing draws, approximate images). */
  notes: string[];
}
