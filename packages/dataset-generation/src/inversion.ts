/**
 * The proof that a shard's map is invertible, on its first draws: the stored images X are
 * mapped back — the scaling's inverse, the map's inverse (a transform's closed form, or the
 * flow's ODE integrated backwards step by step, flow-train's `invertFlowRows`), the
 * whitening's inverse — and compared with the stored latents `Noise`, modality by modality.
 * `verify --invert` and every generation job (the manifest's `inversion`) run it.
 *
 * Tolerance: the RMS error at most 1e-4 of Noise's RMS and the largest error at most 1e-3 of
 * it, per modality, and every solver step converged. What an exact pipeline loses: X is
 * float32 (relative rounding 2^−24 ≈ 6e-8, so at most 1.2e-7 after the affine inverse of
 * values in [0, 1]), Noise is float32 (6e-8 relative), and a flow's inverse stops each step's
 * fixed-point iteration at max|Δx| ≤ 1e-6·max(1, max|x|) (about 8 float32 units in the last
 * place). These reach the latents multiplied by the inverse map's local gain (its Jacobian):
 * an inverse that amplifies by up to ~10 stays near 1e-5 relative, a tenth of the tolerance.
 * An 8-bit scaling loses up to a quantisation step, 1/255 ≈ 4e-3 of the [0, 1] range (the
 * per-batch min–max of `minmax-batch` more: its statistics are not stored, so only the
 * nominal affine is undone), some 40 times the tolerance before any gain, so it shows as a
 * failure with its figure. A map whose inverse amplifies more than ~100 (a flow that
 * contracts some directions of the noise strongly) fails too, and says so: its recovered
 * latents reproduce the images (a small forward residual) yet differ from Noise, i.e. the
 * stored images do not pin the latents down at float32 precision.
 */
import { unconvergedSteps, type InversionReport } from '@mmmi/flow-train';
import { jsonNumber } from './manifest.js';
import type { ModalityMap } from './maps/modality-map.js';
import { SCALINGS, type ScalingName } from './scaling.js';

/** Pass/fail bounds of the inversion check (see the module comment for why). */
export const INVERSION_TOLERANCE = {
  /** RMS(recovered − Noise) / RMS(Noise), per modality, at most. */
  rms_rel: 1e-4,
  /** max|recovered − Noise| / RMS(Noise), per modality, at most. */
  max_abs_rel: 1e-3,
  basis:
    'float32 X (≤ 1.2e-7 after the affine inverse) and Noise (6e-8 relative), each flow step solved to max|Δx| ≤ 1e-6·max(1, max|x|), times an inverse gain up to ~10: ~1e-5 of RMS(Noise); an 8-bit step (1/255 of the range) is ~40× the bound',
} as const;

/**
 * Draws a generation job checks (its manifest's `inversion`). The flow's inverse costs about
 * as much per draw as integrating 10–20 draws forward (each of ~10 fixed-point iterations
 * per step evaluates the model again), so one draw: on the default job (built-in model, 2
 * cores under load) it adds ~30 s, two draws ~55 s. `MMMI_INVERSION_DRAWS=k` changes it for a
 * run (0: no check, no `inversion` in the manifest); `verify --invert --draws k` checks more.
 */
export const GENERATION_INVERSION_DRAWS = 1;

/** The draws a generation job checks: `MMMI_INVERSION_DRAWS` when it is a whole number ≥ 0, else GENERATION_INVERSION_DRAWS. */
export function generationInversionDraws(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MMMI_INVERSION_DRAWS;
  const v = Number(raw);
  return raw !== undefined && raw.trim() !== '' && Number.isInteger(v) && v >= 0 ? v : GENERATION_INVERSION_DRAWS;
}

/**
 * A generation job's check on its first draws as stored (`read` gives a workspace array's
 * values): the record for the manifest, its summary logged; undefined when no draws are to
 * be checked.
 */
export async function generationInversion(
  map: ModalityMap,
  scaling: string,
  read: (array: 'X' | 'Noise', start: number, count: number) => Promise<Float32Array>,
  perDraw: { X: number; Noise: number },
  size: number,
  nMod: number,
  labels: readonly number[],
  progress: { log(message: string): void },
): Promise<InversionRecord | undefined> {
  const k = Math.min(generationInversionDraws(), size);
  if (k === 0) return undefined;
  const record = await inversionCheck(map, scaling, await read('X', 0, k * perDraw.X), await read('Noise', 0, k * perDraw.Noise), k, nMod, labels);
  progress.log(inversionSummary(record));
  return record;
}

/** How one modality's latents came back. */
export interface ModalityInversionRecord {
  /** 1-based, as in the MI table. */
  modality: number;
  label: number;
  noise_rms: number | string;
  max_abs_error: number | string;
  /** RMS(recovered − Noise) / RMS(Noise). */
  rms_error_rel: number | string;
  ok: boolean;
  /** A flow's inverse: how each step's fixed-point iteration went, and the recovered latents integrated forward against the images. */
  solver?: {
    method: string;
    converged: boolean;
    tolerance: number;
    max_iterations: number;
    /** Per forward step (first to last): iterations, the last change, the change it had to get below, the contraction ratio seen. */
    iterations: number[];
    last_change: (number | string)[];
    threshold: (number | string)[];
    contraction: (number | string | null)[];
    unconverged_steps: string[];
    forward_residual: { max_abs: number | string; rms_rel: number | string } | null;
    nfe: number;
  };
}

/** The manifest's `inversion` and `verify --invert`'s result for one shard. */
export interface InversionRecord {
  /** The first `draws` draws of the shard were checked. */
  draws: number;
  map: string;
  scaling: string;
  /** Whether the scaling is exactly invertible (false: its `invert` only undoes the nominal affine). */
  scaling_invertible: boolean;
  tolerance: typeof INVERSION_TOLERANCE;
  modalities: ModalityInversionRecord[];
  ok: boolean;
  /** Why it failed, one line each (empty when ok). */
  problems: string[];
  seconds: number;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toExponential(1) : String(v));

/**
 * Maps the stored images `x` (the first `count` draws of X, [count, nMod, d], as stored)
 * back through `scaling`'s inverse and `map`'s inverse, and compares with the stored latents
 * `noise` (the same draws of Noise). Never throws for a map that does not invert: the
 * record says why.
 */
export async function inversionCheck(
  map: ModalityMap,
  scalingName: string,
  x: Float32Array,
  noise: Float32Array,
  count: number,
  nMod: number,
  labels: readonly number[],
): Promise<InversionRecord> {
  const started = performance.now();
  const record: InversionRecord = {
    draws: count,
    map: map.description.name,
    scaling: scalingName,
    scaling_invertible: false,
    tolerance: INVERSION_TOLERANCE,
    modalities: [],
    ok: false,
    problems: [],
    seconds: 0,
  };
  const done = () => {
    record.ok = record.problems.length === 0;
    record.seconds = Math.round((performance.now() - started) / 10) / 100;
    return record;
  };
  const scaling = SCALINGS[scalingName as ScalingName];
  if (!scaling) {
    record.problems.push(`unknown scaling '${scalingName}': expected one of ${Object.keys(SCALINGS).join(', ')}`);
    return done();
  }
  record.scaling_invertible = scaling.keepsMiExact;
  if (!map.invert) {
    record.problems.push(`the map ${map.description.name} has no inverse to run`);
    return done();
  }
  if (x.length !== noise.length || x.length % (count * nMod) !== 0) {
    record.problems.push(`X (${x.length} values) and Noise (${noise.length}) do not hold ${count} draws × ${nMod} modalities alike`);
    return done();
  }
  const y = new Float64Array(x.length);
  scaling.invert(x, y);
  let inverted;
  try {
    inverted = await map.invert(y, count, nMod, labels);
  } catch (e) {
    record.problems.push(`the map's inverse failed: ${(e as Error).message}`);
    return done();
  }
  const d = x.length / (count * nMod);
  const lossy = scaling.keepsMiExact ? '' : ` (the scaling ${scalingName} is not invertible: ${scaling.formula}; only its nominal affine is undone)`;
  for (let m = 0; m < nMod; m++) {
    let maxAbs = 0;
    let sumSq = 0;
    let noiseSq = 0;
    for (let c = 0; c < count; c++) {
      const off = (c * nMod + m) * d;
      for (let j = 0; j < d; j++) {
        const e = Math.abs(inverted.x[off + j] - noise[off + j]);
        // NaN (an inverse off its domain) must count as a failure
        maxAbs = e > maxAbs || Number.isNaN(e) ? e : maxAbs;
        sumSq += e * e;
        noiseSq += noise[off + j] * noise[off + j];
      }
    }
    const noiseRms = Math.sqrt(noiseSq / (count * d));
    const rmsRel = Math.sqrt(sumSq / (count * d)) / noiseRms;
    const maxRel = maxAbs / noiseRms;
    const report = inverted.solver?.[m];
    const withinTolerance = rmsRel <= INVERSION_TOLERANCE.rms_rel && maxRel <= INVERSION_TOLERANCE.max_abs_rel;
    const converged = report ? report.converged : inverted.converged;
    const entry: ModalityInversionRecord = {
      modality: m + 1,
      label: labels[m],
      noise_rms: jsonNumber(noiseRms),
      max_abs_error: jsonNumber(maxAbs),
      rms_error_rel: jsonNumber(rmsRel),
      ok: withinTolerance && converged,
      ...(report ? { solver: solverRecord(report) } : {}),
    };
    record.modalities.push(entry);
    if (!withinTolerance) {
      const residual = report?.forwardResidual;
      const illConditioned =
        scaling.keepsMiExact && converged && residual !== undefined && residual.relRms <= INVERSION_TOLERANCE.rms_rel
          ? `; the recovered latents reproduce the images (forward residual ${fmt(residual.relRms)} of their RMS) yet differ from Noise: the map's inverse is ill-conditioned at these latents, so the images do not pin the latents down at float32 precision`
          : '';
      record.problems.push(
        `modality ${m + 1}: recovered latents differ from Noise by ${fmt(rmsRel)} of its RMS (RMS error; tolerance ${fmt(INVERSION_TOLERANCE.rms_rel)}), ${fmt(maxRel)} at worst (max error; tolerance ${fmt(INVERSION_TOLERANCE.max_abs_rel)})${lossy}${illConditioned}`,
      );
    }
    if (!converged) {
      record.problems.push(
        report
          ? `modality ${m + 1}: the ${report.method} inverse did not converge at ${unconvergedSteps(report).join('; ')} (a contraction near or above 1 means h·Lip(Φ/h) ≳ 1 on that step: the grid is too coarse for the model there)`
          : `modality ${m + 1}: the inverse did not converge`,
      );
    }
  }
  return done();
}

function solverRecord(r: InversionReport): NonNullable<ModalityInversionRecord['solver']> {
  return {
    method: r.method,
    converged: r.converged,
    tolerance: r.tolerance,
    max_iterations: r.maxIterations,
    iterations: r.steps.map((s) => s.iterations),
    last_change: r.steps.map((s) => jsonNumber(s.lastChange)),
    threshold: r.steps.map((s) => jsonNumber(s.threshold)),
    contraction: r.steps.map((s) => (s.contraction === null ? null : jsonNumber(Number(s.contraction.toPrecision(3))))),
    unconverged_steps: unconvergedSteps(r),
    forward_residual: r.forwardResidual ? { max_abs: jsonNumber(r.forwardResidual.maxAbs), rms_rel: jsonNumber(r.forwardResidual.relRms) } : null,
    nfe: r.nfe,
  };
}

/** One line for a log: passed or failed, with the worst figures. */
export function inversionSummary(r: InversionRecord): string {
  const worst = (k: 'rms_error_rel' | 'max_abs_error') =>
    fmt(Math.max(...r.modalities.map((m) => (typeof m[k] === 'number' ? (m[k] as number) : Number(m[k]))), -Infinity));
  const iterations = r.modalities
    .filter((m) => m.solver)
    .map((m) => `modality ${m.modality}: ${m.solver!.iterations.join(',')}`)
    .join('; ');
  const figures = r.modalities.length
    ? `RMS error ${worst('rms_error_rel')} of Noise's RMS, max error ${worst('max_abs_error')}${iterations ? `; iterations per step ${iterations}` : ''}`
    : '';
  return `inversion check on ${r.draws} draw${r.draws === 1 ? '' : 's'} (${r.seconds} s): ${r.ok ? 'passed' : 'FAILED'}${figures ? ` — ${figures}` : ''}${r.ok ? '' : `: ${r.problems.join('; ')}`}`;
}

/** `verify --invert`'s table of one shard's record: a header, a row per modality, then why it failed. */
export function inversionTable(r: InversionRecord): string[] {
  const cell = (v: number | string) => (typeof v === 'number' ? fmt(v) : v);
  const rows = [['modality', 'label', 'max |error|', 'RMS error/RMS(Noise)', 'result', 'solver iterations per step', 'forward residual (RMS rel)']];
  for (const m of r.modalities) {
    const s = m.solver;
    rows.push([
      String(m.modality),
      String(m.label),
      cell(m.max_abs_error),
      cell(m.rms_error_rel),
      m.ok ? 'ok' : 'FAILED',
      s ? `${s.method} ${s.iterations.join(',')}${s.converged ? '' : ' (not converged)'}` : 'closed form',
      s?.forward_residual ? cell(s.forward_residual.rms_rel) : '—',
    ]);
  }
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  return [
    `inversion of the first ${r.draws} draw${r.draws === 1 ? '' : 's'} (${r.seconds} s; scaling ${r.scaling}${r.scaling_invertible ? '' : ', not invertible'}; map ${r.map}): ${r.ok ? 'passed' : 'FAILED'}; tolerance: RMS error ≤ ${r.tolerance.rms_rel}, max error ≤ ${r.tolerance.max_abs_rel} of RMS(Noise), every solver step converged`,
    ...rows.map((row) =>
      row
        .map((c, j) => c.padEnd(widths[j]))
        .join('  ')
        .trimEnd(),
    ),
  ];
}
