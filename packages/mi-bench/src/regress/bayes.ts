/**
 * The best any regressor of θ can do from a subset of modalities, from the dataset's exact
 * description.
 */
import { InputError } from '@mmmi/cli-kit';
import { mutualInformation, thetaVariance, type LatentStructure } from '@mmmi/latents';

export interface BayesOptimum {
  /** I(X_S; θ) in nats. */
  mi: number;
  /** Var(θ) (the model's scale included). */
  thetaVariance: number;
  /** The least mean squared error of any predictor of θ from X_S: Var(θ)·exp(−2 I(X_S; θ)). */
  mse: number;
  /** Its R² against the population variance: 1 − exp(−2 I(X_S; θ)). */
  r2: number;
}

/**
 * The Bayes-optimal mean squared error of θ from the modalities `mods` (0-based), and its R².
 *
 * Derivation. (θ, X_S) is jointly Gaussian with mean 0, so θ | X_S = x is Gaussian with mean
 * Σ_θS Σ_SS⁻¹ x and a variance that does not depend on x,
 *
 *   σ²_θ|S = Var(θ) − Σ_θS Σ_SS⁻¹ Σ_Sθ = Var(θ) · |Σ_{S∪θ}| / (|Σ_SS| · Var(θ)).
 *
 * The posterior mean minimises the expected squared error over all functions of X_S, and its
 * error is σ²_θ|S. The mutual information of jointly Gaussian variables is
 *
 *   I(X_S; θ) = ½ log( |Σ_SS| · Var(θ) / |Σ_{S∪θ}| ) = ½ log( Var(θ) / σ²_θ|S ),
 *
 * hence MSE_opt = σ²_θ|S = Var(θ)·exp(−2I) and R²_opt = 1 − MSE_opt / Var(θ) = 1 − exp(−2I).
 *
 * The datasets' images are f_i(X_i) for invertible per-modality maps f_i (identity, tanh, a
 * flow), so the images carry the same information (any function of the images is a function
 * of the latents and conversely): the same bound holds for regressions on pixels. An
 * infinite I (θ a deterministic function of X_S) gives MSE_opt = 0, R²_opt = 1.
 */
export function bayesOptimum(structure: LatentStructure, mods: readonly number[]): BayesOptimum {
  if (mods.length === 0) throw new InputError('Bayes optimum of θ from no modality: name at least one');
  const seen = new Set<number>();
  for (const i of mods) {
    if (!Number.isInteger(i) || i < 0 || i >= structure.nMod) {
      throw new InputError(`modality index ${i} (0-based): the model has ${structure.nMod} modalities, 0 … ${structure.nMod - 1}`);
    }
    if (seen.has(i)) throw new InputError(`modality X_${i + 1} named twice in the subset`);
    seen.add(i);
  }
  const mi = mutualInformation(structure, { mods: [...mods].sort((a, b) => a - b), theta: false }, { mods: [], theta: true });
  const variance = thetaVariance(structure);
  const remaining = Math.exp(-2 * mi);
  return { mi, thetaVariance: variance, mse: variance * remaining, r2: 1 - remaining };
}
