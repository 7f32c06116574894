/**
 * The shipped realism classifier: its files under packages/fid/models/, loading (BatchNorm
 * folded), the golden check, and the forward pass on channel-first images.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { readNpy, readSafetensors, writeSafetensors, type SafetensorsTensor } from '@mmmi/formats';
import { disposeFolded, foldBatchNorm, forwardFolded, parameterSpecs, type FoldedNetwork, type RealismArchitecture } from './model.js';

/** File names inside the model folder. */
export const REALISM_FILES = {
  weights: 'realism-cifar10.safetensors',
  reference: 'realism-cifar10-test-reference.safetensors',
  goldenImages: 'realism-golden-images.npy',
  goldenFeatures: 'realism-golden-features.npy',
  goldenLogits: 'realism-golden-logits.npy',
  card: 'realism-cifar10.md',
} as const;

/** The folder of the shipped files: packages/fid/models (from src/realism or dist/realism). */
export function defaultRealismModelDir(): string {
  return fileURLToPath(new URL('../../models', import.meta.url));
}

/** The model files are missing or do not match the architecture they declare. */
export class RealismModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RealismModelError';
  }
}

export interface ClassifierOutput {
  /** n × featureDim, row-major: the penultimate features. */
  features: Float32Array;
  /** n × 10 logits. */
  logits: Float32Array;
  /** argmax of the logits (the first index on ties). */
  predicted: Int32Array;
}

export interface RealismClassifier {
  readonly arch: RealismArchitecture;
  readonly featureDim: number;
  readonly metadata: Record<string, string>;
  /**
   * Features, logits and predictions of n images, CHW float32 (n, 3, 32, 32) in [0, 1];
   * values outside [0, 1] are clamped (the input is not modified). Runs on the active tfjs backend.
   */
  run(images: Float32Array, n: number, options?: { batchSize?: number }): ClassifierOutput;
  dispose(): void;
}

export interface LoadRealismOptions {
  /** Run the golden images and compare with the shipped golden features (default true). */
  verifyGolden?: boolean;
  /** Absolute tolerance of the golden check, relative to max |feature| (default 1e-3). */
  goldenTolerance?: number;
  /** Accepted but unused here: the reference file is read by readRealismReference. */
  requireReference?: boolean;
}

/** Writes the weights (F32, tfjs layouts: conv HWIO, dense in × out) with the architecture in the metadata. */
export async function saveRealismWeights(
  dir: string,
  arch: RealismArchitecture,
  values: Map<string, Float32Array>,
  metadata: Record<string, string>,
): Promise<void> {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const spec of parameterSpecs(arch)) {
    const data = values.get(spec.name);
    if (!data) throw new Error(`saveRealismWeights: missing ${spec.name}`);
    tensors[spec.name] = { dtype: 'F32', shape: spec.shape, data };
  }
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, REALISM_FILES.weights), tensors, {
    ...metadata,
    architecture: JSON.stringify(arch),
    layout: 'NHWC; conv HWIO; dense in×out',
  });
}

function parseArchitecture(text: string | undefined, file: string): RealismArchitecture {
  let a: unknown;
  try {
    a = JSON.parse(text ?? '');
  } catch {
    throw new RealismModelError(`${file}: no architecture in the safetensors metadata`);
  }
  const o = a as Partial<RealismArchitecture>;
  const ok =
    Array.isArray(o.widths) &&
    o.widths.every((w) => Number.isInteger(w) && w > 0) &&
    Number.isInteger(o.convsPerStage) &&
    Number.isInteger(o.featureDim) &&
    o.classes === 10;
  if (!ok) throw new RealismModelError(`${file}: malformed architecture ${JSON.stringify(a)}`);
  return o as RealismArchitecture;
}

/** Clamps to [0, 1] into a copy; NaN is an error. Returns the copy and how many values were clamped. */
export function clampUnit(images: Float32Array): { data: Float32Array; clamped: number } {
  const data = new Float32Array(images.length);
  let clamped = 0;
  for (let i = 0; i < images.length; i++) {
    const v = images[i];
    if (Number.isNaN(v)) throw new RangeError(`image value ${i} is NaN`);
    if (v < 0) {
      data[i] = 0;
      clamped++;
    } else if (v > 1) {
      data[i] = 1;
      clamped++;
    } else data[i] = v;
  }
  return { data, clamped };
}

/** CHW (n, 3, 32, 32) → NHWC, for rows [start, start + count). */
function chwToNhwc(images: Float32Array, start: number, count: number): Float32Array {
  const out = new Float32Array(count * 3072);
  for (let i = 0; i < count; i++) {
    const s = (start + i) * 3072;
    const d = i * 3072;
    for (let p = 0; p < 1024; p++) {
      out[d + p * 3] = images[s + p];
      out[d + p * 3 + 1] = images[s + 1024 + p];
      out[d + p * 3 + 2] = images[s + 2048 + p];
    }
  }
  return out;
}

class LoadedClassifier implements RealismClassifier {
  readonly featureDim: number;
  constructor(
    readonly arch: RealismArchitecture,
    private readonly net: FoldedNetwork,
    readonly metadata: Record<string, string>,
  ) {
    this.featureDim = arch.featureDim;
  }

  run(images: Float32Array, n: number, options: { batchSize?: number } = {}): ClassifierOutput {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
    if (images.length !== n * 3072) throw new RangeError(`expected ${n}×3×32×32 = ${n * 3072} values, got ${images.length}`);
    const { data } = clampUnit(images);
    const batch = options.batchSize ?? 256;
    const features = new Float32Array(n * this.featureDim);
    const logits = new Float32Array(n * 10);
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(batch, n - s);
      const x = tf.tensor4d(chwToNhwc(data, s, m), [m, 32, 32, 3]);
      const out = forwardFolded(this.net, x);
      features.set(out.features.dataSync() as Float32Array, s * this.featureDim);
      logits.set(out.logits.dataSync() as Float32Array, s * 10);
      tf.dispose([x, out.features, out.logits]);
    }
    const predicted = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
      predicted[i] = best;
    }
    return { features, logits, predicted };
  }

  dispose(): void {
    disposeFolded(this.net);
  }
}

/**
 * Loads the classifier from `dir` (default: the shipped models folder) onto the active tfjs
 * backend and, unless told otherwise, checks that it reproduces the shipped golden features.
 */
export async function loadRealismClassifier(dir = defaultRealismModelDir(), options: LoadRealismOptions = {}): Promise<RealismClassifier> {
  const file = join(dir, REALISM_FILES.weights);
  if (!existsSync(file)) throw new RealismModelError(`realism classifier weights not found: ${file}`);
  const { tensors, metadata } = await readSafetensors(file);
  const arch = parseArchitecture(metadata.architecture, file);
  const values = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(arch)) {
    const t = tensors.get(spec.name);
    if (!t) throw new RealismModelError(`${file}: missing tensor ${spec.name}`);
    if (t.dtype !== 'F32' || t.shape.join(',') !== spec.shape.join(',')) {
      throw new RealismModelError(`${file}: tensor ${spec.name} is ${t.dtype} [${t.shape.join(', ')}], expected F32 [${spec.shape.join(', ')}]`);
    }
    values.set(spec.name, t.data as Float32Array);
  }
  const classifier = new LoadedClassifier(arch, foldBatchNorm(arch, values), metadata);
  if (options.verifyGolden ?? true) {
    try {
      await verifyGolden(classifier, dir, options.goldenTolerance ?? 1e-3);
    } catch (e) {
      classifier.dispose();
      throw e;
    }
  }
  return classifier;
}

/** The largest difference between the golden features recomputed now and the shipped ones, relative to max |feature|. */
export async function goldenDeviation(classifier: RealismClassifier, dir = defaultRealismModelDir()): Promise<number> {
  const images = await readNpy(join(dir, REALISM_FILES.goldenImages));
  const expected = await readNpy(join(dir, REALISM_FILES.goldenFeatures));
  if (images.dtype !== '<f4' || expected.dtype !== '<f4') throw new RealismModelError(`golden files in ${dir} are not float32`);
  const n = images.shape[0];
  const got = classifier.run(images.data as Float32Array, n).features;
  const exp = expected.data as Float32Array;
  if (got.length !== exp.length) throw new RealismModelError(`golden features: ${exp.length} values shipped, ${got.length} computed`);
  let scale = 1e-6;
  for (const v of exp) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < exp.length; i++) worst = Math.max(worst, Math.abs(got[i] - exp[i]) / scale);
  return worst;
}

async function verifyGolden(classifier: RealismClassifier, dir: string, tolerance: number): Promise<void> {
  if (!existsSync(join(dir, REALISM_FILES.goldenImages))) throw new RealismModelError(`golden images not found in ${dir}`);
  const dev = await goldenDeviation(classifier, dir);
  if (!(dev <= tolerance)) {
    throw new RealismModelError(`the realism classifier does not reproduce its golden features (relative deviation ${dev.toExponential(2)} > ${tolerance})`);
  }
}
