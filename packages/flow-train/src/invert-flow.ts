/**
 * The inverse of sampling: the noise at t = 0 that the learned flow integrates to given
 * images at t = 1, with the same solver, time grid, classifier-free guidance
 * v = (1 + w)·v(x, t, y) − w·v(x, t, ∅) and engine (ONNX Runtime or the tfjs forward pass,
 * worker threads) as `integrateFlowRows`, undoing its steps one by one by fixed-point
 * iteration (solvers/invert.ts: the math and when it converges).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SamplingSettings } from './checkpoint.js';
import type { VelocityEngine } from './engine/ort-engine.js';
import type { FlowModel } from './flow-model.js';
import type { InversionThreads } from './parallel/model-threads.js';
import { shardRanges } from './parallel/shard.js';
import { guidedVelocity, integrateFlowRows, onCpuBackend, samplingGrid } from './sample.js';
import { EVALUATIONS_PER_STEP, stepSizeGrid, type FixedGridMethod } from './solvers/fixed-grid.js';
import { parseOdeMethod } from './solvers/index.js';
import { DOPRI5_NOT_INVERTIBLE, invertIntegration, InversionError, type InversionReport, type InvertedStep } from './solvers/invert.js';
import type { ParamTensors } from './unet/model.js';

export interface InvertFlowOptions {
  /** The forward pass's time grid, when it overrode the settings' (as in `integrateFlowRows`). */
  timeGrid?: readonly number[];
  /** Relative tolerance of each step's fixed-point iteration (default 1e-6). */
  tolerance?: number;
  /** Iterations per step at most (default 50). */
  maxIterations?: number;
  /** Integrate the recovered noise forward again and report the residual (default true). */
  forwardCheck?: boolean;
  /** Worker threads that invert shards of the rows alongside this one (tfjs only). */
  threads?: InversionThreads;
  /** Evaluates the velocity instead of `model`'s tfjs forward pass (e.g. ONNX Runtime). */
  engine?: VelocityEngine;
  onStep?: (done: number, total: number) => void;
}

/** Inverts the flow from images x1 (NHWC, t = 1) on this thread; returns x at t = 0 (caller disposes) and the solver's report. */
export async function invertFlow(
  model: FlowModel,
  weights: ParamTensors,
  x1: tf.Tensor4D,
  labels: Int32Array,
  settings: SamplingSettings,
  options: Omit<InvertFlowOptions, 'threads'> = {},
): Promise<{ x: tf.Tensor4D; report: InversionReport }> {
  const grid = options.timeGrid ?? samplingGrid(settings);
  const field = options.engine ? options.engine.guidedVelocity(labels, settings.cfgScale) : guidedVelocity(model, weights, labels, settings.cfgScale);
  const { x, report } = await invertIntegration(field, x1, grid, parseOdeMethod(settings.odeMethod), {
    stepSize: options.timeGrid ? undefined : settings.odeOptions.step_size,
    tolerance: options.tolerance,
    maxIterations: options.maxIterations,
    forwardCheck: options.forwardCheck,
    onStep: options.onStep,
  });
  return { x: x as tf.Tensor4D, report };
}

/**
 * Inverts rows of images `x1` (NHWC floats at t = 1, one row per label) to the noise at
 * t = 0, split between this thread and `options.threads`' workers as `integrateFlowRows`
 * splits them. With `forwardCheck` (default), the recovered noise is integrated forward
 * again by `integrateFlowRows` and the report holds the residual against `x1`.
 */
export async function invertFlowRows(
  model: FlowModel,
  weights: ParamTensors,
  x1: Float32Array,
  labels: Int32Array,
  settings: SamplingSettings,
  options: InvertFlowOptions = {},
): Promise<{ x0: Float32Array; report: InversionReport }> {
  if (parseOdeMethod(settings.odeMethod) === 'dopri5') throw new InversionError(DOPRI5_NOT_INVERTIBLE);
  const c = model.config;
  const pixels = c.imageSize * c.imageSize * c.inChannels;
  const rowsOf = (a: number, b: number) => x1.subarray(a * pixels, b * pixels);
  const here = async (x: Float32Array, y: Int32Array) => {
    const start = tf.tensor4d(x, [y.length, c.imageSize, c.imageSize, c.inChannels]);
    const { x: end, report } = await invertFlow(model, weights, start, y, settings, { ...options, forwardCheck: false });
    start.dispose();
    const out = (await end.data()) as Float32Array;
    end.dispose();
    return { x: out, report };
  };
  let result: { x: Float32Array; report: InversionReport };
  const threads = options.threads;
  if (options.engine) result = await onCpuBackend(() => here(x1, labels));
  else if (!threads || labels.length < 2) result = await here(x1, labels);
  else {
    threads.publish(await model.values(weights));
    const [own, ...others] = shardRanges(labels.length, threads.workers + 1);
    const limits = { tolerance: options.tolerance, maxIterations: options.maxIterations };
    const pending = Promise.allSettled(others.map(([a, b], j) => threads.invert(j, rowsOf(a, b), labels.subarray(a, b), settings, options.timeGrid, limits)));
    const mine = await here(rowsOf(own[0], own[1]), labels.subarray(own[0], own[1]));
    const results = await pending;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const x = new Float32Array(labels.length * pixels);
    x.set(mine.x, own[0] * pixels);
    const theirs = results.map((r) => (r as PromiseFulfilledResult<{ x: Float32Array; report: InversionReport }>).value);
    theirs.forEach((r, j) => x.set(r.x, others[j][0] * pixels));
    result = { x, report: mergeReports([mine.report, ...theirs.map((r) => r.report)]) };
  }
  const { x: x0, report } = result;
  if (options.forwardCheck ?? true) {
    const again = await integrateFlowRows(model, weights, x0, labels, settings, {
      timeGrid: options.timeGrid,
      threads: options.threads,
      engine: options.engine,
    });
    report.forwardResidual = arrayResidual(again, x1);
    report.nfe += forwardEvaluations(settings, options.timeGrid);
  }
  return { x0, report };
}

/** The reports of shards of one batch as one: per step the most iterations and largest changes, converged when every shard did. */
export function mergeReports(reports: readonly InversionReport[]): InversionReport {
  const [first] = reports;
  const steps: InvertedStep[] = first.steps.map((s, i) => {
    const all = reports.map((r) => r.steps[i]);
    const max = (f: (s: InvertedStep) => number) => Math.max(...all.map(f));
    const ratios = all.map((a) => a.contraction).filter((c): c is number => c !== null);
    return {
      ...s,
      iterations: max((a) => a.iterations),
      converged: all.every((a) => a.converged),
      // the worst outcome of the shards
      outcome: (['diverged', 'too slow', 'iteration cap', 'converged'] as const).find((o) => all.some((a) => a.outcome === o))!,
      firstChange: max((a) => a.firstChange),
      lastChange: max((a) => a.lastChange),
      threshold: max((a) => a.threshold),
      contraction: ratios.length ? Math.max(...ratios) : null,
    };
  });
  return { ...first, steps, converged: steps.every((s) => s.converged), nfe: reports.reduce((a, r) => a + r.nfe, 0) };
}

/** Evaluations of the velocity in one forward integration with these settings (fixed-grid methods). */
function forwardEvaluations(settings: SamplingSettings, timeGrid: readonly number[] | undefined): number {
  const method = parseOdeMethod(settings.odeMethod) as FixedGridMethod;
  const grid = timeGrid ?? samplingGrid(settings);
  const stepSize = timeGrid ? undefined : settings.odeOptions.step_size;
  const steps = stepSize === undefined ? grid.length - 1 : stepSizeGrid(grid[0], grid[grid.length - 1], stepSize).length - 1;
  return steps * EVALUATIONS_PER_STEP[method];
}

function arrayResidual(a: Float32Array, b: Float32Array): { maxAbs: number; relRms: number } {
  let maxAbs = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
    num += d * d;
    den += b[i] * b[i];
  }
  return { maxAbs, relRms: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num) };
}
