/**
 * UnsortedSegmentSum (the gradient of gather, i.e. of an embedding lookup), which wasm lacks:
 *
 *   out[s, …] = Σ_{n : ids[n] = s} x[n, …]  =  (oneHot(ids, S)ᵀ · x)[s, …]
 *
 * OneHot, Transpose, one product. Ids outside [0, S) contribute nothing (as in TensorFlow).
 * A non-finite value in x spreads NaN to every segment (0·∞), which only matters once
 * training has diverged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { scoped, sizeOf } from './scope.js';

/** The wasm UnsortedSegmentSum kernel function (exported for tests). */
export const unsortedSegmentSumWasm = scoped((s, { inputs, attrs }) => {
  const x = inputs.x as tf.TensorInfo;
  const segmentIds = inputs.segmentIds as tf.TensorInfo;
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const idRank = segmentIds.shape.length;
  if (x.shape.slice(0, idRank).join(',') !== segmentIds.shape.join(',')) {
    throw new Error(`tfjs-runtime: wasm UnsortedSegmentSum: segmentIds ${JSON.stringify(segmentIds.shape)} must be a prefix of x ${JSON.stringify(x.shape)}`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`tfjs-runtime: wasm UnsortedSegmentSum: unsupported dtype ${x.dtype}`);
  const n = sizeOf(segmentIds.shape);
  const inner = x.shape.slice(idRank);
  const d = sizeOf(inner);
  const outShape = [numSegments, ...inner];
  if (n === 0 || d === 0 || numSegments === 0) return s.run('Fill', {}, { shape: outShape, value: 0, dtype: x.dtype });
  let ids = s.reshape(segmentIds, [n]);
  if (ids.dtype !== 'int32') ids = s.run('Cast', { x: ids }, { dtype: 'int32' });
  // int32, then Cast: wasm's own OneHot writes int32 whatever dtype it is asked for
  const oneHot = s.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' }); // [N, S]
  const oneHotT = s.run('Cast', { x: s.transpose(oneHot, [1, 0]) }, { dtype: 'float32' }); // [S, N]
  let x2 = s.reshape(x, [n, d]);
  if (x2.dtype !== 'float32') x2 = s.run('Cast', { x: x2 }, { dtype: 'float32' });
  let out = s.matMul(oneHotT, x2); // [S, D]
  if (x.dtype === 'int32') out = s.run('Cast', { x: out }, { dtype: 'int32' });
  return s.reshape(out, outShape);
});
