/**
 * Template vectors T[k,i] ∈ R^d (θ proto-latent k, modality i), SPEC §1.
 *
 * Templates are kept as a list of distinct basis vectors plus an index [k][i] → vector,
 * so that "ones" costs nothing and a template shared by several modalities (the same
 * galaxy image for both) is stored and multiplied once.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImageRgb, imageSourceKind, readNpySync, toChannelFirst } from '@mmmi/formats';
import { InputError } from '@mmmi/cli-kit';
import { Rng, STREAMS } from './rng.js';
import type { TemplateSource } from './spec.js';

/** A vector of R^d: every entry equal (`const`), or explicit values. */
export type BasisVector = { kind: 'const'; value: number } | { kind: 'dense'; data: Float64Array };

export interface TemplateSet {
  vectors: BasisVector[];
  /** index[k][i]: the vector of θ proto-latent k in modality i. */
  index: number[][];
}

const IMAGE_SIDE = 32;

export async function loadTemplates(source: TemplateSource, nUTheta: number, nMod: number, modDim: number): Promise<TemplateSet> {
  switch (source.method) {
    case 'ones':
      return { vectors: [{ kind: 'const', value: 1 }], index: grid(nUTheta, nMod, () => 0) };
    case 'random':
      return randomTemplates(source.seed, nUTheta, nMod, modDim);
    case 'npy':
      return npyTemplates(source.path, nUTheta, nMod, modDim);
    case 'images':
      return imageTemplates(source.path, nUTheta, nMod, modDim, source.convert);
  }
}

function grid(rows: number, cols: number, f: (k: number, i: number) => number): number[][] {
  return Array.from({ length: rows }, (_, k) => Array.from({ length: cols }, (_, i) => f(k, i)));
}

/** Standard normal templates, drawn k-major then modality then entry, from the templates stream of `seed`. */
function randomTemplates(seed: number, nUTheta: number, nMod: number, modDim: number): TemplateSet {
  const rng = new Rng(seed, STREAMS.templates);
  const vectors: BasisVector[] = [];
  const index = grid(nUTheta, nMod, () => {
    const data = new Float64Array(modDim);
    rng.fillNormal(data);
    vectors.push({ kind: 'dense', data });
    return vectors.length - 1;
  });
  return { vectors, index };
}

function npyTemplates(path: string, nUTheta: number, nMod: number, modDim: number): TemplateSet {
  let arr;
  try {
    arr = readNpySync(path);
  } catch (e) {
    throw new InputError(`--T_vectors_method ${path}: ${(e as Error).message}`);
  }
  const want = [nUTheta, modDim, nMod];
  if (arr.shape.length !== 3 || arr.shape.some((s, i) => s !== want[i])) {
    throw new InputError(`--T_vectors_method ${path}: array shape (${arr.shape.join(', ')}) does not match (N_u_theta, mod_dim, N_mod) = (${want.join(', ')})`);
  }
  const data = arr.data;
  if (typeof data[0] === 'bigint') throw new InputError(`--T_vectors_method ${path}: 64-bit integer arrays are not supported; save as float`);
  const builder = new DistinctVectors();
  const index = grid(nUTheta, nMod, (k, i) => {
    const v = new Float64Array(modDim);
    for (let t = 0; t < modDim; t++) v[t] = Number(data[(k * modDim + t) * nMod + i]);
    if (!v.every(Number.isFinite)) throw new InputError(`--T_vectors_method ${path}: template [${k}, :, ${i}] has non-finite values`);
    return builder.add(v);
  });
  return { vectors: builder.vectors, index };
}

/**
 * A folder of N_u_theta·N_mod images, sorted by file name (code-point order, as Python's
 * sorted()), read k-major: theta0_mod0, theta0_mod1, theta1_mod0, …; flattened channel-first
 * and divided by 255 (SPEC §1).
 */
async function imageTemplates(folder: string, nUTheta: number, nMod: number, modDim: number, convert: boolean): Promise<TemplateSet> {
  if (modDim !== 3 * IMAGE_SIDE * IMAGE_SIDE) {
    throw new InputError(`--T_vectors_method ${folder}: image templates need mod_dim = 3072 (32×32 RGB), got ${modDim}`);
  }
  const files = readdirSync(folder)
    .filter((f) => /\.(png|jpg|jpeg)$/.test(f))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const expected = nUTheta * nMod;
  if (files.length !== expected) {
    throw new InputError(`--T_vectors_method ${folder}: expected N_u_theta·N_mod = ${expected} images (.png/.jpg/.jpeg), found ${files.length}`);
  }
  const builder = new DistinctVectors();
  const ids: number[] = [];
  for (const f of files) {
    const path = join(folder, f);
    let img;
    try {
      const bytes = await readFile(path);
      const kind = imageSourceKind(bytes);
      if (kind && !kind.rgb8 && !convert) {
        throw new InputError(
          `--T_vectors_method: template image ${path} is a ${kind.description}, not 8-bit RGB: convert it, or pass --convert_templates to have it converted on reading (grey replicated, alpha dropped, 16-bit rounded down to 8)`,
        );
      }
      img = decodeImageRgb(bytes, path);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`--T_vectors_method: cannot read template image ${path}: ${(e as Error).message}`);
    }
    if (img.width !== IMAGE_SIDE || img.height !== IMAGE_SIDE) {
      throw new InputError(`--T_vectors_method: template image ${path} must be 32×32 RGB, got ${img.width}×${img.height}`);
    }
    ids.push(builder.add(toChannelFirst(img)));
  }
  return { vectors: builder.vectors, index: grid(nUTheta, nMod, (k, i) => ids[k * nMod + i]) };
}

/** Collects vectors, merging exact duplicates and recognising constant vectors. */
class DistinctVectors {
  readonly vectors: BasisVector[] = [];

  add(v: Float64Array): number {
    if (v.every((x) => x === v[0])) {
      const found = this.vectors.findIndex((b) => b.kind === 'const' && b.value === v[0]);
      if (found >= 0) return found;
      this.vectors.push({ kind: 'const', value: v[0] });
      return this.vectors.length - 1;
    }
    const found = this.vectors.findIndex((b) => b.kind === 'dense' && sameValues(b.data, v));
    if (found >= 0) return found;
    this.vectors.push({ kind: 'dense', data: v });
    return this.vectors.length - 1;
  }
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
