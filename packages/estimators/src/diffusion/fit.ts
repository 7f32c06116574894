/**
 * MINDE-C (Franzese, Bounoua, Michiardi, "MINDE: Mutual Information Neural Diffusion
 * Estimation", ICLR 2024), the conditional variant with the score-difference readout: one
 * network learns the score of the diffused side with and without the other side by denoising
 * score matching (./train.ts), and the MI is the Girsanov integral of the gap between the two
 * scores (./readout.ts).
 *
 * Steps: a seeded split (`trainFraction` of the rows train, the rest are held out); each side
 * standardised with the training rows' statistics (an invertible affine map of each value, which
 * leaves I unchanged and gives the VP-SDE data of unit scale, as the authors' rescaling does);
 * training with early stopping on the held-out denoising loss; the estimate on the held-out
 * rows. 'y|x' swaps the sides' roles.
 *
 * Not built: the authors' joint variant (MINDE-J), the σ readout (entropies against a Gaussian
 * reference) and the EMA of the weights (early stopping on held-out rows keeps the best weights
 * instead).
 */
import type { MiEstimate, PairedSamples } from '../estimator.js';
import { ensureTrainingBackend } from '../variational/backend.js';
import { fitStandardiser, splitRows, standardise } from '../variational/data.js';
import { makeDenoiser } from './denoiser.js';
import type { DiffusionRows } from './noising.js';
import { checkMindeInput, mindeHiddenFor, mindeRowCounts, resolveMindeOptions, type MindeOptions } from './options.js';
import { mindeReadout } from './readout.js';
import { logSnrRange } from './schedule.js';
import { trainDenoiser } from './train.js';

export async function estimateMinde(data: PairedSamples, options: MindeOptions = {}): Promise<MiEstimate> {
  const o = resolveMindeOptions(options);
  checkMindeInput(data, o);
  const backend = await ensureTrainingBackend(o.backend, options.log);
  const t0 = performance.now();
  const swap = o.direction === 'y|x';
  const [a, da, b, db] = swap ? [data.y, data.dy, data.x, data.dx] : [data.x, data.dx, data.y, data.dy];
  const counts = mindeRowCounts(data.n, o);
  const split = splitRows(data.n, counts.train, o.seed);
  const sa = fitStandardiser(a, da, split.train);
  const sb = fitStandardiser(b, db, split.train);
  const rowsOf = (indices: Int32Array): DiffusionRows => ({ n: indices.length, d: da, m: db, x: standardise(sa, a, indices), y: standardise(sb, b, indices) });
  const train = rowsOf(split.train);
  const heldOut = rowsOf(split.test);
  const range = logSnrRange(o);
  const hidden = o.hidden ?? mindeHiddenFor(data.dx + data.dy);
  const net = makeDenoiser({ d: da, m: db, hidden, layers: o.layers, seed: o.seed });
  try {
    const trained = trainDenoiser(net, train, heldOut, range, { ...o, batchSize: Math.min(o.batchSize, train.n) }, options.onProgress);
    const read = mindeReadout(net.predict, heldOut, range, o.mcSamples, o.seed);
    return {
      estimator: 'minde',
      estimate: read.estimate,
      standardError: read.standardError,
      samples: data.n,
      seconds: (performance.now() - t0) / 1000,
      details: {
        variant: 'MINDE-C, score-difference readout',
        direction: o.direction,
        logSnrRange: [range.min, range.max],
        schedule: { betaMin: o.betaMin, betaMax: o.betaMax, tEpsilon: o.tEpsilon },
        network: net.description,
        parameters: net.parameters,
        backend: backend,
        trainSamples: counts.train,
        heldOutSamples: counts.heldOut,
        mcSamples: o.mcSamples,
        emaDecay: o.emaDecay,
        batchSize: Math.min(o.batchSize, train.n),
        learningRate: o.learningRate,
        seed: o.seed,
        steps: trained.steps,
        patience: o.patience,
        stoppedEarly: trained.stoppedEarly,
        keptStep: trained.keptStep,
        keptHeldOutLoss: trained.keptHeldOut,
        trainSeconds: trained.seconds,
        standardErrorMethod: `sd/√n over the ${counts.heldOut} held-out rows' Monte Carlo values: leaves out the networks' own error`,
        curve: trained.curve,
      },
    };
  } finally {
    net.dispose();
  }
}
