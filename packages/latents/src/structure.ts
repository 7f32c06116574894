/**
 * The exact, compact form of the latent covariance (SPEC §1–§2).
 *
 * Modalities X_1…X_N ∈ R^d and the scalar target θ are jointly Gaussian with mean 0 and
 *
 *   Σ_XX = s²·( K ⊗ I_d + U·S·Uᵀ ),   Σ_Xθ = s²·U·β,   Var(θ) = s²·v,
 *
 * K an N×N matrix, U an (N·d)×r matrix whose column k has modality block
 * coef_k[i]·vector(k,i) (a few distinct basis vectors shared across blocks), S an r×r
 * symmetric "core" and s the alignment scale. The constructive paradigm is
 * K = G·Gᵀ, U = W (column k stacks c[i,k]·T[k,i]), S = I, β = η, v = ηᵀη; the sampling
 * paradigm fits the same form. Nothing here is ever O((N·d)²).
 */
import { addConstant, axpy, dotAt, gramRows } from './linalg.js';
import type { BasisVector } from './templates.js';

export interface LowRankColumn {
  /** coef[i]: weight of this column's vector in modality i. */
  coef: Float64Array;
  /** vector[i]: index into `vectors` of this column's vector in modality i. */
  vector: Int32Array;
}

/** Proto-latent loadings, kept for the constructive paradigm's direct sampler l = A·u. */
export interface ProtoLatentLoadings {
  nU: number;
  /** N×N_u: g[i,l] = DAG_ul[i][l]·rho[l]·α^(−|i−l|). */
  g: Float64Array;
}

export interface LatentStructure {
  paradigm: 'constructive' | 'sampling';
  nMod: number;
  modDim: number;
  /** N×N, row-major. */
  K: Float64Array;
  vectors: BasisVector[];
  columns: LowRankColumn[];
  /** r×r symmetric. */
  core: Float64Array;
  /** True when S = I exactly, which allows cancellation-free Schur complements. */
  coreIsIdentity: boolean;
  /** β: Σ_Xθ = U·β (unscaled). */
  thetaCoef: Float64Array;
  /** v: Var(θ) before scaling. */
  thetaVar: number;
  /** s: every latent is multiplied by s, Σ by s². */
  scale: number;
  loadings?: ProtoLatentLoadings;
}

export function rank(m: LatentStructure): number {
  return m.columns.length;
}

/** Dot product of two basis vectors in R^d. */
export function basisDot(a: BasisVector, b: BasisVector, d: number): number {
  if (a.kind === 'const' && b.kind === 'const') return d * a.value * b.value;
  if (a.kind === 'const' && b.kind === 'dense') return a.value * sum(b.data);
  if (a.kind === 'dense' && b.kind === 'const') return b.value * sum(a.data);
  return dotAt((a as { data: Float64Array }).data, 0, (b as { data: Float64Array }).data, 0, d);
}

function sum(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

/** out += a·vector (length d). */
export function addScaledBasis(out: Float64Array | Float32Array, offset: number, a: number, v: BasisVector, d: number): void {
  if (a === 0) return;
  if (v.kind === 'const') addConstant(out, offset, a * v.value, d);
  else axpy(out, offset, a, v.data, 0, d);
}

/**
 * Lazily computed Gram matrix of the distinct basis vectors: only the pairs a query
 * touches are computed, each once (O(d) each).
 */
export class GramCache {
  private readonly values: Float64Array;
  private readonly n: number;

  constructor(private readonly model: LatentStructure) {
    this.n = model.vectors.length;
    this.values = new Float64Array(this.n * this.n).fill(NaN);
  }

  get(a: number, b: number): number {
    const i = a * this.n + b;
    let v = this.values[i];
    if (Number.isNaN(v)) {
      v = basisDot(this.model.vectors[a], this.model.vectors[b], this.model.modDim);
      this.values[i] = v;
      this.values[b * this.n + a] = v;
    }
    return v;
  }
}

const gramCaches = new WeakMap<LatentStructure, GramCache>();

export function gramOf(model: LatentStructure): GramCache {
  let g = gramCaches.get(model);
  if (!g) {
    g = new GramCache(model);
    gramCaches.set(model, g);
  }
  return g;
}

// ---------------------------------------------------------------- blocks of Σ

/** Cov(X_i, X_j) as a dense d×d matrix (scaled). */
export function imageBlock(m: LatentStructure, i: number, j: number): Float64Array {
  const d = m.modDim;
  const out = new Float64Array(d * d);
  const s2 = m.scale * m.scale;
  const kij = m.K[i * m.nMod + j];
  for (let t = 0; t < d; t++) out[t * d + t] = s2 * kij;
  const r = rank(m);
  const left = new Float64Array(d);
  const right = new Float64Array(d);
  for (let k = 0; k < r; k++) {
    for (let q = 0; q < r; q++) {
      const w = m.core[k * r + q] * m.columns[k].coef[i] * m.columns[q].coef[j] * s2;
      if (w === 0) continue;
      left.fill(0);
      right.fill(0);
      addScaledBasis(left, 0, 1, m.vectors[m.columns[k].vector[i]], d);
      addScaledBasis(right, 0, 1, m.vectors[m.columns[q].vector[j]], d);
      for (let a = 0; a < d; a++) {
        const la = w * left[a];
        if (la === 0) continue;
        for (let b = 0; b < d; b++) out[a * d + b] += la * right[b];
      }
    }
  }
  return out;
}

/** Cov(X_i, θ) as a d-vector (scaled). */
export function thetaBlock(m: LatentStructure, i: number): Float64Array {
  const d = m.modDim;
  const out = new Float64Array(d);
  const s2 = m.scale * m.scale;
  m.columns.forEach((col, k) => addScaledBasis(out, 0, s2 * m.thetaCoef[k] * col.coef[i], m.vectors[col.vector[i]], d));
  return out;
}

/** Var(θ) (scaled). */
export function thetaVariance(m: LatentStructure): number {
  return m.scale * m.scale * m.thetaVar;
}

export type SigmaOrder = 'constructive' | 'sampling';

/** Dense Σ in bytes (float64), to decide whether materialising it is sensible. */
export function denseSigmaBytes(m: LatentStructure): number {
  const n = m.nMod * m.modDim + 1;
  return n * n * 8;
}

/**
 * Σ as a dense row-major matrix: order `constructive` is [θ, X_1…X_N] (the reference's
 * constructive Sigma), `sampling` is [X_1…X_N, θ]. Refuses above `maxBytes` unless raised.
 */
export function denseSigma(m: LatentStructure, order: SigmaOrder = 'constructive', maxBytes = 512 * 2 ** 20): Float64Array {
  const bytes = denseSigmaBytes(m);
  if (bytes > maxBytes) {
    throw new RangeError(
      `dense Σ would take ${(bytes / 2 ** 20).toFixed(1)} MiB (> ${(maxBytes / 2 ** 20).toFixed(0)} MiB); use the structured blocks or raise maxBytes`,
    );
  }
  const d = m.modDim;
  const n = m.nMod * d + 1;
  const out = new Float64Array(n * n);
  const off = (i: number) => (order === 'constructive' ? 1 + i * d : i * d);
  const th = order === 'constructive' ? 0 : n - 1;
  out[th * n + th] = thetaVariance(m);
  for (let i = 0; i < m.nMod; i++) {
    const b = thetaBlock(m, i);
    for (let t = 0; t < d; t++) {
      out[(off(i) + t) * n + th] = b[t];
      out[th * n + off(i) + t] = b[t];
    }
    for (let j = 0; j < m.nMod; j++) {
      const blk = imageBlock(m, i, j);
      for (let a = 0; a < d; a++) out.set(blk.subarray(a * d, (a + 1) * d), (off(i) + a) * n + off(j));
    }
  }
  return out;
}

/** The constructive A matrix's modality rows as K = G·Gᵀ. */
export function gramOfLoadings(g: Float64Array, nMod: number, nU: number): Float64Array {
  return gramRows(g, nMod, nU);
}

// ---------------------------------------------------------------- compact description

export const DESCRIPTION_FORMAT = 'mmmi-latent-structure/1';

type VectorJson = { const: number } | { f64: string };

export interface StructureDescription {
  format: typeof DESCRIPTION_FORMAT;
  meaning: string;
  paradigm: LatentStructure['paradigm'];
  nMod: number;
  modDim: number;
  K: number[];
  vectors: VectorJson[];
  columns: { coef: number[]; vector: number[] }[];
  core: number[];
  coreIsIdentity: boolean;
  thetaCoef: number[];
  thetaVar: number;
  scale: number;
  loadings?: { nU: number; g: number[] };
}

function f64ToBase64(v: Float64Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function base64ToF64(s: string): Float64Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float64Array(buf.byteLength / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/**
 * An exact JSON description from which Σ (or any block) is rebuilt bit-for-bit: numbers
 * are written by JSON's shortest round-trip form and dense vectors as little-endian
 * float64 in base64.
 */
export function describeStructure(m: LatentStructure): StructureDescription {
  return {
    format: DESCRIPTION_FORMAT,
    meaning:
      'Σ_XX = scale²·(K ⊗ I_modDim + U·core·Uᵀ), Σ_Xθ = scale²·U·thetaCoef, Var(θ) = scale²·thetaVar; ' +
      'column k of U has modality block coef[i]·vectors[vector[i]]; a vector is {const: c} (all entries c) or {f64: base64 little-endian float64}; ' +
      'X is the N_mod·modDim channel-first latent, modality-major; matrices are row-major',
    paradigm: m.paradigm,
    nMod: m.nMod,
    modDim: m.modDim,
    K: Array.from(m.K),
    vectors: m.vectors.map((v) => (v.kind === 'const' ? { const: v.value } : { f64: f64ToBase64(v.data) })),
    columns: m.columns.map((c) => ({ coef: Array.from(c.coef), vector: Array.from(c.vector) })),
    core: Array.from(m.core),
    coreIsIdentity: m.coreIsIdentity,
    thetaCoef: Array.from(m.thetaCoef),
    thetaVar: m.thetaVar,
    scale: m.scale,
    ...(m.loadings ? { loadings: { nU: m.loadings.nU, g: Array.from(m.loadings.g) } } : {}),
  };
}

export function structureFromDescription(desc: StructureDescription): LatentStructure {
  if (desc.format !== DESCRIPTION_FORMAT) throw new Error(`unknown latent structure format ${String(desc.format)} (expected ${DESCRIPTION_FORMAT})`);
  return {
    paradigm: desc.paradigm,
    nMod: desc.nMod,
    modDim: desc.modDim,
    K: Float64Array.from(desc.K),
    vectors: desc.vectors.map((v) => ('const' in v ? { kind: 'const', value: v.const } : { kind: 'dense', data: base64ToF64(v.f64) })),
    columns: desc.columns.map((c) => ({ coef: Float64Array.from(c.coef), vector: Int32Array.from(c.vector) })),
    core: Float64Array.from(desc.core),
    coreIsIdentity: desc.coreIsIdentity,
    thetaCoef: Float64Array.from(desc.thetaCoef),
    thetaVar: desc.thetaVar,
    scale: desc.scale,
    ...(desc.loadings ? { loadings: { nU: desc.loadings.nU, g: Float64Array.from(desc.loadings.g) } } : {}),
  };
}

/** The same model with every latent multiplied by `scale` (Σ by scale²). */
export function withScale(m: LatentStructure, scale: number): LatentStructure {
  return { ...m, scale };
}
