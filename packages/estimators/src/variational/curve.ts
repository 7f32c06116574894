/**
 * One point of a training curve: what a harness writes to a file to see whether the critic
 * trained (rising, flat, over-fitting: the training bound climbing while the held-out one falls).
 */
export interface CurvePoint {
  /** Adam steps done. */
  step: number;
  /** The bound on the training minibatches, averaged over the steps since the previous point (nats). */
  train: number;
  /**
   * The estimator's value on the monitor rows (the first `monitorBatches` held-out batches) with the
   * critic at this step (nats); NaN under the 'training-mean' protocol, which has no held-out rows.
   */
  heldOut: number;
  /**
   * What early stopping compares, where it is not `heldOut`: for f-DIME the training objective J_f on
   * the monitor rows (its read-out is no bound, ./dime.ts). Absent for the bounds, which monitor `heldOut`.
   */
  monitor?: number;
  /** Seconds since training started. */
  seconds: number;
}
