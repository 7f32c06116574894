/**
 * The shipped realism classifier (packages/fid/models): the weights load and reproduce the
 * golden features and logits, the reference file is consistent with them, and scoring
 * clamps. Needs no CIFAR-10 data.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '@mmmi/formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@mmmi/tfjs-runtime';
import { defaultRealismModelDir, goldenDeviation, loadRealismClassifier, REALISM_FILES, type RealismClassifier } from '../../src/realism/classifier.js';
import { readRealismReference, type RealismReference } from '../../src/realism/reference.js';
import { RealismScorer } from '../../src/realism/score.js';
import { realismScore } from '../../src/realism/api.js';

const dir = defaultRealismModelDir();
let classifier: RealismClassifier;
let reference: RealismReference;
let golden: Float32Array;

beforeAll(async () => {
  await selectBackend(undefined, { log: () => {} });
  classifier = await loadRealismClassifier(dir);
  reference = await readRealismReference(dir);
  golden = (await readNpy(join(dir, REALISM_FILES.goldenImages))).data as Float32Array;
});
afterAll(() => classifier?.dispose());

describe('shipped realism classifier', () => {
  it('ships under 10 MB with a model card', () => {
    const files = readdirSync(dir);
    for (const f of Object.values(REALISM_FILES)) expect(files).toContain(f);
    const bytes = files.reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(10 * 1024 * 1024);
  });

  it('reproduces the golden features and logits', async () => {
    expect(await goldenDeviation(classifier, dir)).toBeLessThan(1e-3);
    const logits = (await readNpy(join(dir, REALISM_FILES.goldenLogits))).data as Float32Array;
    const got = classifier.run(golden, golden.length / 3072);
    let scale = 0;
    for (const v of logits) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < logits.length; i++) expect(Math.abs(got.logits[i] - logits[i])).toBeLessThan(1e-3 * scale);
    expect(got.features.length).toBe((golden.length / 3072) * classifier.featureDim);
  });

  it('its reference: 10 000 test images, 1000 per label, predictions agree with the recorded accuracy', () => {
    expect(reference.n).toBe(10000);
    expect(reference.featureDim).toBe(classifier.featureDim);
    const counts = new Array<number>(10).fill(0);
    for (const l of reference.labels) counts[l]++;
    expect(counts).toEqual(new Array<number>(10).fill(1000));
    const acc = reference.predicted.filter((p, i) => p === reference.labels[i]).length / reference.n;
    expect(acc).toBeCloseTo(Number(reference.metadata.test_accuracy), 4);
    expect(acc).toBeGreaterThan(0.75);
  });

  it('the golden images are test images 0–7: their reference rows match (float16) and so do the predictions', () => {
    const n = golden.length / 3072;
    const out = classifier.run(golden, n);
    const d = classifier.featureDim;
    let scale = 0;
    for (let i = 0; i < n * d; i++) scale = Math.max(scale, Math.abs(reference.features[i]));
    for (let i = 0; i < n * d; i++) expect(Math.abs(out.features[i] - reference.features[i])).toBeLessThan(2e-3 * scale);
    expect(Array.from(out.predicted)).toEqual(Array.from(reference.predicted.subarray(0, n)));
  });

  it('scores clamped values as the clamped images, and counts them', () => {
    const n = golden.length / 3072;
    const labels = reference.labels.slice(0, n);
    const scorer = new RealismScorer(classifier, reference);
    const stretched = golden.map((v) => v * 1.1 - 0.05);
    const clamped = stretched.map((v) => Math.min(1, Math.max(0, v)));
    const a = scorer.score(stretched, labels, { floorDraws: 2 });
    const b = scorer.score(clamped, labels, { floorDraws: 2 });
    expect(a.clamped).toBeGreaterThan(0);
    expect(b.clamped).toBe(0);
    expect({ ...a, clamped: 0 }).toEqual(b);
  });

  it('realismScore: the golden images with their true labels score like real images', async () => {
    const n = golden.length / 3072;
    const labels = reference.labels.slice(0, n);
    const s = await realismScore(golden, labels, { seed: 1, floorDraws: 2, scorer: new RealismScorer(classifier, reference) });
    expect(s.n).toBe(n);
    expect(s.fdCls).toBeGreaterThan(0);
    expect(s.floor.draws).toBe(2);
    expect(() => classifier.run(golden.subarray(1), n)).toThrow(/values/);
  });
});
