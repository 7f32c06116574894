/**
 * Ridge regression of θ on a feature matrix, with an intercept, standardised features and
 * the penalty chosen by K-fold validation on the training rows.
 *
 * On standardised features z (training mean 0, variance 1) and the training targets y it
 * minimises
 *
 *   Σ_i (y_i − b − z_iᵀw)² + λ‖w‖²
 *
 * (the intercept b unpenalised), in the primal form (p×p normal equations) when p ≤ n and in
 * the dual, kernel form (n×n) when p > n: the same solution, at the cost of the smaller
 * system's cube (./ridge-forms.ts). λ comes from a log grid scored by validation error
 * (./lambda-search.ts), unless the caller fixes it.
 *
 * How many of the K folds are scored follows a compute budget: each scored fold costs one
 * Cholesky factorisation per λ tried (p³/6 multiply-adds in the primal, m³/6 in the dual with
 * m = n·(K − 1)/K fit rows), so all K folds are scored when that fits (every small problem:
 * latents, PCA features), and fewer — at least one, i.e. a held-out fifth — for 3072-pixel
 * images, where one factorisation takes seconds. `validation.foldsUsed` reports it.
 */
import { InputError } from '@mmmi/cli-kit';
import { checkCount, checkFeatures, checkTargets, checkVaries, type FeatureArray } from './check.js';
import { chooseLambda, MAX_DEFAULT_TRIALS, type LambdaTrial } from './lambda-search.js';
import { dualProblem, foldOrder, primalProblem, type RidgeProblem } from './ridge-forms.js';
import { fitStandardiser, standardisedColumns, standardisedRows, type Standardiser } from './standardise.js';

export type RidgeForm = 'primal' | 'dual';

export interface RidgeOptions {
  /** A fixed penalty (in the standardised problem, absolute): no validation. */
  lambda?: number;
  /** Absolute penalties to score, instead of the default relative grid and its refinement. */
  lambdas?: readonly number[];
  /** K of K-fold validation (default 5). */
  folds?: number;
  /** Multiply-adds the validation factorisations may cost before fewer folds are scored (default 3e9, a few seconds). */
  validationBudget?: number;
  /** 'auto' (default): primal when p ≤ n, dual otherwise. */
  form?: 'auto' | RidgeForm;
}

export interface RidgeValidation {
  /** K. */
  folds: number;
  /** Folds scored (the first ones); the rest only train. */
  foldsUsed: number;
  /** Held-out rows scored per λ. */
  rows: number;
  /** Every λ scored, in order, with its validation MSE. */
  trials: LambdaTrial[];
  /** The chosen λ is the largest or smallest scored. */
  atEdge: boolean;
  /** The grid's unit u = max(n, varying features): λ / u is the relative penalty. */
  unit: number;
}

/** A fitted ridge regression: ŷ = intercept + Σ_j ((x_j − mean_j) / sd_j) · weights_j. */
export class RidgeModel {
  constructor(
    /** Features per row. */
    readonly p: number,
    /** Training rows. */
    readonly n: number,
    readonly form: RidgeForm,
    /** The penalty used, in the standardised problem. */
    readonly lambda: number,
    readonly standardiser: Standardiser,
    /** Weights on the standardised features. */
    readonly weights: Float64Array,
    readonly intercept: number,
    /** How λ was chosen; null when it was given. */
    readonly validation: RidgeValidation | null,
  ) {}

  /** Predictions for m rows of p features (row-major m×p). */
  predict(x: FeatureArray, m = x.length / this.p): Float64Array {
    checkFeatures(x, m, this.p, 'ridge prediction');
    const { p } = this;
    const { mean, inverseScale } = this.standardiser;
    // fold the standardisation into raw-feature coefficients once: ŷ = c₀ + Σ_j x_j·c_j
    const coef = new Float64Array(p);
    let c0 = this.intercept;
    for (let j = 0; j < p; j++) {
      coef[j] = this.weights[j] * inverseScale[j];
      c0 -= mean[j] * coef[j];
    }
    const out = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const o = i * p;
      let s = 0;
      for (let j = 0; j < p; j++) s += x[o + j] * coef[j];
      out[i] = c0 + s;
    }
    return out;
  }
}

/**
 * Fits ridge regression of y on the n×p row-major features x. Refuses with an InputError:
 * n < 2 (or, when λ is chosen by validation, fewer than 2 rows per fold), a length that does
 * not match n·p or n, non-finite values, a constant y, a bad λ or K.
 */
export function fitRidge(x: FeatureArray, y: ArrayLike<number>, n: number, p: number, options: RidgeOptions = {}): RidgeModel {
  checkCount(n, 2, 'training draws for ridge regression');
  checkFeatures(x, n, p, 'ridge training');
  checkTargets(y, n, 'training θ');
  checkVaries(y, 'training θ');
  const folds = options.folds ?? 5;
  const validate = options.lambda === undefined;
  if (!validate && !(options.lambda! > 0 && Number.isFinite(options.lambda))) throw new InputError(`ridge λ = ${options.lambda}: must be positive and finite`);
  if (options.lambdas && (options.lambdas.length === 0 || options.lambdas.some((l) => !(l > 0 && Number.isFinite(l))))) {
    throw new InputError(`ridge λ grid [${options.lambdas.join(', ')}]: needs at least one value, each positive and finite`);
  }
  if (validate) {
    if (!Number.isInteger(folds) || folds < 2) throw new InputError(`${folds} validation folds: must be an integer ≥ 2`);
    if (n < 2 * folds) throw new InputError(`${n} training draws for ${folds}-fold validation of the ridge penalty: at least ${2 * folds} are needed`);
  }
  const form: RidgeForm = options.form === 'primal' || options.form === 'dual' ? options.form : p <= n ? 'primal' : 'dual';

  const standardiser = fitStandardiser(x, n, p);
  let ybar = 0;
  for (let i = 0; i < n; i++) ybar += y[i];
  ybar /= n;
  if (standardiser.varying === 0) {
    // no feature varies: the best affine predictor is the training mean
    return new RidgeModel(p, n, form, options.lambda ?? 0, standardiser, new Float64Array(p), ybar, null);
  }

  // fit rows of a scored fold (fold 0 is the largest, ⌈n/K⌉ rows)
  const m = n - Math.ceil(n / folds);
  const perFold = (form === 'primal' ? p ** 3 : m ** 3) / 6;
  const trials = options.lambdas?.length ?? MAX_DEFAULT_TRIALS;
  const usedFolds = validate ? Math.max(1, Math.min(folds, Math.floor((options.validationBudget ?? 3e9) / (perFold * trials)))) : 0;

  let problem: RidgeProblem;
  let centred: Float64Array;
  if (form === 'primal') {
    const { order, starts } = foldOrder(n, folds);
    centred = Float64Array.from(order, (i) => y[i] - ybar);
    problem = primalProblem(standardisedColumns(standardiser, x, n, order), centred, p, n, starts, usedFolds);
  } else {
    centred = Float64Array.from({ length: n }, (_, i) => y[i] - ybar);
    problem = dualProblem(standardisedRows(standardiser, x, n), centred, p, n, folds, usedFolds);
  }

  let lambda = options.lambda ?? 0;
  let validation: RidgeValidation | null = null;
  if (validate) {
    const unit = Math.max(n, standardiser.varying);
    let rows = 0;
    const choice = chooseLambda(
      (l) => {
        const r = problem.validation(l);
        rows = r.rows;
        return r.sse / r.rows;
      },
      unit,
      options.lambdas,
    );
    lambda = choice.lambda;
    validation = { folds, foldsUsed: usedFolds, rows, trials: choice.trials, atEdge: choice.atEdge, unit };
  }
  const solution = problem.fit(lambda);
  if (!solution) {
    const why = `ridge λ = ${lambda}: the ${problem.form} system is numerically singular at this penalty`;
    // a λ the caller fixed is their input; one the validation chose and then failed is not
    throw validate ? new Error(why) : new InputError(`${why}; use a larger λ`);
  }
  return new RidgeModel(p, n, form, lambda, standardiser, solution.weights, ybar + solution.offset, validation);
}
