/**
 * The dataset file's metadata arrays, with the reference's keys and dtypes (SPEC §5), and
 * the exact description of Σ.
 *
 * Σ (order [θ, X_1 … X_N], as the reference's constructive Sigma) is stored densely in
 * float64 while it fits `sigmaMaxBytes`; beyond that `Sigma` holds the JSON description
 * instead. `Sigma_structure` always holds it: Σ_XX = s²(K ⊗ I_d + U·S·Uᵀ), Σ_Xθ = s²·U·β,
 * Var θ = s²·v — see packages/latents (structureFromDescription / denseSigma / imageBlock).
 */
import type { NpyInput, NpyUnicodeInput } from '@mmmi/formats';
import { InputError } from '@mmmi/cli-kit';
import { denseSigma, denseSigmaBytes, describeStructure, type LatentModel, type MiTable } from '@mmmi/latents';

export type ArrayInput = NpyInput | NpyUnicodeInput;

/** Characters of Σ's JSON description a shard stores (twice, as <U arrays of 4 bytes a character: 512 MiB). */
export const MAX_STRUCTURE_CHARS = 2 ** 26;

/**
 * Σ's exact JSON description, made before any work so that a model too large to describe in
 * a shard is refused then, not after sampling (an error naming the size and the fix).
 */
export function structureText(model: LatentModel, maxChars = MAX_STRUCTURE_CHARS): string {
  const m = model.structure;
  const refuse = (size: string) =>
    new InputError(
      `the exact description of this latent model (N_mod = ${m.nMod}, ${m.loadings ? `${m.loadings.nU} local proto-latents` : 'structured Σ'}) is ${size}, more than the ${maxChars} characters a shard stores beside its images: use fewer modalities or sparser DAGs (DAG_ul, DAG_theta)`,
    );
  let text: string;
  try {
    text = JSON.stringify(describeStructure(m));
  } catch (e) {
    if (e instanceof RangeError) throw refuse('longer than a JavaScript string holds');
    throw e;
  }
  if (text.length > maxChars) throw refuse(`${text.length} characters`);
  return text;
}

const scalarF64 = (v: number): NpyInput => ({ dtype: '<f8', shape: [], data: Float64Array.of(v) });
const scalarI64 = (v: number): NpyInput => ({ dtype: '<i8', shape: [], data: BigInt64Array.of(BigInt(v)) });
const text = (s: string): NpyUnicodeInput => ({ shape: [], data: [s] });

export function metadataArrays(model: LatentModel, mi: MiTable | null, sigmaMaxBytes: number, description = structureText(model)): Record<string, ArrayInput> {
  const m = model.structure;
  const d = m.modDim;
  const sigma: ArrayInput =
    denseSigmaBytes(m) <= sigmaMaxBytes
      ? { dtype: '<f8', shape: [1 + m.nMod * d, 1 + m.nMod * d], data: denseSigma(m, 'constructive', sigmaMaxBytes) }
      : text(description);
  const out: Record<string, ArrayInput> = {
    Sigma: sigma,
    Sigma_structure: text(description),
    Mu: { dtype: '<f4', shape: [1 + m.nMod * d], data: new Float32Array(1 + m.nMod * d) },
  };
  const spec = model.spec;
  if (spec.paradigm === 'constructive') {
    out.eta = { dtype: '<f4', shape: [spec.nUTheta], data: Float32Array.from(spec.eta) };
    out.rho_theta = { dtype: '<f4', shape: [spec.nUTheta], data: Float32Array.from(spec.rhoTheta) };
    out.rho = { dtype: '<f4', shape: [spec.nU], data: Float32Array.from(spec.rho) };
    out.alpha = scalarF64(spec.alpha);
    out.beta = scalarF64(spec.beta);
    out.N_u_theta = scalarI64(spec.nUTheta);
  }
  out.N_mod = scalarI64(m.nMod);
  out.mod_dim = scalarI64(d);
  out.generation_paradigm = text(spec.paradigm);
  out.MI_results = { dtype: '<f8', shape: [mi ? mi.values.length : 0], data: Float64Array.from(mi ? mi.values : []) };
  out.MI_labels = { shape: [mi ? mi.labels.length : 0], data: mi ? mi.labels : [] };
  return out;
}

/** Shape of one draw's images: (N, 3, 32, 32) for RGB 32×32 modalities, else (N, d). */
export function imageShape(nMod: number, modDim: number): number[] {
  return modDim === 3072 ? [nMod, 3, 32, 32] : [nMod, modDim];
}
