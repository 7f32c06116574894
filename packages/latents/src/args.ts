/**
 * Argument files and command-line flags in the reference's syntax (SPEC §4).
 *
 * `@file` tokens expand to the file's tokens: lines are read one by one, blank lines and
 * lines starting with `#` are skipped, the rest split on whitespace. Later tokens override
 * earlier ones. Values are typed per flag; list values are JSON without spaces.
 * Every error names the flag (and the file and line when the token came from a file),
 * and happens before any work starts. Refused, with the reason: a token that is no flag and
 * no flag's value (a file named without its `@` gets the hint), a bare `@`, an argument file
 * with no flags, a file that includes itself (the include chain is named), a `#` inside a
 * line (comments take whole lines).
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export type FlagKind = 'int' | 'float' | 'string' | 'json' | 'jsonOrString' | 'choice' | 'boolean';

export interface FlagDef {
  kind: FlagKind;
  help: string;
  /** Allowed values for `choice`. */
  choices?: readonly string[];
  /** Value taken when the flag appears with no value (e.g. a bare `--calculate_MI`). */
  bareValue?: string;
  /** Lower bound for numbers (inclusive unless `minExclusive`). */
  min?: number;
  minExclusive?: boolean;
  max?: number;
}

/** The reference's flags (SPEC §4), with the reference's names. */
export const REFERENCE_FLAGS: Readonly<Record<string, FlagDef>> = {
  dataset_size: { kind: 'int', min: 1, help: 'number of samples (draws of all modalities) in this job' },
  batch_size: { kind: 'int', min: 1, help: 'images per batch (each draw is N_mod images)' },
  labels: { kind: 'json', help: 'class of each modality, e.g. [1,6]' },
  dataset_name: { kind: 'string', help: 'output file prefix' },
  dataset_loc: { kind: 'string', help: 'output folder' },
  checkpoint_path: { kind: 'string', help: 'flow checkpoint file or registry name' },
  timestep_size: { kind: 'int', min: 1, help: 'batches between progress log lines' },
  sample_seed: { kind: 'int', min: 0, help: 'seed of the latent draws (default: job_id)' },
  job_id: { kind: 'int', min: 0, help: 'shard index; names the output file' },
  debug: { kind: 'int', min: 0, help: 'debug level (1: radii check)' },
  generation_paradigm: {
    kind: 'choice',
    choices: ['constructive', 'sampling'],
    help: 'constructive (DAG of proto-latents) or sampling (explicit covariance)',
  },
  calculate_MI: {
    kind: 'choice',
    choices: ['numerical', 'analytical'],
    bareValue: 'numerical',
    help: 'compute the MI table with this method (bare flag: numerical)',
  },
  N_mod: { kind: 'int', min: 1, help: 'number of modalities' },
  N_u: { kind: 'int', min: 0, help: 'number of local proto-latents' },
  rho_arg: { kind: 'jsonOrString', help: 'weights of the local proto-latents (list of N_u)' },
  DAG_ul: { kind: 'json', help: 'N_mod×N_u mask: local proto-latent l feeds modality i' },
  N_u_theta: { kind: 'int', min: 1, help: 'number of θ proto-latents' },
  eta_arg: { kind: 'jsonOrString', help: 'weights of the θ proto-latents in θ (list of N_u_theta)' },
  rho_theta_arg: { kind: 'jsonOrString', help: 'weights of the θ proto-latents in the modalities (list of N_u_theta)' },
  DAG_theta: { kind: 'json', help: 'N_mod×N_u_theta mask: θ proto-latent k feeds modality i' },
  T_vectors_method: { kind: 'string', help: 'templates: ones, random, a .npy file or a folder of images' },
  convert_templates: { kind: 'boolean', help: 'accept template images that are not 8-bit RGB (grey, alpha, 16-bit), converting them: grey replicated, alpha dropped, 16-bit rounded down to 8' },
  alpha: { kind: 'float', min: 0, minExclusive: true, help: 'decay of local proto-latents with |i−l|' },
  beta: { kind: 'float', min: 0, minExclusive: true, help: 'decay of θ proto-latents with modality index i' },
  percentile_to_align: {
    kind: 'float',
    min: 0,
    minExclusive: true,
    max: 1,
    help: 'align the latent norm quantile p (a fraction, e.g. 0.95) to the unit Gaussian',
  },
  cov_theta: { kind: 'json', help: 'sampling: covariance of each image with θ (scalar or list of N_mod)' },
  theta_var: { kind: 'float', min: 0, minExclusive: true, help: 'sampling: variance of θ' },
  cov_images: { kind: 'json', help: 'sampling: N_mod×N_mod covariance between images' },
  cov_seed: { kind: 'int', min: 0, help: 'seed of random templates / random cross-covariances' },
  epsilon: { kind: 'float', min: 0, help: 'sampling: added to the diagonal of Σ' },
  delta: { kind: 'float', min: 0, minExclusive: true, help: 'sampling: θ variance margin over max‖σ_iθ‖²' },
};

/** Flags this toolkit adds to the latent model. */
export const LATENT_EXTENSION_FLAGS: Readonly<Record<string, FlagDef>> = {
  mod_dim: { kind: 'int', min: 1, help: 'values per modality (default 3072 = 3·32·32)' },
  align_method: {
    kind: 'choice',
    choices: ['exact', 'sampled'],
    help: 'alignment quantile: exact (generalized chi-square, default) or sampled (reference: 20 000 draws)',
  },
};

export type ArgValue = number | string | boolean | unknown[] | null;

export interface ParsedArgs {
  /** Typed values of the flags that were given (later tokens won). */
  values: Record<string, ArgValue>;
  /** Where each value came from, for error messages downstream. */
  sources: Record<string, string>;
  /** The argument file (absolute path) each value came from, when it came from one. */
  files: Record<string, string>;
  /** Tokens that are not flags (e.g. a sub-command). */
  positionals: string[];
}

export class ArgumentError extends Error {
  override name = 'ArgumentError';
}

interface Token {
  text: string;
  origin: string;
  file?: string;
}

/** Argument files nested deeper than this are refused (a chain of includes, not a loop). */
const MAX_INCLUDE_DEPTH = 16;

const bareAt = (origin: string) => new ArgumentError(`a bare '@' (${origin}): write the argument file right after it, e.g. @generation_arguments/simple_fig1_DAG.txt`);

/** Expand `@file` tokens recursively; relative paths are taken from the working directory, as argparse does. */
export function expandTokens(tokens: readonly string[], origin = 'command line'): Token[] {
  const out: Token[] = [];
  for (const text of tokens) {
    if (text === '@') throw bareAt(origin);
    if (text.startsWith('@')) out.push(...readArgumentFile(text.slice(1), []));
    else out.push({ text, origin });
  }
  return out;
}

function readArgumentFile(path: string, chain: readonly string[]): Token[] {
  const full = resolve(path);
  if (!existsSync(full)) throw new ArgumentError(`argument file @${path} not found (looked at ${full})`);
  if (statSync(full).isDirectory()) throw new ArgumentError(`argument file @${path} is a folder, not a file`);
  const including = [...chain, full];
  if (chain.includes(full)) throw new ArgumentError(`argument file @${path} includes itself: ${including.join(' → ')}`);
  if (chain.length >= MAX_INCLUDE_DEPTH) throw new ArgumentError(`argument files nest more than ${MAX_INCLUDE_DEPTH} deep: ${including.join(' → ')}`);
  const lines = readFileSync(full, 'utf8').split(/\r?\n/);
  const out: Token[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const origin = `${path}:${i + 1}`;
    for (const t of line.split(/\s+/)) {
      if (t.startsWith('#')) throw new ArgumentError(`'${t}' inside a line (${origin}): comments take whole lines starting with #`);
      if (t === '@') throw bareAt(origin);
      if (t.startsWith('@')) {
        // Nested files are relative to the working directory in argparse; fall back to the
        // including file's folder so configurations can include siblings.
        const nested = t.slice(1);
        const candidate = existsSync(resolve(nested)) ? nested : resolve(dirname(full), nested);
        out.push(...readArgumentFile(candidate, including));
      } else {
        out.push({ text: t, origin, file: full });
      }
    }
  });
  if (out.length === 0) throw new ArgumentError(`argument file @${path} has no flags (only blank lines and comments)`);
  return out;
}

function looksLikeFlag(t: string): boolean {
  return t.startsWith('--') && t.length > 2;
}

/** A value token may itself start with '-' (a negative number), but never with '--'. */
function isValueToken(t: string | undefined): t is string {
  return t !== undefined && !looksLikeFlag(t);
}

/** A token that is neither a flag nor a flag's value; a file named without its '@' gets the hint. */
function strayToken(text: string, origin: string): ArgumentError {
  const file = existsSync(resolve(text)) && statSync(resolve(text)).isFile();
  const hint = file ? `; to read the argument file, write @${text}` : '; flags start with --, argument files with @';
  return new ArgumentError(`unexpected argument '${text}' (${origin})${hint}`);
}

export function parseArgs(
  tokens: readonly string[],
  flags: Readonly<Record<string, FlagDef>> = { ...REFERENCE_FLAGS, ...LATENT_EXTENSION_FLAGS },
  options: { positionals?: boolean } = {},
): ParsedArgs {
  const expanded = expandTokens(tokens);
  const values: Record<string, ArgValue> = {};
  const sources: Record<string, string> = {};
  const files: Record<string, string> = {};
  const positionals: string[] = [];
  for (let i = 0; i < expanded.length; i++) {
    const { text, origin, file } = expanded[i];
    if (!looksLikeFlag(text)) {
      if (!options.positionals) throw strayToken(text, origin);
      positionals.push(text);
      continue;
    }
    let name = text.slice(2);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const def = flags[name];
    if (!def) {
      const near = closestFlag(name, Object.keys(flags));
      throw new ArgumentError(
        `unknown flag --${name} (${origin})` + (near ? `; did you mean --${near}?` : ''),
      );
    }
    let raw: string | undefined = inline;
    if (raw === undefined) {
      if (def.kind === 'boolean') {
        const next = expanded[i + 1]?.text;
        if (next === 'true' || next === 'false') {
          raw = next;
          i++;
        } else raw = 'true';
      } else if (isValueToken(expanded[i + 1]?.text)) {
        raw = expanded[++i].text;
      } else if (def.bareValue !== undefined) {
        raw = def.bareValue;
      } else {
        throw new ArgumentError(`--${name} needs a value (${origin}): ${def.help}`);
      }
    }
    values[name] = convert(name, def, raw, origin);
    sources[name] = origin;
    if (file) files[name] = file;
    else delete files[name];
  }
  return { values, sources, files, positionals };
}

function convert(name: string, def: FlagDef, raw: string, origin: string): ArgValue {
  const where = `--${name} ${raw} (${origin})`;
  switch (def.kind) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw)) throw new ArgumentError(`${where}: expected an integer`);
      const v = Number(raw);
      checkRange(v, def, where);
      return v;
    }
    case 'float': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new ArgumentError(`${where}: expected a finite number`);
      checkRange(v, def, where);
      return v;
    }
    case 'string':
      return raw;
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new ArgumentError(`${where}: expected true or false`);
      return raw === 'true';
    case 'choice':
      if (!def.choices!.includes(raw)) {
        throw new ArgumentError(`${where}: expected one of ${def.choices!.join(', ')}`);
      }
      return raw;
    case 'json':
      try {
        return JSON.parse(raw) as ArgValue;
      } catch {
        throw new ArgumentError(`${where}: not valid JSON (lists are written without spaces, e.g. [1,6])`);
      }
    case 'jsonOrString':
      // The reference accepts a JSON list or any other string; a bare number is also JSON.
      try {
        return JSON.parse(raw) as ArgValue;
      } catch {
        if (/^[\[{]/.test(raw)) throw new ArgumentError(`${where}: not valid JSON (write lists without spaces)`);
        return raw;
      }
  }
}

function checkRange(v: number, def: FlagDef, where: string): void {
  if (def.min !== undefined && (def.minExclusive ? !(v > def.min) : !(v >= def.min))) {
    throw new ArgumentError(`${where}: must be ${def.minExclusive ? '>' : '≥'} ${def.min}`);
  }
  if (def.max !== undefined && !(v <= def.max)) {
    const hint = def.max === 1 ? ' (a fraction: write 0.95, not 95)' : '';
    throw new ArgumentError(`${where}: must be ≤ ${def.max}${hint}`);
  }
}

function closestFlag(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** One line per flag, for `--help`. */
export function formatFlagHelp(flags: Readonly<Record<string, FlagDef>>): string {
  return Object.entries(flags)
    .map(([name, def]) => {
      const kind = def.kind === 'choice' ? def.choices!.join('|') : def.kind;
      return `  --${name.padEnd(22)} ${kind.padEnd(22)} ${def.help}`;
    })
    .join('\n');
}
