/**
 * The memory estimate (src/memory-need.ts) against the measured peak: runs the default job
 * (the built-in flow model) at several batch sizes in fresh processes, reads each one's peak
 * RSS (GNU time's %M), and compares the growth between batch sizes with the estimate's
 * growth — the per-batch part the estimate exists for (the fixed part, Node and the
 * engines' code, is outside it and already in use when the check runs). ONNX Runtime frees
 * each tensor after its last use (the estimate takes the UNet's activation peak); tfjs holds
 * a pass's tensors until its tidy ends (the estimate takes their total).
 *
 *   npx tsx bench/memory.bench.ts [--draws 8,32,128] [--engine onnx|tfjs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from '@mmmi/cli-kit';
import { openFlowMap } from '../src/maps/flow-map.js';
import { generationMemoryNeed } from '../src/memory-need.js';

const { values: o } = parseOptions(process.argv.slice(2), {
  draws: { kind: 'ints', min: 1, default: [8, 32, 128], help: 'draws per batch (2 modalities each)' },
  engine: { kind: 'choice', choices: ['onnx', 'tfjs'], default: 'onnx', help: 'what evaluates the flow' },
} as const);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'packages/dataset-generation/bin/mmmi-generate.js');
// the per-image figure the job itself uses, from the flow map as the job opens it
const map = await openFlowMap('default', { engine: o.engine, log: () => {} });
const perImage = map.memory.perImageBytes;
await map.dispose();

const rows: { draws: number; peakMb: number; estimateMb: number }[] = [];
for (const draws of o.draws) {
  const dir = mkdtempSync(join(tmpdir(), 'mmmi-membench-'));
  const args = [
    `@${repo}generation_arguments/default.txt`,
    '--dataset_loc',
    dir,
    '--dataset_size',
    String(draws),
    '--batch_size',
    String(2 * draws),
    '--engine',
    o.engine,
    '--preview',
    '0',
  ];
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'node', bin, ...args], { encoding: 'utf8', cwd: repo });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`draws ${draws}: exit ${r.status}\n${r.stderr}`);
  const peakKb = Number(r.stderr.trim().split('\n').at(-1));
  const estimate = generationMemoryNeed({ drawsPerBatch: draws, nMod: 2, modDim: 3072 }, { flow: { weightsBytes: 0, perImageBytes: perImage } }).total;
  rows.push({ draws, peakMb: peakKb / 1024, estimateMb: estimate / 2 ** 20 });
}
console.log(`engine ${o.engine}; per-batch estimate vs measured peak RSS growth from the smallest batch`);
console.log('draws/batch  peak RSS MiB  growth MiB  estimate growth MiB  estimate/growth');
for (const r of rows) {
  const growth = r.peakMb - rows[0].peakMb;
  const estGrowth = r.estimateMb - rows[0].estimateMb;
  console.log(
    `${String(r.draws).padStart(11)}  ${r.peakMb.toFixed(0).padStart(12)}  ${growth.toFixed(0).padStart(10)}  ${estGrowth.toFixed(0).padStart(19)}  ${growth > 0 ? (estGrowth / growth).toFixed(2).padStart(15) : '              -'}`,
  );
}
