/**
 * The reference set of the realism score: the classifier's penultimate features (float16),
 * true labels and predicted labels of the 10 000 CIFAR-10 test images, shipped beside the
 * weights so that scoring needs no CIFAR-10 data.
 */
import { join } from 'node:path';
import { float16ToFloat32, float32ToFloat16, readSafetensors, writeSafetensors } from '@mmmi/formats';
import { REALISM_FILES, RealismModelError, defaultRealismModelDir } from './classifier.js';

export interface RealismReference {
  n: number;
  featureDim: number;
  /** n × featureDim, row-major (stored as float16). */
  features: Float32Array;
  /** True CIFAR-10 labels 0–9. */
  labels: Int32Array;
  /** The classifier's argmax on each image. */
  predicted: Int32Array;
  metadata: Record<string, string>;
}

export interface ReferenceInput {
  features: Float32Array;
  featureDim: number;
  labels: Int32Array;
  predicted: Int32Array;
  metadata: Record<string, string>;
}

export async function writeReferenceFiles(dir: string, ref: ReferenceInput): Promise<void> {
  const n = ref.labels.length;
  await writeSafetensors(
    join(dir, REALISM_FILES.reference),
    {
      features: { dtype: 'F16', shape: [n, ref.featureDim], data: float32ToFloat16(ref.features) },
      labels: { dtype: 'I32', shape: [n], data: ref.labels },
      predicted: { dtype: 'I32', shape: [n], data: ref.predicted },
    },
    ref.metadata,
  );
}

export async function readRealismReference(dir = defaultRealismModelDir()): Promise<RealismReference> {
  const file = join(dir, REALISM_FILES.reference);
  let contents;
  try {
    contents = await readSafetensors(file);
  } catch (e) {
    throw new RealismModelError(`realism reference features unreadable: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { tensors, metadata } = contents;
  const f = tensors.get('features');
  const l = tensors.get('labels');
  const p = tensors.get('predicted');
  if (!f || f.dtype !== 'F16' || f.shape.length !== 2) throw new RealismModelError(`${file}: features must be F16 (n, d)`);
  if (!l || l.dtype !== 'I32' || !p || p.dtype !== 'I32') throw new RealismModelError(`${file}: labels and predicted must be I32`);
  const [n, featureDim] = f.shape;
  if (l.shape[0] !== n || p.shape[0] !== n) throw new RealismModelError(`${file}: ${n} feature rows but ${l.shape[0]} labels`);
  return { n, featureDim, features: float16ToFloat32(f.data), labels: l.data, predicted: p.data, metadata };
}
