/**
 * One point of a training curve: what a harness writes to a file to see whether the critic
 * trained (rising, flat, over-fitting: the training bound climbing while the held-out one falls).
 */
export interface CurvePoint {
  /** Adam steps done. */
  step: number;
  /** The bound on the training minibatches, averaged over the steps since the previous point (nats). */
  train: number;
  /** The bound on the monitor rows (the first `monitorBatches` held-out batches) with the critic at this step (nats). */
  heldOut: number;
  /** Seconds since training started. */
  seconds: number;
}
