/**
 * conv2d forward + backward on wasm (with this package's Conv2DBackpropFilter) against the cpu
 * backend measured in the same run, for the UNet's realistic shapes; and the
 * Conv2DBackpropFilter formulations alone (conv — the default —, per-tap, im2col; conv3d
 * with --conv3d: slow).
 *
 *   npx tsx bench/conv-grad.bench.ts [--reps N] [--cpu-reps N] [--cpu-batch N] [--no-cpu] [--ops] [--conv3d]
 *
 * wasm runs at batch 32; the cpu baseline at batch --cpu-batch (default 2, no warm-up: one
 * cpu step takes tens of seconds), and the ratios compare time per image.
 *
 * --ops also times the gradients of the UNet's other layers that have alternatives on wasm
 * (average pooling, nearest ×2 upsampling, embedding lookup).
 */
import * as tf from '@tensorflow/tfjs-core';
import { prepareBackend } from '../src/prepare.js';
import { getConv2DBackpropFilterVariant, setConv2DBackpropFilterVariant, type Conv2DBackpropFilterVariant } from './conv-grad-variants.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const REPS = option('--reps', 5);
const CPU_REPS = option('--cpu-reps', 1);
/** tfjs-backend-cpu's Conv2DBackpropFilter runs at a few MFLOP/s (≈15 s per 32×32×64 image): its baseline uses a small batch, compared per image. */
const CPU_BATCH = option('--cpu-batch', 2);
const WITH_CPU = !args.includes('--no-cpu');
const WITH_OPS = args.includes('--ops');
const WITH_CONV3D = args.includes('--conv3d');

interface Shape {
  label: string;
  batch: number;
  size: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
}

const SHAPES: Shape[] = [
  { label: '32×32×64→64 3×3', batch: 32, size: 32, cin: 64, cout: 64, k: 3, stride: 1 },
  { label: '16×16×128→128 3×3', batch: 32, size: 16, cin: 128, cout: 128, k: 3, stride: 1 },
  { label: '32×32×128→64 1×1', batch: 32, size: 32, cin: 128, cout: 64, k: 1, stride: 1 },
  { label: '32×32×64→64 3×3 s2', batch: 32, size: 32, cin: 64, cout: 64, k: 3, stride: 2 },
];

/** Median milliseconds of `reps` runs of f (after one warm-up unless `warm` is false); f's outputs are read and disposed. */
async function time(reps: number, f: () => tf.Tensor | tf.Tensor[], warm = true): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const out = tf.tidy(f);
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) await o.data();
    const ms = performance.now() - t0;
    tf.dispose(outs);
    return ms;
  };
  if (warm) await once();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) ms.push(await once());
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

const fmt = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;
const imgs = (batch: number, ms: number) => `${((batch * 1000) / ms).toFixed(1).padStart(7)} img/s`;

interface Inputs {
  x: tf.Tensor4D;
  w: tf.Tensor4D;
  dy: tf.Tensor4D;
}

function makeInputs(s: Shape): Inputs {
  const out = Math.ceil(s.size / s.stride);
  const xShape: [number, number, number, number] = [s.batch, s.size, s.size, s.cin];
  const wShape: [number, number, number, number] = [s.k, s.k, s.cin, s.cout];
  const dyShape: [number, number, number, number] = [s.batch, out, out, s.cout];
  return { x: tf.randomNormal(xShape), w: tf.randomNormal(wShape, 0, 0.05), dy: tf.randomNormal(dyShape) };
}

const padOf = (s: Shape) => (s.k === 1 ? 'valid' : 'same');

/** Forward + backward of y = conv2d(x, w) with upstream gradient dy: [dx, dw]. */
function step(s: Shape, { x, w, dy }: Inputs): tf.Tensor[] {
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s.stride, padOf(s));
  return tf.grads(f)([x, w], dy);
}

function filterGrad(s: Shape, { x, dy }: Inputs): tf.Tensor {
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { strides: s.stride, pad: padOf(s), dataFormat: 'NHWC', filterShape: [s.k, s.k, s.cin, s.cout] },
    ) as tf.Tensor;
}

const flops = (s: Shape) => 2 * s.batch * Math.ceil(s.size / s.stride) ** 2 * s.k * s.k * s.cin * s.cout;

async function main() {
  await prepareBackend('wasm', { log: (m) => console.log(m), label: 'tfjs-runtime' });
  console.log(`default Conv2DBackpropFilter variant: ${getConv2DBackpropFilterVariant()}`);
  console.log(`reps: wasm ${REPS} (median after a warm-up; conv3d: 1), cpu ${WITH_CPU ? `${CPU_REPS} at batch ${CPU_BATCH}, no warm-up` : 'skipped'}\n`);
  const variants: Conv2DBackpropFilterVariant[] = ['per-tap', 'im2col', 'conv', ...(WITH_CONV3D ? ['conv3d' as const] : [])];
  const summary: string[] = [];
  const defaultVariant = getConv2DBackpropFilterVariant();
  for (const s of SHAPES) {
    console.log(`== ${s.label}, batch ${s.batch} (${(flops(s) / 1e9).toFixed(2)} GFLOP per pass)`);
    /** cpu milliseconds per image */
    let cpuPerImage = NaN;
    if (WITH_CPU) {
      await tf.setBackend('cpu');
      const sc = { ...s, batch: CPU_BATCH };
      const cpuIn = makeInputs(sc);
      const cpuStep = await time(CPU_REPS, () => step(sc, cpuIn), false);
      cpuPerImage = cpuStep / CPU_BATCH;
      console.log(`  cpu   fwd+bwd (batch ${CPU_BATCH})    ${fmt(cpuStep)}  ${imgs(CPU_BATCH, cpuStep)}  (baseline)`);
      tf.dispose([cpuIn.x, cpuIn.w, cpuIn.dy]);
    }

    await tf.setBackend('wasm');
    const inp = makeInputs(s);
    const fwd = await time(REPS, () => tf.conv2d(inp.x, inp.w, s.stride, padOf(s)));
    const dx = await time(REPS, () => tf.conv2dTranspose(inp.dy, inp.w, inp.x.shape, s.stride, padOf(s)));
    console.log(`  wasm  forward            ${fmt(fwd)}  ${(flops(s) / fwd / 1e6).toFixed(1)} GFLOP/s`);
    console.log(`  wasm  input grad         ${fmt(dx)}  ${(flops(s) / dx / 1e6).toFixed(1)} GFLOP/s`);
    let best: [string, number] = ['', Infinity];
    let bestFilter: [string, number] = ['', Infinity];
    for (const v of variants) {
      if (v === 'conv3d' && s.stride !== 1) continue; // wasm's Conv3DBackpropFilterV2 is wrong for strides > 1
      setConv2DBackpropFilterVariant(v);
      const slow = v === 'conv3d';
      const fg = await time(slow ? 1 : REPS, () => filterGrad(s, inp), !slow);
      const st = await time(slow ? 1 : REPS, () => step(s, inp), !slow);
      const ratio = WITH_CPU ? `  ×${((cpuPerImage * s.batch) / st).toFixed(0)} vs cpu per image` : '';
      console.log(`  wasm  filter grad ${v.padEnd(8)}${fmt(fg)}  ${(flops(s) / fg / 1e6).toFixed(1)} GFLOP/s`);
      console.log(`  wasm  fwd+bwd ${v.padEnd(12)}${fmt(st)}  ${imgs(s.batch, st)}${ratio}`);
      if (fg < bestFilter[1]) bestFilter = [v, fg];
      if (st < best[1]) best = [v, st];
    }
    setConv2DBackpropFilterVariant(defaultVariant);
    tf.dispose([inp.x, inp.w, inp.dy]);
    const cpuText = WITH_CPU ? `cpu ${(1000 / cpuPerImage).toFixed(2)} img/s` : 'cpu –';
    const wasmText = `wasm (${best[0]}) ${((1000 * s.batch) / best[1]).toFixed(1)} img/s = ${best[1].toFixed(0)} ms per batch of ${s.batch}`;
    summary.push(
      `${s.label}: ${cpuText}, ${wasmText}${WITH_CPU ? `, ×${((cpuPerImage * s.batch) / best[1]).toFixed(0)}` : ''}; ` +
        `fastest filter grad ${bestFilter[0]} ${bestFilter[1].toFixed(0)} ms (forward ${fwd.toFixed(0)} ms, input grad ${dx.toFixed(0)} ms)`,
    );
    console.log();
  }
  console.log('summary (conv2d forward + backward):');
  for (const line of summary) console.log(`  ${line}`);
  if (WITH_OPS) await otherOps();
}

/** Gradients of the other layers with alternatives, on wasm (batch 32). */
async function otherOps() {
  await tf.setBackend('wasm');
  console.log('\n== other gradients on wasm (value + gradient of sum(f(x)²), batch 32)');
  const B = 32;
  const x32 = tf.variable(tf.randomNormal([B, 32, 32, 128]));
  const x16 = tf.variable(tf.randomNormal([B, 16, 16, 128]));
  const grad = (x: tf.Variable, f: (t: tf.Tensor) => tf.Tensor) => () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(f(x))), [x]);
    return [value, grads[x.name]];
  };
  const cases: [string, tf.Variable, (t: tf.Tensor) => tf.Tensor][] = [
    ['avgPool 2×2 (AvgPoolGrad)       32→16', x32, (t) => tf.avgPool(t as tf.Tensor4D, 2, 2, 'valid')],
    ['avgPool as reshape+mean         32→16', x32, (t) => tf.mean(tf.reshape(t, [B, 16, 2, 16, 2, 128]), [2, 4])],
    ['upsample resizeNearestNeighbor  16→32', x16, (t) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [32, 32])],
    ['upsample two rank-4 broadcasts  16→32', x16, (t) => upsampleRank4(t as tf.Tensor4D)],
    ['upsample add(x, zeros) rank 6   16→32', x16, (t) => upsampleAdd(t as tf.Tensor4D)],
    [
      'upsample rank-6 broadcastTo     16→32',
      x16,
      (t) => tf.reshape(tf.broadcastTo(tf.reshape(t, [B, 16, 1, 16, 1, 128]), [B, 16, 2, 16, 2, 128]), [B, 32, 32, 128]),
    ],
  ];
  for (const [label, x, f] of cases) {
    try {
      const ms = await time(REPS, grad(x, f));
      console.log(`  ${label}  ${fmt(ms)}`);
    } catch (e) {
      console.log(`  ${label}  fails: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    }
  }
  const table = tf.variable(tf.randomNormal([11, 512]));
  const ids = tf.tensor1d(
    Array.from({ length: B }, (_, i) => i % 11),
    'int32',
  );
  const embCases: [string, () => tf.Tensor][] = [
    ['embedding gather (UnsortedSegmentSum)', () => tf.gather(table, ids)],
    ['embedding oneHot·matMul              ', () => tf.matMul(tf.oneHot(ids, 11), table)],
  ];
  for (const [label, f] of embCases) {
    const ms = await time(REPS, () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(f())), [table]);
      return [value, grads[table.name]];
    });
    console.log(`  ${label}  ${fmt(ms)}`);
  }
  tf.dispose([x32, x16, table, ids]);
}

/** Nearest ×2 upsampling as a broadcasting Add of zeros: its gradient is one Sum over the broadcast axes. */
function upsampleAdd(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.add(tf.reshape(x, [b, h, 1, w, 1, c]), tf.zeros([1, 1, 2, 1, 2, 1])), [b, 2 * h, 2 * w, c]);
}

/** Nearest ×2 upsampling with broadcasts of rank ≤ 4 (tfjs's Tile gradient stops at rank 4). */
function upsampleRank4(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const cols = tf.reshape(tf.broadcastTo(tf.reshape(x, [b * h, w, 1, c]), [b * h, w, 2, c]), [b * h, 1, 2 * w * c]);
  return tf.reshape(tf.broadcastTo(cols, [b * h, 2, 2 * w * c]), [b, 2 * h, 2 * w, c]);
}

await main();
