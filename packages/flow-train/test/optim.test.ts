/**
 * AdamW against torch.optim.AdamW, the --decay_lr schedule against torch's LinearLR, and the
 * EMA's arithmetic against a hand computation.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ema, EMA_MAX_DECAY, emaDecay } from '../src/ema.js';
import { AdamW, learningRate, PYTORCH_ADAMW_DEFAULTS } from '../src/optim.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const OPTIONS = { betas: [0.9, 0.95] as [number, number], eps: 1e-8, weightDecay: 0.01 };
const P0 = [0.5, -1.25, 2.0, 0.0, -0.0625, 3.5];
const GRADS = [
  [0.1, -0.2, 0.3, 1.5, -0.01, 0.0],
  [-0.4, 0.25, 0.05, 1.0, 0.02, 0.0],
  [0.3, 0.3, -0.6, -2.0, 0.0, 0.0],
  [1e-4, -5.0, 0.7, 0.5, 0.03, 0.0],
  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
  [-0.2, 0.1, 0.1, 0.3, -0.05, 0.0],
];
const LRS = [1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 2e-3];

/**
 * torch 1.13 (CPU, float32):
 *   p = torch.nn.Parameter(torch.tensor(P0))
 *   opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)
 *   for g, lr in zip(GRADS, LRS):
 *       opt.param_groups[0]['lr'] = lr; p.grad = torch.tensor(g); opt.step()
 *       record p, opt.state[p]['exp_avg'], opt.state[p]['exp_avg_sq']  (float(x) of each element)
 */
const TORCH = [
  {
    p: [0.49899500608444214, -1.2489874362945557, 1.998979926109314, -0.0009999999310821295, -0.061499375849962234, 3.499964952468872],
    m: [0.010000000707805157, -0.020000001415610313, 0.030000001192092896, 0.15000000596046448, -0.0010000000474974513, 0.0],
    v: [0.0005000000237487257, 0.0020000000949949026, 0.004500000271946192, 0.11250000447034836, 5.000000328436727e-6, 0.0],
  },
  {
    p: [0.4995433986186981, -1.2491371631622314, 1.9981670379638672, -0.00197506882250309, -0.06186213344335556, 3.499929904937744],
    m: [-0.03100000135600567, 0.006999999284744263, 0.03200000151991844, 0.23500001430511475, 0.0010999999940395355, 0.0],
    v: [0.008475000970065594, 0.005025000311434269, 0.004399999976158142, 0.15687499940395355, 2.4750001102802344e-5, 0.0],
  },
  {
    p: [0.499512255191803, -1.249650001525879, 1.9984389543533325, -0.0020021756645292044, -0.062146034091711044, 3.499894857406616],
    m: [0.002100000623613596, 0.03629999980330467, -0.031200001016259193, 0.011500000953674316, 0.0009899999713525176, 0.0],
    v: [0.01255125179886818, 0.009273750707507133, 0.022180000320076942, 0.3490312695503235, 2.3512500774813816e-5, 0.0],
  },
  {
    p: [0.49948546290397644, -1.2491158246994019, 1.9981729984283447, -0.0021310043521225452, -0.06273924559354782, 3.4998598098754883],
    m: [0.0019000004976987839, -0.4673300087451935, 0.041919998824596405, 0.060350000858306885, 0.003891000058501959, 0.0],
    v: [0.01192369032651186, 1.258810043334961, 0.04557099938392639, 0.3440797030925751, 6.73368776915595e-5, 0.0],
  },
  {
    p: [0.4994736313819885, -1.248886227607727, 1.9980577230453491, -0.0021861630957573652, -0.06299319863319397, 3.499842405319214],
    m: [0.0017100004479289055, -0.42059698700904846, 0.037727996706962585, 0.054315000772476196, 0.0035019000060856342, 0.0],
    v: [0.01132750604301691, 1.1958695650100708, 0.04329244792461395, 0.3268757164478302, 6.397003016900271e-5, 0.0],
  },
  {
    p: [0.4998226463794708, -1.2481017112731934, 1.9975444078445435, -0.0024948802310973406, -0.0626940205693245, 3.499772310256958],
    m: [-0.01846100017428398, -0.3685372769832611, 0.04395519942045212, 0.07888349890708923, -0.0018482902087271214, 0.0],
    v: [0.012761130928993225, 1.1365760564804077, 0.04162782430648804, 0.31503191590309143, 0.00018577153969090432, 0.0],
  },
];

/** Element-wise |a − b| ≤ rel·|b| + abs. */
function expectClose(actual: ArrayLike<number>, expected: readonly number[], rel: number, abs: number, what: string) {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(Math.abs(actual[i] - e), `${what}[${i}]: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(rel * Math.abs(e) + abs);
  });
}

describe('AdamW', () => {
  it('matches torch.optim.AdamW step by step (weights, exp_avg, exp_avg_sq), with a changing lr', async () => {
    const p = tf.variable(tf.tensor1d(P0), true, 'optim-test/p');
    const params = new Map([['p', p]]);
    const opt = new AdamW(params, OPTIONS);
    for (const [k, g] of GRADS.entries()) {
      const grad = tf.tensor1d(g);
      opt.apply(new Map([['p', grad]]), LRS[k]);
      grad.dispose();
      expect(opt.step).toBe(k + 1);
      // float32 on both sides, a few ulps apart at most (addcdiv vs mul + sub; exp_avg can
      // cancel: 0.9·(−0.031) + 0.1·0.3 = 0.0021 carries the ulp of 0.03)
      expectClose(await p.data(), TORCH[k].p, 2e-7, 1e-9, `step ${k + 1} p`);
      expectClose(await opt.m.get('p')!.data(), TORCH[k].m, 1e-6, 5e-8, `step ${k + 1} exp_avg`);
      expectClose(await opt.v.get('p')!.data(), TORCH[k].v, 1e-6, 1e-12, `step ${k + 1} exp_avg_sq`);
    }
    opt.dispose();
    p.dispose();
  });

  it('first step in closed form: p·(1 − lr·λ) − lr·g/(|g| + ε) (bias corrections make m̂ = g, v̂ = g²)', async () => {
    const lr = 1e-3;
    const p = tf.variable(tf.tensor1d(P0), true, 'optim-test/p1');
    const opt = new AdamW(new Map([['p1', p]]), OPTIONS);
    const g = tf.tensor1d(GRADS[0]);
    opt.apply(new Map([['p1', g]]), lr);
    const expected = P0.map((p0, i) => p0 * (1 - lr * OPTIONS.weightDecay) - (lr * GRADS[0][i]) / (Math.abs(GRADS[0][i]) + OPTIONS.eps));
    expectClose(await p.data(), expected, 2e-7, 1e-9, 'p after one step');
    // a zero gradient moves the weight by weight decay only
    expect((await p.data())[5]).toBeCloseTo(3.5 * (1 - lr * 0.01), 6);
    tf.dispose([g, p]);
    opt.dispose();
  });

  it('leaves weights without a gradient untouched and keeps its own step count', async () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true, 'optim-test/a');
    const b = tf.variable(tf.tensor1d([3, 4]), true, 'optim-test/b');
    const opt = new AdamW(
      new Map([
        ['a2', a],
        ['b2', b],
      ]),
      PYTORCH_ADAMW_DEFAULTS,
    );
    const g = tf.tensor1d([0.5, -0.5]);
    opt.apply(new Map([['a2', g]]), 1e-2);
    opt.apply(new Map([['a2', g]]), 1e-2);
    expect(opt.step).toBe(2);
    expect(Array.from(await b.data())).toEqual([3, 4]);
    expect(Array.from(await opt.m.get('b2')!.data())).toEqual([0, 0]);
    expect(Array.from(await a.data())).not.toEqual([1, 2]);
    expect(PYTORCH_ADAMW_DEFAULTS).toEqual({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    tf.dispose([a, b, g]);
    opt.dispose();
  });
});

describe('learningRate (--decay_lr: torch LinearLR(start_factor=1, end_factor=1e-8/lr, total_iters=epochs), stepped per epoch)', () => {
  /**
   * torch 1.13: opt = AdamW([p], lr); s = LinearLR(opt, start_factor=1.0, end_factor=1e-8/lr,
   * total_iters=epochs); for each epoch e record opt.param_groups[0]['lr'] (the rate epoch e
   * trains with), then opt.step(); s.step().
   */
  const TORCH_LR_1E4_10 = [
    0.0001, 9.000100000000001e-5, 8.000200000000001e-5, 7.000300000000001e-5, 6.000400000000001e-5, 5.0005000000000007e-5, 4.0006e-5, 3.0007000000000003e-5,
    2.0008000000000002e-5, 1.0009000000000002e-5, 9.999999999996915e-9, 9.999999999996915e-9, 9.999999999996915e-9,
  ];
  const TORCH_LR_2E4_3000: Record<number, number> = {
    0: 0.0002,
    1: 0.00019993333666666667,
    1500: 0.00010000499999999707,
    2999: 7.666333333332543e-8,
    3000: 9.999999999998374e-9,
    3002: 9.999999999998374e-9,
  };

  it('equals torch at every epoch of a 10-epoch run, and stays at 1e-8 beyond the end', () => {
    TORCH_LR_1E4_10.forEach((lr, epoch) => {
      expect(Math.abs(learningRate(1e-4, epoch, 10, true) - lr), `epoch ${epoch}`).toBeLessThanOrEqual(1e-9 * lr);
    });
  });

  it("equals torch at epoch 0, 1, mid, last, end and beyond of the paper's 3000 epochs", () => {
    for (const [epoch, lr] of Object.entries(TORCH_LR_2E4_3000)) {
      expect(Math.abs(learningRate(2e-4, Number(epoch), 3000, true) - lr), `epoch ${epoch}`).toBeLessThanOrEqual(1e-9 * lr);
    }
  });

  it('is constant without --decay_lr', () => {
    for (const epoch of [0, 5, 10, 100]) expect(learningRate(1e-4, epoch, 10, false)).toBe(1e-4);
  });
});

describe('EMA', () => {
  it('decay = min(0.999, (1 + n)/(10 + n))', () => {
    expect(emaDecay(1)).toBeCloseTo(2 / 11, 15);
    expect(emaDecay(2)).toBeCloseTo(3 / 12, 15);
    expect(emaDecay(10)).toBeCloseTo(11 / 20, 15);
    // (1 + n)/(10 + n) reaches 0.999 at n = 8990
    expect(emaDecay(8989)).toBeCloseTo(8990 / 8999, 15);
    expect(emaDecay(8989)).toBeLessThan(0.999);
    expect(emaDecay(8990)).toBe(0.999);
    expect(emaDecay(1e6)).toBe(EMA_MAX_DECAY);
    expect(emaDecay(100, 0.5)).toBe(0.5);
  });

  it('shadow after k updates: s ← s − (1 − decay_n)·(s − p_n), by hand', async () => {
    const p = tf.variable(tf.tensor1d([1, -2, 0.5]), true, 'ema-test/p');
    const ema = new Ema(new Map([['p', p]]));
    const steps = [
      [2, -1, 0.25],
      [0, 4, 0.5],
      [-3, 1, 1],
    ];
    // hand computation: d1 = 2/11, d2 = 3/12, d3 = 4/13
    let s = [1, -2, 0.5];
    const decays = [2 / 11, 3 / 12, 4 / 13];
    for (const [k, values] of steps.entries()) {
      p.assign(tf.tensor1d(values));
      ema.update(new Map([['p', p]]));
      s = s.map((sv, i) => sv - (1 - decays[k]) * (sv - values[i]));
      expect(ema.updates).toBe(k + 1);
      expectClose(await ema.shadow.get('p')!.data(), s, 1e-6, 1e-7, `after ${k + 1} updates`);
    }
    // e.g. the first coordinate: 1 → 1 − (9/11)·(1 − 2) = 20/11 → 20/11 − (9/12)·20/11 = 5/11 → 5/11 − (9/13)·(5/11 + 3)
    expect((await ema.shadow.get('p')!.data())[0]).toBeCloseTo(5 / 11 - (9 / 13) * (5 / 11 + 3), 6);
    // the shadow is a copy: the live weights are untouched
    expect(Array.from(await p.data())).toEqual([-3, 1, 1]);
    ema.dispose();
    p.dispose();
  });
});
