/**
 * Exponential moving average of the weights, as the paper's trainer keeps it (flow_matching
 * `models/ema.py`): after the n-th optimizer step (n = 1, 2, …)
 *
 *   decay = min(0.999, (1 + n) / (10 + n)),   s ← s − (1 − decay)·(s − p).
 *
 * Evaluation and sampling use the shadow weights s.
 */
import * as tf from '@tensorflow/tfjs-core';

export const EMA_MAX_DECAY = 0.999;

export function emaDecay(updates: number, maxDecay = EMA_MAX_DECAY): number {
  return Math.min(maxDecay, (1 + updates) / (10 + updates));
}

export class Ema {
  updates = 0;
  readonly shadow = new Map<string, tf.Variable>();

  constructor(
    params: ReadonlyMap<string, tf.Tensor>,
    readonly maxDecay = EMA_MAX_DECAY,
  ) {
    for (const [name, p] of params)
      this.shadow.set(
        name,
        tf.tidy(() => tf.variable(tf.clone(p), false)),
      );
  }

  update(params: ReadonlyMap<string, tf.Tensor>): void {
    this.updates++;
    const keep = 1 - emaDecay(this.updates, this.maxDecay);
    for (const [name, s] of this.shadow) {
      const p = params.get(name)!;
      tf.tidy(() => s.assign(tf.sub(s, tf.mul(tf.sub(s, p), keep))));
    }
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
  }
}
