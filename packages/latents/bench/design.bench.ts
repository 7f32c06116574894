/**
 * Inverse design speed and reliability (src/design/), d = 3072.
 *
 * 1. N_mod = 10 (multimodal_decay_DAG), varying rho_theta_arg, rho_arg, alpha and beta: time to meet
 *    1, 3 and 10 simultaneous targets (values a design of random coefficients achieves, so
 *    that they are feasible), and a 10-point grid of I(X_1; θ).
 * 2. Reliability: random feasible target sets (I(X_1;θ), I(X_1;X_2), I(X_1;X_2|θ), and I(X;θ)
 *    for N > 2) on N modalities sharing N local proto-latents, from the base coefficients:
 *    how many are met to 1e-9 nats, and the time per design.
 *
 *   npx tsx bench/design.bench.ts [--trials 10]
 */
import { parseOptions } from '@mmmi/cli-kit';
import { parseArgs } from '../src/args.js';
import { parseVary } from '../src/design/coefficients.js';
import { designCoefficients, designGrid, prepareDesignBase } from '../src/design/design.js';
import { parseTargetGrid } from '../src/design/targets.js';
import { Rng } from '../src/rng.js';
import { feasibleTargets, sharedLatentTokens } from './design-problems.js';

const { values: o } = parseOptions(process.argv.slice(2), { trials: { kind: 'int', min: 1, default: 10, help: 'random target sets per N_mod' } });
const rng = new Rng(2026, 0);
const vary = parseVary('rho_theta_arg,rho_arg,alpha,beta');

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

const decay = await prepareDesignBase(parseArgs(['@../../generation_arguments/multimodal_decay_DAG.txt']), vary);
console.log('N_mod = 10 (multimodal_decay_DAG), d = 3072, varying rho_theta_arg, rho_arg, alpha, beta');
const sets: Record<string, string[]> = {
  '1 target': ['X1;theta'],
  '3 targets': ['X1;theta', 'X1;X2', 'X1;X2|theta'],
  '10 targets': Array.from({ length: 10 }, (_, i) => `theta;X${i + 1}`),
};
for (const [name, queries] of Object.entries(sets)) {
  const times: number[] = [];
  let met = 0;
  for (let t = 0; t < 3; t++) {
    const { value, ms } = await timed(() => designCoefficients(decay, feasibleTargets(decay, rng, queries)));
    times.push(ms);
    if (value.met) met++;
  }
  times.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(11)} median ${times[1].toFixed(0)} ms (of 3: ${times.map((v) => v.toFixed(0)).join(', ')} ms), met ${met}/3`);
}
const grid = await timed(() => designGrid(decay, parseTargetGrid('I(X_1;θ)=0.5..5:10', 10), []));
console.log(`  grid of 10 values of I(X_1; θ): ${grid.ms.toFixed(0)} ms, met ${grid.value.filter((r) => r.met).length}/10`);

console.log(`\nreliability: ${o.trials} random feasible target sets per N_mod (shared local proto-latents, random templates)`);
for (const n of [2, 3, 5, 10]) {
  const tokens = sharedLatentTokens(n);
  const base = await prepareDesignBase(parseArgs(tokens), vary);
  const queries = ['X1;theta', 'X1;X2', 'X1;X2|theta', ...(n > 2 ? ['X;theta'] : [])];
  let met = 0;
  const times: number[] = [];
  for (let t = 0; t < o.trials; t++) {
    const { value, ms } = await timed(() => designCoefficients(base, feasibleTargets(base, rng, queries)));
    times.push(ms);
    if (value.met && value.maxError <= 1e-9) met++;
  }
  times.sort((a, b) => a - b);
  console.log(
    `  N_mod ${String(n).padStart(2)}: met ${met}/${o.trials}; time median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms`,
  );
}
