/** Bad inputs of issue #23: latents-memory (memory before work, structural zeros, extreme values, reversed ranges, memory advice). */
import { fig1, gen, type Case, type CaseResult } from './case.js';

/** The one line on stderr must match: the reason names what the case is about, not just any refusal. */
const says =
  (pattern: RegExp) =>
  (_dir: string, r: CaseResult): { outcome: 'silent'; why: string } | undefined => {
    const lines = r.stderr.trim().split('\n');
    if (lines.length !== 1 || !pattern.test(lines[0]))
      return { outcome: 'silent', why: `expected one line matching ${pattern}, got: ${r.stderr.slice(0, 300)}` };
    return undefined;
  };

/** Three modalities; X_1 and X_3 share no proto-latent (X_2 sees both θ proto-latents). */
const threeModalities = [
  '--N_mod', '3', '--N_u', '3', '--rho_arg', '[1,1,1]', '--DAG_ul', '[[1,0,0],[0,1,0],[0,0,1]]', '--labels', '[0,1,2]',
  '--N_u_theta', '2', '--eta_arg', '[1,1]', '--rho_theta_arg', '[1,1]', '--DAG_theta', '[[1,0],[1,1],[0,1]]', '--mod_dim', '8',
]; // prettier-ignore

export const cases: Case[] = [
  {
    name: 'latents: huge --mod_dim with random templates (mi)',
    cli: 'latents',
    // 48 GB of templates against a limit of 8 GB, whatever the machine (without the limit a large one would draw them)
    args: ['mi', `@${fig1}`, '--T_vectors_method', 'random', '--mod_dim', '3000000000'],
    env: { MMMI_MEMORY_LIMIT: '8e9' },
    timeoutMs: 60_000,
    check: says(/needs about 48\.0 GB of memory .* lower --mod_dim \(now 3000000000\), --N_mod \(now 2\) or --N_u_theta \(now 1\)/),
  },
  {
    name: 'latents: huge --mod_dim with random templates (describe)',
    cli: 'latents',
    args: ['describe', `@${fig1}`, '--T_vectors_method', 'random', '--mod_dim', '3000000000'],
    env: { MMMI_MEMORY_LIMIT: '8e9' },
    timeoutMs: 60_000,
    check: says(/GB of memory .* lower --mod_dim \(now 3000000000\)/),
  },
  {
    name: 'latents: huge --mod_dim with random templates (design)',
    cli: 'latents',
    args: ['design', `@${fig1}`, '--target', 'I(X_1;θ)=1', '--T_vectors_method', 'random', '--mod_dim', '3000000000'],
    env: { MMMI_MEMORY_LIMIT: '8e9' },
    timeoutMs: 60_000,
    check: says(/GB of memory .* lower --mod_dim \(now 3000000000\)/),
  },
  {
    name: 'latents: a memory limit smaller than the model',
    cli: 'latents',
    args: [
      'mi',
      `@${fig1}`,
      '--T_vectors_method',
      'random',
      '--N_u_theta',
      '4',
      '--eta_arg',
      '1',
      '--rho_theta_arg',
      '1',
      '--DAG_theta',
      '[[1,1,1,1],[1,1,1,1]]',
      '--mod_dim',
      '10000000',
    ],
    env: { MMMI_MEMORY_LIMIT: '1e8' },
    timeoutMs: 60_000,
    check: says(/MMMI_MEMORY_LIMIT gives 0\.1 GB available: lower --mod_dim \(now 10000000\), --N_mod \(now 2\) or --N_u_theta \(now 4\)/),
  },
  {
    name: 'latents: huge --N_mod (K alone is gigabytes)',
    cli: 'latents',
    files: { 'big.txt': '--N_mod 200000\n--N_u 1\n--mod_dim 4\n' },
    args: ['mi', '@DIR/big.txt'],
    timeoutMs: 60_000,
    check: says(/GB of memory .* lower --N_mod \(now 200000\)/),
  },
  {
    name: 'latents: sampled alignment of a huge --mod_dim',
    cli: 'latents',
    args: ['mi', `@${fig1}`, '--percentile_to_align', '0.9', '--align_method', 'sampled', '--mod_dim', '1000000000'],
    env: { MMMI_MEMORY_LIMIT: '8e9' },
    timeoutMs: 60_000,
    check: says(/sampled alignment's draws .* lower --mod_dim \(now 1000000000\) or --N_mod \(now 2\)/),
  },
  {
    name: 'latents: exact alignment too large for random templates',
    cli: 'latents',
    files: { 'wide.txt': '--T_vectors_method random\n--N_mod 30\n--N_u_theta 30\n--percentile_to_align 0.9\n--mod_dim 64\n' },
    args: ['mi', '@DIR/wide.txt'],
    timeoutMs: 60_000,
    check: says(/eigen-decomposition of size .* = 1920 \(at most 600\).*use --align_method sampled$/),
  },
  {
    name: 'latents: --mod_dim beyond float64 precision (ones templates)',
    cli: 'latents',
    args: ['mi', `@${fig1}`, '--mod_dim', '1000000000000'],
    check: says(/--mod_dim 1000000000000: beyond 4294967296 values per modality .* use at most 4294967296$/),
  },
  {
    name: 'latents: design target the DAG fixes at 0',
    cli: 'latents',
    args: ['design', ...threeModalities, '--target', 'I(X_1;X_3)=1'],
    timeoutMs: 120_000,
    check: says(/I\(X_1; X_3\) is 0 for every coefficient of this DAG: X_1 and X_3 share no proto-latent; drop the target or change the DAG/),
  },
  {
    name: 'latents: conditional design target the DAG fixes at 0',
    cli: 'latents',
    args: ['design', ...threeModalities, '--rho_theta_arg', '[1,0]', '--vary', 'rho_arg', '--target', 'I(X_1;X_3|X_2)=0.5'],
    timeoutMs: 120_000,
    check: says(/I\(X_1; X_3 \| X_2\) is 0 for every coefficient of this DAG: .* no proto-latent links them through the conditioned X_2/),
  },
  {
    name: 'latents: --rho_arg entry overflows float64',
    cli: 'latents',
    args: ['mi', `@${fig1}`, '--rho_arg', '[1e300,0.2]'],
    check: says(/--rho_arg \[1e\+300,0\.2\] \(entry 0 = 1e\+300\): extreme for the float64 computation/),
  },
  {
    name: 'latents: --eta_arg underflows float64',
    cli: 'latents',
    args: ['mi', `@${fig1}`, '--eta_arg', '[1e-300]'],
    check: says(/--eta_arg \[1e-300\] \(entry 0 = 1e-300\): extreme for the float64 computation/),
  },
  {
    name: 'latents: tiny --beta',
    cli: 'latents',
    args: ['mi', `@${fig1}`, '--beta', '1e-300'],
    check: says(/--beta 1e-300 \(β\^1 = 1e-300 in the decay\): extreme/),
  },
  {
    name: 'latents: --percentile_to_align next to 0',
    cli: 'latents',
    args: ['mi', `@${fig1}`, '--percentile_to_align', '1e-300'],
    check: says(/^mmmi-latents: error: --percentile_to_align 1e-300: extreme for the float64 computation/),
  },
  {
    name: 'latents: design on an overflowing base weight',
    cli: 'latents',
    args: ['design', `@${fig1}`, '--rho_arg', '[1e300,0.2]', '--target', 'I(X_1;θ)=1'],
    check: says(/a target cannot be evaluated on this model \(--rho_arg \[1e\+300,0\.2\] \(entry 0 = 1e\+300\): extreme for float64/),
  },
  {
    name: 'latents: reversed modality range in a query',
    cli: 'latents',
    args: ['mi', `@${fig1}`, '--query', 'X2..X1;theta'],
    check: says(/the range X2\.\.X1 is reversed; write X1\.\.X2$/),
  },
  {
    name: 'latents: reversed modality range in a design target',
    cli: 'latents',
    args: ['design', `@${fig1}`, '--target', 'I(X2..X1;θ)=1'],
    check: says(/the range X2\.\.X1 is reversed; write X1\.\.X2$/),
  },
  {
    name: 'latents: generation memory advice when one draw cannot fit (not --batch_size)',
    cli: 'generate',
    args: gen('--batch_size', '2', '--mod_dim', '100000000'),
    env: { MMMI_MEMORY_LIMIT: '1e9' },
    check: says(/even one draw per batch needs 4\.8 GB \(--batch_size cannot help\): lower --mod_dim or --N_mod/),
  },
];
