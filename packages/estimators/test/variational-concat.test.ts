/**
 * The concat critic's score matrix is computed without the a·b concatenated rows (its first
 * layer split into its x and y halves): it must equal the MLP applied to every [x_i, y_j]
 * row, which `pairs` computes the plain way, for any depth, including no hidden layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeededRandom } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { disposeCritic, makeCritic } from '../src/variational/critics.js';
import { ensureTrainingBackend } from '../src/variational/backend.js';

describe('concat critic', () => {
  it.each([0, 1, 3])('scores equal the MLP on every concatenated pair (%i hidden layers)', async (layers) => {
    await ensureTrainingBackend();
    const [a, b, dx, dy] = [5, 7, 3, 4];
    const critic = makeCritic({ kind: 'concat', dx, dy, xEncoder: 'mlp', yEncoder: 'mlp', hidden: 8, layers, embedding: 4, channels: [], seed: 3 });
    const r = new SeededRandom(11);
    const x = tf.tensor2d(r.normals(a * dx), [a, dx]);
    const y = tf.tensor2d(r.normals(b * dy), [b, dy]);
    const s = critic.scores(x, y);
    expect(s.shape).toEqual([a, b]);
    const got = s.arraySync();
    // the plain way: each [x_i, y_j] row through the whole MLP
    const xs = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, b, 1]), [a * b, dx]) as tf.Tensor2D;
    const ys = tf.reshape(tf.tile(tf.expandDims(y, 0), [a, 1, 1]), [a * b, dy]) as tf.Tensor2D;
    const plain = critic.pairs(xs, ys).arraySync();
    for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) expect(got[i][j]).toBeCloseTo(plain[i * b + j], 5);
    // the scores are not all alike (the check above could not pass trivially)
    expect(Math.max(...plain) - Math.min(...plain)).toBeGreaterThan(1e-3);
    tf.dispose([x, y, s, xs, ys]);
    disposeCritic(critic);
  });
});
