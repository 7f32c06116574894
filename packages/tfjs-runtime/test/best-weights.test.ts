/**
 * Early stopping's bookkeeping: the best monitored value keeps a copy of the weights,
 * `patience` evaluations without a better one stop, and restore puts the best weights back
 * (or keeps the last when they are the best); patience 0 never stops and keeps the last.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { BestWeights } from '../src/best-weights.js';

/** Runs the values through a one-variable model whose weight is set to the evaluation's number before each offer. */
function run(values: number[], patience: number, direction: 'max' | 'min') {
  const w = tf.tidy(() => tf.variable(tf.scalar(0)));
  const kept = new BestWeights([w], patience, direction);
  let at = 0;
  for (const v of values) {
    at++;
    tf.tidy(() => w.assign(tf.scalar(at)));
    if (kept.observe(v, at)) break;
  }
  const keptAt = kept.restore(at);
  const weight = w.dataSync()[0];
  kept.dispose();
  w.dispose();
  return { stoppedAt: at, keptAt, weight, stoppedEarly: kept.stoppedEarly };
}

describe('BestWeights', () => {
  it('keeps the highest bound and stops after `patience` evaluations without a better one', () => {
    const before = tf.memory().numTensors;
    expect(run([0.1, 0.5, 0.4, 0.3, 0.6], 2, 'max')).toEqual({ stoppedAt: 4, keptAt: 2, weight: 2, stoppedEarly: true });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the lowest loss; the last evaluation being the best keeps its weights', () => {
    expect(run([3, 2, 1], 2, 'min')).toEqual({ stoppedAt: 3, keptAt: 3, weight: 3, stoppedEarly: false });
    expect(run([3, 2, 2.5, 1.5, 1.8], 3, 'min')).toEqual({ stoppedAt: 5, keptAt: 4, weight: 4, stoppedEarly: false });
  });

  it('with patience 0 never stops and keeps the last weights', () => {
    expect(run([5, 1, 0], 0, 'max')).toEqual({ stoppedAt: 3, keptAt: 3, weight: 3, stoppedEarly: false });
  });
});
