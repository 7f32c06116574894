/**
 * Choosing the ridge penalty by validation error over a log grid.
 *
 * The default grid is stated relative to u = tr(Z_cᵀZ_c) / min(n, p) = max(n, p_varying), the
 * mean non-zero eigenvalue of the standardised problem: λ = u·10^e for e = 2, 1, 0, …, −6,
 * from "almost only the mean" to "almost least squares". It is walked from the largest λ down
 * and stopped once two successive λ are both worse than the best so far (the validation curve
 * of ridge is, in practice, one valley; every λ costs one Cholesky factorisation per scored
 * fold, so stopping early matters for 3072-dimensional pixels). The best λ is then refined
 * half a decade either side.
 */

export interface LambdaTrial {
  lambda: number;
  /** λ / u, the position on the grid. */
  relative: number;
  /** Validation mean squared error (∞ where the solve failed). */
  mse: number;
}

export interface LambdaChoice {
  lambda: number;
  trials: LambdaTrial[];
  /** The chosen λ is the largest or smallest tried: the optimum may lie beyond the grid. */
  atEdge: boolean;
}

/** Exponents e of the default grid λ = u·10^e, largest first. */
export const DEFAULT_EXPONENTS: readonly number[] = [2, 1, 0, -1, -2, -3, -4, -5, -6];

/** Trials the default search makes at most (the grid plus the two refinements). */
export const MAX_DEFAULT_TRIALS = DEFAULT_EXPONENTS.length + 2;

/**
 * Searches λ = unit·10^e by `score` (validation MSE). With `grid` (absolute λ values) every
 * value is scored and the best taken, with no early stop and no refinement.
 */
export function chooseLambda(score: (lambda: number) => number, unit: number, grid?: readonly number[]): LambdaChoice {
  const trials: LambdaTrial[] = [];
  const tryLambda = (lambda: number) => {
    const trial = { lambda, relative: lambda / unit, mse: score(lambda) };
    trials.push(trial);
    return trial;
  };
  if (grid) {
    grid.forEach(tryLambda);
  } else {
    let best = Infinity;
    let worse = 0;
    for (const e of DEFAULT_EXPONENTS) {
      const t = tryLambda(unit * 10 ** e);
      if (t.mse < best) {
        best = t.mse;
        worse = 0;
      } else if (++worse >= 2) break;
    }
    const centre = pick(trials);
    if (Number.isFinite(centre.mse)) for (const step of [0.5, -0.5]) tryLambda(centre.lambda * 10 ** step);
  }
  const chosen = pick(trials);
  if (!Number.isFinite(chosen.mse)) throw new Error('ridge: every λ tried failed to factorise; the features are numerically degenerate');
  const lambdas = trials.map((t) => t.lambda);
  return { lambda: chosen.lambda, trials, atEdge: chosen.lambda === Math.max(...lambdas) || chosen.lambda === Math.min(...lambdas) };
}

/** The trial of least MSE (the larger λ on a tie: the simpler model). */
function pick(trials: LambdaTrial[]): LambdaTrial {
  let best = trials[0];
  for (const t of trials) if (t.mse < best.mse || (t.mse === best.mse && t.lambda > best.lambda)) best = t;
  return best;
}
