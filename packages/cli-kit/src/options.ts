/**
 * Typed option tables: one per command, the only place a command's flags are named, typed,
 * checked, defaulted and described.
 *
 * Syntax (argparse's, which the paper's scripts use): `--flag value`, `--flag=value`,
 * `@file` argument files (see argument-files.ts), later tokens override earlier ones
 * (repeatable flags collect every occurrence instead). `--a-b` and `--a_b` name the same
 * flag. A boolean flag alone means true; `--flag true|false` (or `=1|0`) sets it. A value may
 * start with `-` (a negative number) but never with `--`. List flags (`floats`, `ints`) take
 * the following value tokens and split them on commas: `--betas 0.9 0.95`, `--labels 0,1,2`.
 * `--` ends the flags. Every error is a `UsageError` naming the flag, the value, where it
 * came from (command line or file:line) and what was expected; an unknown flag gets the
 * nearest known name.
 */
import { existsSync, statSync } from 'node:fs';
import { expandArgumentFiles, type Token } from './argument-files.js';
import { UsageError } from './errors.js';
import { closestName } from './suggest.js';

export type OptionKind = 'int' | 'float' | 'string' | 'name' | 'boolean' | 'choice' | 'json' | 'jsonOrString' | 'floats' | 'ints';

export type ArgValue = number | string | boolean | unknown[] | Record<string, unknown> | null;

export interface OptionDef {
  kind: OptionKind;
  help: string;
  /** Allowed values for `choice`. */
  choices?: readonly string[];
  /** Value when the flag is absent (absent flags without one are left undefined). */
  default?: unknown;
  /** Value taken when the flag appears without one (e.g. a bare `--calculate_MI`). */
  bareValue?: string;
  /** Bounds for numbers, and for each entry of a list (inclusive unless …Exclusive). */
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
  /** Exact number of entries of a list flag. */
  count?: number;
  /** Every occurrence is kept, in order (the value is a list). */
  repeatable?: boolean;
  /** One-letter alias, written `-o`. */
  short?: string;
  /** Shown in help as the value's name, e.g. `<file>`. */
  valueName?: string;
  /** A further check of the converted value: the problem, or undefined when it is fine. */
  check?: (value: never) => string | undefined;
}

export type OptionTable = Readonly<Record<string, OptionDef>>;

/**
 * A check that guarantees the type of the value it accepts (for `json` flags, whose values
 * are otherwise any JSON): the flag's parsed value is typed `V`. Made by `typedCheck`.
 */
export type TypedCheck<V> = ((value: unknown) => string | undefined) & { readonly checkedType?: V };

/** Marks `problem` (the problem with a value, or undefined when it is fine) as the guarantee that a value is a `V`. */
export function typedCheck<V>(problem: (value: unknown) => string | undefined): TypedCheck<V> {
  return problem;
}

type KindValue<D> = D extends { kind: 'int' | 'float' }
  ? number
  : D extends { kind: 'boolean' }
    ? boolean
    : D extends { kind: 'choice'; choices: readonly (infer C)[] }
      ? C
      : D extends { kind: 'string' | 'name' }
        ? string
        : D extends { kind: 'floats' | 'ints' }
          ? number[]
          : D extends { check: TypedCheck<infer V> }
            ? unknown extends V
              ? ArgValue
              : V
            : ArgValue;

type OneValue<D> = D extends { repeatable: true } ? KindValue<D>[] : KindValue<D>;

/** The parsed values of a table: flags with a default (and repeatable ones) are always set. */
export type OptionValues<T extends OptionTable> = {
  -readonly [K in keyof T]: T[K] extends { default: unknown } | { repeatable: true } ? OneValue<T[K]> : OneValue<T[K]> | undefined;
};

export interface ParsedOptions<T extends OptionTable = OptionTable> {
  /** Typed values: the given ones, then the defaults. */
  values: OptionValues<T>;
  /** Names of the flags that were given (not defaulted). */
  given: Set<string>;
  /** Where each given value came from ('command line' or 'file:line'), for messages downstream. */
  sources: Record<string, string>;
  /** The argument file (absolute path) each given value came from, when it came from one. */
  files: Record<string, string>;
  /** Tokens that are not flags (sub-commands, inputs), when the command takes them. */
  positionals: string[];
}

export interface ParseOptions {
  /** Accept tokens that are no flag and no flag's value (default: refused, with a hint). */
  positionals?: boolean;
  /** Expand `@file` tokens (default true). */
  argumentFiles?: boolean;
}

const normalize = (name: string) => name.replace(/-/g, '_');
const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false };

const isFlag = (t: string) => t.startsWith('--') && t.length > 2;
/** A value token may start with '-' (a negative number), never with '--'. */
const isValue = (t: string | undefined): t is string => t !== undefined && !isFlag(t) && t !== '--';

/** A table looked up by exact name, by either spelling of `-`/`_`, and by short alias. */
function lookup(table: OptionTable): { byName: Map<string, string>; byShort: Map<string, string> } {
  const byName = new Map<string, string>();
  const byShort = new Map<string, string>();
  for (const [name, def] of Object.entries(table)) {
    byName.set(normalize(name), name);
    if (def.short) byShort.set(def.short, name);
  }
  return { byName, byShort };
}

/** A token that is neither a flag nor a flag's value; a file named without its '@' gets the hint. */
function strayHint(text: string): string {
  return existsSync(text) && statSync(text).isFile() ? `; to read the argument file, write @${text}` : '; flags start with --, argument files with @';
}

export function parseOptions<T extends OptionTable>(tokens: readonly string[], table: T, options: ParseOptions = {}): ParsedOptions<T> {
  const expanded: Token[] = options.argumentFiles === false ? tokens.map((text) => ({ text, origin: 'command line' })) : expandArgumentFiles(tokens);
  const { byName, byShort } = lookup(table);
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const sources: Record<string, string> = {};
  const files: Record<string, string> = {};
  const positionals: string[] = [];
  for (let i = 0; i < expanded.length; i++) {
    const { text, origin, file } = expanded[i];
    if (text === '--') {
      if (!options.positionals) throw new UsageError(`unexpected '--' (${origin}): this command takes no arguments after its flags`);
      positionals.push(...expanded.slice(i + 1).map((t) => t.text));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (isFlag(text)) {
      const eq = text.indexOf('=');
      const written = eq >= 0 ? text.slice(2, eq) : text.slice(2);
      if (eq >= 0) inline = text.slice(eq + 1);
      name = byName.get(normalize(written));
      if (!name) {
        const near = closestName(written, Object.keys(table));
        throw new UsageError(`unknown flag --${written} (${origin})${near ? `; did you mean --${near}?` : ''}`);
      }
    } else if (/^-[A-Za-z]$/.test(text)) {
      name = byShort.get(text.slice(1));
      if (!name) throw new UsageError(`unknown flag ${text} (${origin})`);
    } else {
      if (!options.positionals) throw new UsageError(`unexpected argument '${text}' (${origin})${strayHint(text)}`);
      positionals.push(text);
      continue;
    }
    const def = table[name];
    const next = () => expanded[i + 1]?.text;
    let raws: string[];
    if (inline !== undefined) raws = [inline];
    else if (def.kind === 'boolean') raws = next() !== undefined && next()! in BOOLEAN_WORDS ? [expanded[++i].text] : ['true'];
    else if (def.kind === 'floats' || def.kind === 'ints') {
      raws = [];
      while (isValue(next())) raws.push(expanded[++i].text);
      if (raws.length === 0) throw new UsageError(`--${name} needs a value (${origin}): ${def.help}`);
    } else if (isValue(next())) raws = [expanded[++i].text];
    else if (def.bareValue !== undefined) raws = [def.bareValue];
    else throw new UsageError(`--${name} needs a value (${origin}): ${def.help}`);
    const value = convert(name, def, raws, origin);
    if (def.repeatable) values[name] = [...((given.has(name) ? values[name] : []) as unknown[]), value];
    else values[name] = value;
    given.add(name);
    sources[name] = origin;
    if (file) files[name] = file;
    else delete files[name];
  }
  for (const [name, def] of Object.entries(table)) {
    if (given.has(name)) continue;
    if (def.default !== undefined) values[name] = structuredClone(def.default);
    else if (def.repeatable) values[name] = [];
  }
  return { values: values as OptionValues<T>, given, sources, files, positionals };
}

/** Converts the raw text of one occurrence to the flag's type, checking bounds and choices. */
function convert(name: string, def: OptionDef, raws: string[], origin: string): unknown {
  const raw = raws.join(' ');
  const where = `--${name} ${raw} (${origin})`;
  const fail = (what: string) => new UsageError(`${where}: ${what}`);
  const value = convertKind(def, raws, fail);
  const problem = def.check?.(value as never);
  if (problem) throw fail(problem);
  return value;
}

function convertKind(def: OptionDef, raws: string[], fail: (what: string) => UsageError): unknown {
  const raw = raws.join(' ');
  switch (def.kind) {
    case 'int':
      return inRange(integerOf(raw, fail, false), def, fail);
    case 'float':
      return inRange(decimalOf(raw, fail, false), def, fail);
    case 'floats':
    case 'ints': {
      const parts = raws.flatMap((r) => r.split(',')).filter((p) => p.trim() !== '');
      const list = parts.map((p) => inRange(def.kind === 'ints' ? integerOf(p.trim(), fail, true) : decimalOf(p.trim(), fail, true), def, fail));
      if (def.count !== undefined && list.length !== def.count) throw fail(`expected ${def.count} numbers, got ${list.length}`);
      return list;
    }
    case 'string':
      return raw;
    case 'name': {
      const problem = nameProblem(raw);
      if (problem) throw fail(problem);
      return raw;
    }
    case 'boolean':
      if (!(raw in BOOLEAN_WORDS)) throw fail('expected true or false');
      return BOOLEAN_WORDS[raw];
    case 'choice':
      if (!def.choices!.includes(raw)) throw fail(`expected one of ${def.choices!.join(', ')}`);
      return raw;
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw fail('not valid JSON (lists are written without spaces, e.g. [1,6])');
      }
    case 'jsonOrString':
      // The reference accepts a JSON list or any other string; a bare number is also JSON.
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        if (/^[[{]/.test(raw)) throw fail('not valid JSON (write lists without spaces)');
        return raw;
      }
  }
}

/** Decimal notation only: `Number` would also read 0x10, 0b1, 1_000 (no), Infinity and '' (as 0). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal integer that a double holds exactly (|v| ≤ 2^53 − 1): beyond, digits would be lost silently. */
function integerOf(text: string, fail: (what: string) => UsageError, inList: boolean): number {
  if (!/^[+-]?\d+$/.test(text)) throw fail(inList ? `'${text}' is not an integer` : 'expected an integer');
  const v = Number(text);
  if (!Number.isSafeInteger(v)) throw fail(`'${text}' is too large: integers up to ${Number.MAX_SAFE_INTEGER} in magnitude`);
  return v;
}

/** A finite number written in decimal (scientific notation allowed). */
function decimalOf(text: string, fail: (what: string) => UsageError, inList: boolean): number {
  const v = Number(text);
  if (!DECIMAL.test(text)) {
    if (text.trim() !== '' && Number.isFinite(v)) throw fail(`'${text}' is not written in decimal (for this value write ${v})`);
    throw fail(inList ? `'${text}' is not a finite number` : 'expected a finite number');
  }
  if (!Number.isFinite(v)) throw fail(`'${text}' is not a finite number: beyond the range of a double`);
  return v;
}

/** Longest name accepted: a file name of 255 bytes must also hold suffixes such as `_<job>.manifest.json.tmp`. */
export const MAX_NAME_BYTES = 120;

/**
 * Why `text` cannot name a dataset, run or model (it becomes part of file names inside a
 * chosen folder), or undefined when it can: non-empty, at most MAX_NAME_BYTES bytes, no path
 * separator or traversal, no leading '.' (a hidden file), no control characters.
 */
export function nameProblem(text: string): string | undefined {
  if (text.trim() === '') return 'a name cannot be empty';
  if (/[/\\]/.test(text)) return 'a name cannot hold a path separator (/ or \\): choose the folder with its own flag';
  if (text === '.' || text === '..' || text.startsWith('.')) return "a name cannot start with '.' (a hidden file, or a way out of the folder)";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'a name cannot hold control characters';
  if (Buffer.byteLength(text) > MAX_NAME_BYTES) return `a name is at most ${MAX_NAME_BYTES} bytes (this one has ${Buffer.byteLength(text)})`;
  return undefined;
}

function inRange(v: number, def: OptionDef, fail: (what: string) => UsageError): number {
  if (def.min !== undefined && (def.minExclusive ? !(v > def.min) : !(v >= def.min))) throw fail(`must be ${def.minExclusive ? '>' : '≥'} ${def.min}`);
  if (def.max !== undefined && (def.maxExclusive ? !(v < def.max) : !(v <= def.max))) {
    const hint = def.max === 1 && !def.maxExclusive ? ' (a fraction: write 0.95, not 95)' : '';
    throw fail(`must be ${def.maxExclusive ? '<' : '≤'} ${def.max}${hint}`);
  }
  return v;
}

/** The value column of the help: choices, a value name or the kind. */
function valueText(def: OptionDef): string {
  if (def.kind === 'boolean') return '';
  if (def.valueName) return def.valueName;
  if (def.kind === 'choice') return def.choices!.join('|');
  return def.kind;
}

/** One line per flag, for `--help`: name (and short alias), value, help, default. */
export function formatOptionHelp(table: OptionTable): string {
  const rows = Object.entries(table).map(([name, def]) => {
    const flag = `--${name}${def.short ? `, -${def.short}` : ''}`;
    const dflt =
      def.default !== undefined && def.kind !== 'boolean' && !(Array.isArray(def.default) && def.default.length === 0) && def.default !== ''
        ? ` (default ${JSON.stringify(def.default)})`
        : '';
    return { flag, value: valueText(def), help: `${def.help}${dflt}` };
  });
  const flagWidth = Math.max(...rows.map((r) => r.flag.length), 10);
  const valueWidth = Math.min(22, Math.max(...rows.map((r) => r.value.length), 4));
  return rows.map((r) => `  ${r.flag.padEnd(flagWidth)} ${r.value.padEnd(valueWidth)} ${r.help}`).join('\n');
}

/**
 * Splits tokens into the flags of `table` (with their values) and everything else, in order:
 * for a command whose other tokens go on to another reader (e.g. `figures @a.txt --alpha 2
 * --out dir`: `--out dir` is the command's, `@a.txt --alpha 2` a configuration's).
 */
export function partitionOptions(tokens: readonly string[], table: OptionTable): { own: string[]; rest: string[] } {
  const { byName } = lookup(table);
  const own: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const name = isFlag(t) ? byName.get(normalize(t.slice(2).split('=')[0])) : undefined;
    if (!name) {
      rest.push(t);
      continue;
    }
    own.push(t);
    if (t.includes('=')) continue;
    const kind = table[name].kind;
    if (kind === 'boolean') {
      if (tokens[i + 1] !== undefined && tokens[i + 1] in BOOLEAN_WORDS) own.push(tokens[++i]);
    } else if (kind === 'floats' || kind === 'ints') {
      while (isValue(tokens[i + 1])) own.push(tokens[++i]);
    } else if (isValue(tokens[i + 1])) own.push(tokens[++i]);
  }
  return { own, rest };
}
