/**
 * Early stopping on a monitored value, the same in every training loop of the project (the
 * variational critics, LMI's autoencoders, MIENF's flows, the contrastive encoders): after
 * each evaluation the value is offered; a better one (by `better`) keeps a copy of the
 * weights, and `patience` evaluations in a row without one say stop. At the end `restore`
 * puts the best weights back, unless the last evaluation was the best. `patience` 0 never
 * stops and keeps the last weights.
 */
import * as tf from '@tensorflow/tfjs-core';

export class BestWeights {
  private best: number;
  private sinceBest = 0;
  private snapshot: tf.Tensor[] | null = null;
  /** The evaluation (step or epoch) whose weights are kept; 0 before any. */
  keptAt = 0;
  stoppedEarly = false;

  constructor(
    private readonly variables: readonly tf.Variable[],
    private readonly patience: number,
    /** 'max' for a bound (higher is better), 'min' for a loss. */
    private readonly direction: 'max' | 'min',
  ) {
    this.best = direction === 'max' ? -Infinity : Infinity;
  }

  /** Offers the monitored value at evaluation `at`; true when training should stop. */
  observe(value: number, at: number): boolean {
    if (this.patience <= 0) return false;
    if (this.direction === 'max' ? value > this.best : value < this.best) {
      this.best = value;
      this.keptAt = at;
      this.sinceBest = 0;
      this.snapshot?.forEach((t) => t.dispose());
      this.snapshot = this.variables.map((v) => tf.clone(v));
      return false;
    }
    if (++this.sinceBest >= this.patience) this.stoppedEarly = true;
    return this.stoppedEarly;
  }

  /** Puts the kept weights back when they are not the last evaluation's; returns the evaluation whose weights are now in place. */
  restore(last: number): number {
    if (this.snapshot !== null && this.keptAt !== last) this.variables.forEach((v, i) => v.assign(this.snapshot![i]));
    else this.keptAt = last;
    return this.keptAt;
  }

  /** Frees the copy (call in a finally). */
  dispose(): void {
    this.snapshot?.forEach((t) => t.dispose());
    this.snapshot = null;
  }
}
