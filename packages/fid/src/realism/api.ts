/**
 * The realism score's entry points: open the shipped classifier and reference once
 * ({@link openRealismScorer}), score images in memory ({@link realismScore}) or a labelled
 * source chunk by chunk, together and per modality ({@link scoreLabelledImages}).
 */
import { selectBackend } from '@mmmi/tfjs-runtime';
import { clampUnit, defaultRealismModelDir, loadRealismClassifier } from './classifier.js';
import type { LabelledImageSource } from './input.js';
import { readRealismReference } from './reference.js';
import { RealismScorer, type RealismScore, type ScoreOptions } from './score.js';

export interface OpenScorerOptions {
  /** Folder of the model files (default: the shipped packages/fid/models). */
  modelDir?: string;
  /** tfjs backend (default: keep the active one if any was chosen, else tfjs-runtime's selectBackend('auto')). */
  backend?: string;
  /** Check the golden features on load (default true). */
  verifyGolden?: boolean;
  log?: (message: string) => void;
}

let backendChosen = false;

/** Loads the classifier (golden-checked) and the test-set reference. */
export async function openRealismScorer(options: OpenScorerOptions = {}): Promise<RealismScorer> {
  if (options.backend !== undefined || !backendChosen) {
    await selectBackend(options.backend, { log: options.log ?? (() => {}), label: 'fid realism' });
    backendChosen = true;
  }
  const dir = options.modelDir ?? defaultRealismModelDir();
  const reference = await readRealismReference(dir);
  const classifier = await loadRealismClassifier(dir, { verifyGolden: options.verifyGolden ?? true });
  return new RealismScorer(classifier, reference);
}

export interface RealismScoreOptions extends ScoreOptions, OpenScorerOptions {
  /** An opened scorer to reuse (else one is opened and disposed). */
  scorer?: RealismScorer;
}

/**
 * The realism score of n images, CHW float32 (n, 3, 32, 32) in [0, 1] (values outside are
 * clamped first), with their intended CIFAR-10 labels.
 */
export async function realismScore(images: Float32Array, intendedLabels: Int32Array, options: RealismScoreOptions = {}): Promise<RealismScore> {
  const scorer = options.scorer ?? (await openRealismScorer(options));
  try {
    return scorer.score(images, intendedLabels, options);
  } finally {
    if (!options.scorer) scorer.dispose();
  }
}

export interface SourceScore {
  description: string;
  /** Modalities in the source. */
  modalities: number;
  /** Every image (or, with `modality`, that modality's) with its own label. */
  all: RealismScore;
  /** One score per modality (1-based `modality` field), when the source has more than one and no modality was picked. */
  perModality: { modality: number; score: RealismScore }[];
}

export interface ScoreSourceOptions extends ScoreOptions {
  /** 1-based modality to score alone. */
  modality?: number;
  /** Images per classifier batch (default 500). */
  chunkSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Features of every image of a source, then the score of all of them and of each modality. */
export async function scoreLabelledImages(scorer: RealismScorer, source: LabelledImageSource, options: ScoreSourceOptions = {}): Promise<SourceScore> {
  const m = options.modality;
  if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > source.modalities)) {
    throw new RangeError(`--modality ${m}: the source has modalities 1–${source.modalities}`);
  }
  const dim = scorer.classifier.featureDim;
  const total = source.count;
  const features = new Float32Array(total * dim);
  const predicted = new Int32Array(total);
  const labels = new Int32Array(total);
  const modality = new Int32Array(total);
  let k = 0;
  let clamped = 0;
  const clampedBy: number[] = [];
  let seen = 0;
  for await (const chunk of source.chunks(options.chunkSize ?? 500)) {
    seen += chunk.n;
    const keep: number[] = [];
    for (let i = 0; i < chunk.n; i++) if (m === undefined || chunk.modality[i] === m - 1) keep.push(i);
    if (keep.length > 0) {
      const sel = keep.length === chunk.n ? chunk.images : new Float32Array(keep.length * 3072);
      if (sel !== chunk.images) keep.forEach((i, j) => sel.set(chunk.images.subarray(i * 3072, (i + 1) * 3072), j * 3072));
      const c = clampUnit(sel);
      clamped += c.clamped;
      if (c.clamped > 0) {
        keep.forEach((i, j) => {
          let q = 0;
          for (let v = j * 3072; v < (j + 1) * 3072; v++) if (sel[v] < 0 || sel[v] > 1) q++;
          clampedBy[chunk.modality[i]] = (clampedBy[chunk.modality[i]] ?? 0) + q;
        });
      }
      const out = scorer.classifier.run(c.data, keep.length);
      features.set(out.features, k * dim);
      predicted.set(out.predicted, k);
      keep.forEach((i, j) => {
        labels[k + j] = chunk.labels[i];
        modality[k + j] = chunk.modality[i];
      });
      k += keep.length;
    }
    options.onProgress?.(seen, total);
  }
  const rs = scorer.referenceScorer;
  const pick = (mod: number) => {
    const rows: number[] = [];
    for (let i = 0; i < k; i++) if (modality[i] === mod) rows.push(i);
    const f = new Float32Array(rows.length * dim);
    rows.forEach((r, j) => f.set(features.subarray(r * dim, (r + 1) * dim), j * dim));
    return { f, p: Int32Array.from(rows, (r) => predicted[r]), l: Int32Array.from(rows, (r) => labels[r]) };
  };
  const all = rs.scoreFeatures(features.subarray(0, k * dim), predicted.subarray(0, k), labels.subarray(0, k), { ...options, clamped });
  const perModality: SourceScore['perModality'] = [];
  if (m === undefined && source.modalities > 1) {
    for (let mod = 0; mod < source.modalities; mod++) {
      const { f, p, l } = pick(mod);
      if (l.length > 0) perModality.push({ modality: mod + 1, score: rs.scoreFeatures(f, p, l, { ...options, clamped: clampedBy[mod] ?? 0 }) });
    }
  }
  return { description: source.description, modalities: source.modalities, all, perModality };
}

export { defaultRealismModelDir };
