/**
 * Sanity check of the shipped realism score on real images: n CIFAR-10 images (seeded
 * sample) with their true labels, from the test split (the reference's own images) and from
 * the training split (images the reference does not hold), each beside its floor.
 *
 *   cd packages/fid && npx tsx scripts/realism-real-check.ts [--data /work/shared/datasets/cifar10-jpeg.tar.gz] [--n 500] [--seed 0]
 */
import { readCifar10 } from '@mmmi/formats';
import { Rng } from '@mmmi/latents';
import { openRealismScorer } from '../src/realism/api.js';
import type { RealismScore } from '../src/realism/score.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const dataPath = opt('data', '/work/shared/datasets/cifar10-jpeg.tar.gz');
const n = Number(opt('n', '500'));
const seed = Number(opt('seed', '0'));

async function sample(split: 'train' | 'test'): Promise<{ images: Float32Array; labels: Int32Array }> {
  const all: { images: Uint8Array; labels: Uint8Array; n: number }[] = [];
  let total = 0;
  for await (const b of readCifar10(dataPath, split)) {
    all.push(b);
    total += b.n;
  }
  const hwc = new Uint8Array(total * 3072);
  const lab = new Int32Array(total);
  let k = 0;
  for (const b of all) {
    hwc.set(b.images, k * 3072);
    lab.set(b.labels, k);
    k += b.n;
  }
  const rng = new Rng(seed, 3);
  const perm = Int32Array.from({ length: total }, (_x, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const images = new Float32Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = perm[i] * 3072;
    labels[i] = lab[perm[i]];
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) images[i * 3072 + c * 1024 + p] = hwc[s + p * 3 + c] / 255;
  }
  return { images, labels };
}

const fmt = (s: RealismScore) =>
  `consistency ${s.consistency.toFixed(3)} (floor ${s.floor.consistency.mean.toFixed(3)} ± ${s.floor.consistency.std.toFixed(3)}), ` +
  `FD-cls ${s.fdCls?.toFixed(2)} (floor ${s.floor.fdCls?.mean.toFixed(2)} ± ${s.floor.fdCls?.std.toFixed(2)}), ` +
  `class-matched FD ${s.fdClassMatched?.toFixed(2)} (floor ${s.floor.fdClassMatched?.mean.toFixed(2)} ± ${s.floor.fdClassMatched?.std.toFixed(2)})`;

const scorer = await openRealismScorer({ log: (m) => process.stderr.write(`${m}\n`) });
for (const split of ['test', 'train'] as const) {
  const { images, labels } = await sample(split);
  const s = scorer.score(images, labels, { seed, floorDraws: 5 });
  process.stdout.write(`${n} real CIFAR-10 ${split} images: ${fmt(s)}\n`);
}
scorer.dispose();
