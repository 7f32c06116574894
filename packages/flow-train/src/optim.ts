/**
 * AdamW exactly as torch.optim.AdamW (decoupled weight decay), and the learning-rate
 * schedule of the paper's trainer.
 *
 *   p ← p·(1 − lr·λ)
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
 *   p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export const PYTORCH_ADAMW_DEFAULTS: AdamWOptions = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 };

export class AdamW {
  /** Completed optimizer steps (PyTorch's per-parameter `step`). */
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly params: ReadonlyMap<string, tf.Variable>,
    readonly options: AdamWOptions,
  ) {
    for (const [name, p] of params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /** One update with learning rate `lr` from the gradients (missing gradient = not updated). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    this.step++;
    const [b1, b2] = this.options.betas;
    const bc1 = 1 - b1 ** this.step;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.step);
    const stepSize = lr / bc1;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      tf.tidy(() => {
        const decayed = tf.mul(p, 1 - lr * this.options.weightDecay);
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), this.options.eps);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
      });
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/**
 * The trainer's `--decay_lr` schedule: torch LinearLR(start_factor 1, end_factor 1e-8/lr,
 * total_iters = epochs), stepped once per epoch: lr·(1 + (end − 1)·min(epoch, total)/total).
 */
export function learningRate(baseLr: number, epoch: number, epochs: number, decay: boolean): number {
  if (!decay) return baseLr;
  const endFactor = 1e-8 / baseLr;
  const progress = Math.min(epoch, epochs) / epochs;
  return baseLr * (1 + (endFactor - 1) * progress);
}
