/**
 * `mmmi-fid realism` — the realism score of labelled images from the command line.
 *
 *   mmmi-fid realism --data <shard.npz | folder of shards | folder of class subfolders>
 *                    [--modality i] [--seed s] [--draws k] [--json]
 *
 * Parses and prints only; the work is in ./api.ts.
 */
import { formatOptionHelp, InputError, parseOptions, runCommand, UsageError, type OptionTable } from '@mmmi/cli-kit';
import { FormatError } from '@mmmi/formats';
import { openRealismScorer, scoreLabelledImages, type SourceScore } from './api.js';
import { RealismModelError } from './classifier.js';
import { openLabelledImages } from './input.js';
import type { RealismScore, Spread } from './score.js';

const REALISM_FLAGS = {
  data: { kind: 'string', valueName: '<path>', help: 'a dataset shard .npz (X, labels), a folder of shards, or a folder of <class>/*.png|jpg' },
  modality: { kind: 'int', min: 1, help: 'score this modality only (1-based, as X1, X2, …)' },
  seed: { kind: 'int', min: 0, default: 0, help: 'seed of the floor’s draws of real test images' },
  draws: { kind: 'int', min: 1, max: 100, default: 5, help: 'redraws of the floor' },
  'batch-size': { kind: 'int', min: 1, default: 500, help: 'images per classifier batch' },
  backend: { kind: 'string', help: 'auto | tensorflow-gpu | webgpu | tensorflow | wasm | cpu (default auto)' },
  'model-dir': { kind: 'string', valueName: '<dir>', help: 'classifier files (default: the shipped packages/fid/models)' },
  json: { kind: 'boolean', help: 'print JSON instead of the table' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

const USAGE = `usage:
  mmmi-fid realism --data <path> [--modality i] [--seed s] [--draws k] [--json]

An offline realism score for 32×32 images with intended CIFAR-10 labels, from a small
CIFAR-10 classifier shipped with this package (packages/fid/models/realism-cifar10.md):

  consistency        fraction of images classified as their intended label
  FD-cls             Fréchet distance of the classifier's penultimate features to those of
                     the 10 000 CIFAR-10 test images
  class-matched FD   the same against the test set reweighted to the input's label mix
  floor              the same numbers for as many real CIFAR-10 test images with the same
                     labels (mean ± sd over --draws seeded redraws): what real images
                     score at that size and label mix

<path>: a dataset shard .npz (X float (n, N, 3, 32, 32), labels int (n, N); every image
with its own label; all modalities together, then each), a folder of such shards, or a
folder of images in class subfolders (<class name or index 0–9>/*.png|jpg, 32×32). Values
outside [0, 1] are clamped first.

Exit codes: 0 done, 1 the run failed, 2 the command or an input is wrong.

options:
${formatOptionHelp(REALISM_FLAGS)}`;

export interface RealismCliIo {
  out?: (s: string) => void;
  err?: (s: string) => void;
  env?: Record<string, string | undefined>;
}

const f3 = (v: number) => v.toFixed(3);
const fd = (v: number | null) => (v === null ? '—' : v < 100 ? v.toFixed(2) : v.toFixed(1));
const pm = (s: Spread | null, fmt: (v: number) => string) => (s === null ? '—' : `${fmt(s.mean)} ± ${fmt(s.std)}`);

function table(rows: string[][]): string {
  const widths = rows[0].map((_c, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')).join('\n');
}

function scoreRow(name: string, s: RealismScore): string[] {
  return [
    name,
    String(s.n),
    f3(s.consistency),
    pm(s.floor.consistency, f3),
    fd(s.fdCls),
    pm(s.floor.fdCls, (v) => fd(v)),
    fd(s.fdClassMatched),
    pm(s.floor.fdClassMatched, (v) => fd(v)),
  ];
}

function formatReport(r: SourceScore, seed: number, accuracy: string | undefined, modality: number | undefined): string {
  const head = ['set', 'n', 'consistency', 'floor', 'FD-cls', 'floor', 'class-matched FD', 'floor'];
  const rows = [head, scoreRow(modality === undefined ? 'all' : `modality ${modality}`, r.all)];
  for (const m of r.perModality) rows.push(scoreRow(`modality ${m.modality}`, m.score));
  const perClass = [['label', 'n', 'consistency', 'floor']];
  for (const c of r.all.perClass) perClass.push([`${c.label} ${c.name}`, String(c.n), f3(c.consistency), f3(c.floorConsistency)]);
  const lines = [
    `realism of ${r.description}${modality !== undefined ? `, modality ${modality}` : ''}`,
    `classifier: the shipped CIFAR-10 CNN${accuracy ? ` (test accuracy ${(100 * Number(accuracy)).toFixed(1)} %)` : ''}; ` +
      `floor: real CIFAR-10 test images with the same labels, mean ± sd over ${r.all.floor.draws} draws (seed ${seed})`,
    '',
    table(rows),
    '',
    table(perClass),
  ];
  if (r.all.clamped > 0) lines.push('', `${r.all.clamped} values outside [0, 1] were clamped`);
  if (r.all.floor.withReplacement) lines.push('', 'note: a label needed more images than the test set has (1000 per class): the floor reused some');
  if (r.all.n < 2) lines.push('', 'note: FDs need at least 2 images');
  return lines.join('\n');
}

export async function realismMain(argv: string[], io: RealismCliIo = {}): Promise<number> {
  const out = io.out ?? ((s: string) => console.log(s));
  const err = io.err ?? ((s: string) => console.error(s));
  const env = io.env ?? process.env;
  return runCommand(
    async () => {
      const { values: o, positionals } = parseOptions(argv, REALISM_FLAGS, { positionals: true, argumentFiles: false });
      if (o.help) {
        out(USAGE);
        return 0;
      }
      if (positionals.length > 0) throw new UsageError(`realism takes no positional arguments, got '${positionals[0]}' (use --data <path>)`);
      if (o.data === undefined) throw new UsageError('realism needs --data <path>');
      const source = await openLabelledImages(o.data);
      if (o.modality !== undefined && o.modality > source.modalities) {
        throw new InputError(`--modality ${o.modality}: ${source.description} has ${source.modalities} modalit${source.modalities > 1 ? 'ies' : 'y'}`);
      }
      // the chosen backend only (fid's selector also names each one it skipped)
      const scorer = await openRealismScorer({ modelDir: o['model-dir'], backend: o.backend, log: (m) => !m.includes('unavailable') && err(m) });
      try {
        const r = await scoreLabelledImages(scorer, source, { modality: o.modality, seed: o.seed, floorDraws: o.draws, chunkSize: o['batch-size'] });
        const accuracy = scorer.classifier.metadata.test_accuracy ?? scorer.referenceScorer.reference.metadata.test_accuracy;
        if (o.json) {
          out(
            JSON.stringify({
              data: o.data,
              description: r.description,
              modalities: r.modalities,
              modality: o.modality ?? null,
              seed: o.seed,
              classifier_test_accuracy: accuracy !== undefined ? Number(accuracy) : null,
              all: r.all,
              per_modality: r.perModality,
            }),
          );
        } else {
          out(formatReport(r, o.seed, accuracy, o.modality));
        }
      } finally {
        scorer.dispose();
      }
      return 0;
    },
    { name: 'mmmi-fid realism', err, env, kinds: { input: [FormatError, RealismModelError] }, helpHint: 'mmmi-fid realism --help for usage' },
  );
}
