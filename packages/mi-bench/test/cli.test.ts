/**
 * mmmi-bench from the command line: a run end to end through `main` (exit 0, the report
 * folder with its README), the external-estimator protocol through the harness, resume from
 * the journal, and the command-line errors (exit 2, one line, no stack).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gaussianBias } from '@mmmi/estimators';
import { hasNumpy, tempDir } from '@mmmi/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { openDataset } from '../src/dataset.js';
import { estimateKey, runEstimates } from '../src/estimate/run.js';
import { RowJournal } from '../src/journal.js';
import type { EstimateRow } from '../src/results.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const dir = tempDir('mi-bench-cli-');
let folder: string;

beforeAll(async () => {
  folder = await tinyDataset(join(dir, 'data'), { size: 1500 });
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n'), progressStream: null });
  return { code, out, err };
}

describe('mmmi-bench', () => {
  it('estimate: writes a finished report folder and refuses to replace it', async () => {
    const out = join(dir, 'report');
    const argv = [
      'estimate',
      '--data',
      folder,
      '--pair',
      'X1;θ',
      '--estimators',
      'gaussian,ksg2',
      '--features',
      'latents',
      '--n',
      '300,600',
      '--seeds',
      '2',
      '--out',
      out,
    ];
    const r = await run(argv);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/8 estimates; report:/);
    for (const f of ['README.md', 'estimates.csv', 'estimates.json', 'estimates.md', 'estimate_vs_truth.png', 'error_vs_n.png', 'estimate.log'])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(existsSync(join(out, '.estimate.journal.jsonl'))).toBe(false);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('mmmi-bench estimate --data');
    const again = await run(argv);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/holds a finished report \(README.md\); pass --overwrite/);
  });

  it('estimate: --out the --data folder itself is refused, even with --overwrite; nothing is written there', async () => {
    const r = await run([
      'estimate',
      '--data',
      folder,
      '--pair',
      'X1;θ',
      '--estimators',
      'gaussian',
      '--features',
      'latents',
      '--n',
      '300',
      '--out',
      join(folder, '.'),
      '--overwrite',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^mmmi-bench: error: --out .*: is the input --data .*; a command never writes over its input, even with --overwrite: choose another folder for --out\n$/,
    );
    expect(existsSync(join(folder, 'README.md'))).toBe(false);
    expect(existsSync(join(folder, 'estimate.log'))).toBe(false);
  });

  it("estimate: a variational critic's training curve goes to the log", async () => {
    const out = join(dir, 'curve');
    const r = await run([
      'estimate',
      '--data',
      folder,
      '--pair',
      'X1;θ',
      '--estimators',
      'infonce',
      '--features',
      'latents',
      '--n',
      '300',
      '--seeds',
      '1',
      '--steps',
      '60',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const line = readFileSync(join(out, 'estimate.log'), 'utf8')
      .split('\n')
      .find((l) => l.includes(' curve '));
    const curve = JSON.parse(line!.slice(line!.indexOf(' curve ') + 7)) as { step: number; train: number; heldOut: number }[];
    expect(curve.length).toBeGreaterThan(0);
    expect(curve.every((p) => Number.isFinite(p.train) && p.step > 0)).toBe(true);
  });

  it.skipIf(!hasNumpy())('external: your estimator through the harness (a NumPy script: the plain Gaussian MI)', async () => {
    const script = join(dir, 'gaussian_mi.py');
    writeFileSync(
      script,
      [
        'import sys, numpy as np',
        'x, y = np.load(sys.argv[1]), np.load(sys.argv[2])',
        'c = np.corrcoef(np.hstack([x, y]).T)',
        'dx = x.shape[1]',
        'ld = lambda m: np.linalg.slogdet(m)[1]',
        'print(float(0.5 * (ld(c[:dx, :dx]) + ld(c[dx:, dx:]) - ld(c))))',
      ].join('\n'),
    );
    const out = join(dir, 'external');
    const python = process.env.MMMI_PYTHON ?? 'python3';
    const r = await run([
      'estimate',
      '--data',
      folder,
      '--pair',
      'X1;θ',
      '--estimators',
      'gaussian,external',
      '--external_command',
      `${python} ${script}`,
      '--features',
      'latents',
      '--n',
      '500',
      '--seeds',
      '1',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const rows = (JSON.parse(readFileSync(join(out, 'estimates.json'), 'utf8')) as { rows: EstimateRow[] }).rows;
    const [g, e] = [rows.find((x) => x.estimator === 'gaussian')!, rows.find((x) => x.estimator === 'external')!];
    // the harness's Gaussian estimator subtracts its exact small-sample bias; the script does not
    expect(e.estimate - g.estimate).toBeCloseTo(gaussianBias(500, 16, 1), 9);
  });

  it('resumes: rows in the journal are taken, not recomputed', async () => {
    const data = await openDataset(folder);
    const options = { pairs: ['X1;θ'], estimators: ['gaussian'], features: ['latents'], sizes: [300], seeds: 2 };
    const journal = new RowJournal<EstimateRow>(join(dir, 'journal.jsonl'), options, estimateKey);
    const fresh = await runEstimates(data, options);
    journal.add({ ...fresh[0], estimate: 123 });
    const reopened = new RowJournal<EstimateRow>(join(dir, 'journal.jsonl'), options, estimateKey);
    expect(reopened.resumed).toBe(1);
    const computed: EstimateRow[] = [];
    const rows = await runEstimates(data, { ...options, done: reopened, onRow: (r) => computed.push(r) });
    expect(rows.map((r) => r.estimate)).toEqual([123, fresh[1].estimate]);
    expect(computed).toHaveLength(1);
    // another command's journal is set aside, not mixed in
    const other = new RowJournal<EstimateRow>(join(dir, 'journal.jsonl'), { ...options, seeds: 3 }, estimateKey);
    expect(other.resumed).toBe(0);
    expect(other.discarded).toMatch(/made by other options; moved aside/);
    await data.close();
  });

  it('a journal line cut short by a kill is dropped, the rows before it kept', () => {
    const path = join(dir, 'cut.jsonl');
    const j = new RowJournal<{ k: string }>(path, { a: 1 }, (r) => r.k);
    j.add({ k: 'one' });
    j.add({ k: 'two' });
    writeFileSync(path, readFileSync(path, 'utf8') + '{"k": "thr');
    const again = new RowJournal<{ k: string }>(path, { a: 1 }, (r) => r.k);
    expect(again.resumed).toBe(2);
    expect(readFileSync(path, 'utf8')).not.toContain('thr');
  });

  it('command-line errors: exit 2, one line, no stack', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['estimate', '--pair', 'X1;θ'], /--data <path> is required/],
      [['estimate', '--data', folder, '--pair', 'X1;θ', '--n', 'many'], /--n many/],
      [['estimate', '--data', folder, '--pair', 'X9;θ'], /X9 is outside X1…X2/],
      [['estimate', '--data', join(dir, 'nothing')], /no such dataset folder/],
      [['regress', '--data', folder, '--subsets', 'X1', '--models', 'forest'], /unknown model 'forest'/],
      [['pmi', '--data', folder, '--pair', 'X1;X2'], /between θ and a group of modalities/],
      [['study', '--maps', 'sine'], /unknown map sine/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('mmmi-bench estimate');
  });
});
