import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { formatOptionHelp, parseOptions, partitionOptions, type OptionTable } from '../src/options.js';
import { closestName, editDistance } from '../src/suggest.js';

const tmp = () => tempDir('cli-kit-options-');

const TABLE = {
  batch_size: { kind: 'int', min: 1, default: 32, help: 'images per batch' },
  lr: { kind: 'float', min: 0, minExclusive: true, default: 1e-4, help: 'learning rate' },
  betas: { kind: 'floats', count: 2, min: 0, max: 1, maxExclusive: true, default: [0.9, 0.95], help: 'AdamW betas' },
  labels: { kind: 'ints', min: 0, help: 'classes' },
  use_ema: { kind: 'boolean', default: false, help: 'EMA' },
  method: { kind: 'choice', choices: ['euler', 'heun2'], default: 'heun2', help: 'solver' },
  query: { kind: 'string', repeatable: true, help: 'a query' },
  output: { kind: 'string', short: 'o', help: 'output file' },
  options: {
    kind: 'json',
    default: { nfe: 50 },
    help: 'solver options',
    check: (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? undefined : 'expected a JSON object'),
  },
  calculate_MI: { kind: 'choice', choices: ['numerical', 'analytical'], bareValue: 'numerical', help: 'MI method' },
} as const satisfies OptionTable;

const error = (tokens: string[], options = {}) => {
  try {
    parseOptions(tokens, TABLE, options);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${tokens.join(' ')}`);
};

describe('parseOptions', () => {
  it('types values, applies defaults, and records what was given and where', () => {
    const p = parseOptions(['--batch_size', '8', '--lr=3e-4', '--use_ema', '--query', 'a', '--query=b', '-o', 'out.npz'], TABLE);
    expect(p.values).toEqual({
      batch_size: 8,
      lr: 3e-4,
      betas: [0.9, 0.95],
      use_ema: true,
      method: 'heun2',
      query: ['a', 'b'],
      output: 'out.npz',
      options: { nfe: 50 },
    });
    expect([...p.given].sort()).toEqual(['batch_size', 'lr', 'output', 'query', 'use_ema']);
    expect(p.sources.batch_size).toBe('command line');
    expect(p.values.labels).toBeUndefined();
  });

  it('reads --a-b as --a_b, later values override earlier ones, and defaults are fresh copies', () => {
    const p = parseOptions(['--batch-size', '8', '--batch_size', '16'], TABLE);
    expect(p.values.batch_size).toBe(16);
    p.values.betas.push(1);
    expect(parseOptions([], TABLE).values.betas).toEqual([0.9, 0.95]);
  });

  it('booleans: bare is true, a following true/false/1/0 or =value sets it', () => {
    expect(parseOptions(['--use_ema', 'false'], TABLE).values.use_ema).toBe(false);
    expect(parseOptions(['--use_ema=0'], TABLE).values.use_ema).toBe(false);
    expect(parseOptions(['--use_ema', '--lr', '1'], TABLE).values).toMatchObject({ use_ema: true, lr: 1 });
    expect(error(['--use_ema=maybe'])).toMatch(/--use_ema maybe \(command line\): expected true or false/);
  });

  it('list flags take the following values, split on commas, with counts and bounds per entry', () => {
    expect(parseOptions(['--betas', '0.8', '0.9', '--batch_size', '2'], TABLE).values).toMatchObject({ betas: [0.8, 0.9], batch_size: 2 });
    expect(parseOptions(['--betas=0.5,0.6'], TABLE).values.betas).toEqual([0.5, 0.6]);
    expect(parseOptions(['--labels', '0,1,2'], TABLE).values.labels).toEqual([0, 1, 2]);
    expect(error(['--betas', '0.9'])).toMatch(/--betas 0\.9 \(command line\): expected 2 numbers, got 1/);
    expect(error(['--betas', '0.9', '1'])).toMatch(/must be < 1/);
    expect(error(['--betas', '0.9', 'x'])).toMatch(/'x' is not a finite number/);
    expect(error(['--labels', '1.5'])).toMatch(/'1\.5' is not an integer/);
    expect(error(['--labels', '-1'])).toMatch(/must be ≥ 0/);
    expect(error(['--labels'])).toMatch(/--labels needs a value/);
  });

  it('numbers: integers, finite floats, bounds; a negative number is a value, not a flag', () => {
    expect(error(['--batch_size', 'two'])).toMatch(/^--batch_size two \(command line\): expected an integer$/);
    expect(error(['--batch_size', '0'])).toMatch(/must be ≥ 1/);
    expect(error(['--lr', 'nan'])).toMatch(/expected a finite number/);
    expect(error(['--lr', '0'])).toMatch(/must be > 0/);
    expect(error(['--lr', '-1'])).toMatch(/--lr -1 .*must be > 0/);
    expect(error(['--lr'])).toMatch(/^--lr needs a value \(command line\): learning rate$/);
  });

  it('choices, JSON with a check, and a bare value for flags that have one', () => {
    expect(error(['--method', 'rk45'])).toMatch(/expected one of euler, heun2/);
    expect(parseOptions(['--options', '{"nfe":10}'], TABLE).values.options).toEqual({ nfe: 10 });
    expect(error(['--options', '[1]'])).toMatch(/--options \[1\] \(command line\): expected a JSON object/);
    expect(error(['--options', '{nfe'])).toMatch(/not valid JSON/);
    expect(parseOptions(['--calculate_MI', '--batch_size', '2'], TABLE).values).toMatchObject({ calculate_MI: 'numerical', batch_size: 2 });
  });

  it('unknown flags get the nearest name; stray tokens are refused unless the command takes positionals', () => {
    expect(error(['--bach_size', '2'])).toMatch(/^unknown flag --bach_size \(command line\); did you mean --batch_size\?$/);
    expect(error(['--zzzzzz'])).toBe('unknown flag --zzzzzz (command line)');
    expect(error(['-x'])).toMatch(/unknown flag -x/);
    expect(error(['stray'])).toMatch(/^unexpected argument 'stray' \(command line\); flags start with --, argument files with @$/);
    const p = parseOptions(['a', '--batch_size', '2', 'b', '--', '--lr', 'c'], TABLE, { positionals: true });
    expect(p.positionals).toEqual(['a', 'b', '--lr', 'c']);
    expect(p.values.lr).toBe(1e-4);
  });

  it('a file named without its @ gets the hint', () => {
    const f = join(tmp(), 'args.txt');
    writeFileSync(f, '--batch_size 4\n');
    expect(error([f])).toContain(`to read the argument file, write @${f}`);
  });
});

describe('argument files', () => {
  it('expand in place with file:line origins, nested files resolve beside the including file, later tokens win', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'base.txt'), '# base\n--batch_size 4\n\n--lr 0.5\n');
    writeFileSync(join(dir, 'sub', 'top.txt'), '@base.txt\n--batch_size 8 --use_ema\n');
    const p = parseOptions([`@${join(dir, 'sub', 'top.txt')}`, '--lr', '0.25'], TABLE);
    expect(p.values).toMatchObject({ batch_size: 8, lr: 0.25, use_ema: true });
    expect(p.sources.batch_size).toMatch(/top\.txt:2$/);
    expect(p.files.batch_size).toBe(join(dir, 'sub', 'top.txt'));
    expect(p.files.lr).toBeUndefined();
  });

  it('refuse a bare @, missing files, folders, empty files, self-inclusion (with the chain), inline comments', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'empty.txt'), '# nothing\n\n');
    writeFileSync(join(dir, 'self.txt'), `--lr 1\n@${join(dir, 'self.txt')}\n`);
    writeFileSync(join(dir, 'inline.txt'), '--lr 1 # one\n');
    expect(error(['@'])).toMatch(/a bare '@' \(command line\)/);
    expect(error([`@${join(dir, 'none.txt')}`])).toMatch(/argument file @.*none\.txt not found/);
    expect(error([`@${dir}`])).toMatch(/is a folder, not a file/);
    expect(error([`@${join(dir, 'empty.txt')}`])).toMatch(/has no flags \(only blank lines and comments\)/);
    expect(error([`@${join(dir, 'self.txt')}`])).toMatch(new RegExp(`includes itself: ${join(dir, 'self.txt')} → ${join(dir, 'self.txt')}`));
    expect(error([`@${join(dir, 'inline.txt')}`])).toMatch(/'#' inside a line \(.*inline\.txt:1\)/);
  });

  it('a chain deeper than 16 is refused, naming the chain', () => {
    const dir = tmp();
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `f${i}.txt`), i === 19 ? '--lr 1\n' : `@${join(dir, `f${i + 1}.txt`)}\n`);
    expect(error([`@${join(dir, 'f0.txt')}`])).toMatch(/nest more than 16 deep: .*f0\.txt → .*f1\.txt/);
  });

  it('are not read when the command says so', () => {
    expect(parseOptions(['@x'], {}, { positionals: true, argumentFiles: false }).positionals).toEqual(['@x']);
  });
});

describe('partitionOptions', () => {
  it("takes a table's flags with their values out of a token list, keeping the order of the rest", () => {
    const tokens = ['@a.txt', '--alpha', '2', '--out', 'dir', '@b.txt', '--use_ema', 'true', '--betas', '0.1', '0.2', '--beta', '3', '--lr=1'];
    const table = {
      out: { kind: 'string', help: '' },
      use_ema: { kind: 'boolean', help: '' },
      betas: { kind: 'floats', help: '' },
      lr: { kind: 'float', help: '' },
    } as const satisfies OptionTable;
    expect(partitionOptions(tokens, table)).toEqual({
      own: ['--out', 'dir', '--use_ema', 'true', '--betas', '0.1', '0.2', '--lr=1'],
      rest: ['@a.txt', '--alpha', '2', '@b.txt', '--beta', '3'],
    });
  });
});

describe('help and suggestions', () => {
  it('one line per flag with its short alias, value and default', () => {
    const help = formatOptionHelp(TABLE);
    expect(help.split('\n')).toHaveLength(Object.keys(TABLE).length);
    expect(help).toMatch(/--batch_size +int +images per batch \(default 32\)/);
    expect(help).toMatch(/--output, -o +string +output file$/m);
    expect(help).toMatch(/--method +euler\|heun2 +solver \(default "heun2"\)/);
    expect(help).toMatch(/--use_ema +EMA$/m);
  });

  it('edit distance is Levenshtein; suggestions only for near misses', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(closestName('N_mdo', ['N_mod', 'N_u'])).toBe('N_mod');
    expect(closestName('xyzzy', ['N_mod', 'N_u'])).toBeUndefined();
  });
});

describe('numbers are decimal, integers exact, names are names', () => {
  it('refuses hexadecimal, binary, Infinity and empty text where a number is expected', () => {
    for (const text of ['0x10', '0b1', '0o7']) expect(error(['--lr', text])).toMatch(/is not written in decimal \(for this value write \d+\)/);
    for (const text of ['Infinity', '-Infinity', '1e', '.', '1_000', ' ']) expect(error(['--lr', text])).toMatch(/expected a finite number$/);
    expect(error(['--lr', '1e999'])).toMatch(/beyond the range of a double/);
    expect(error(['--betas', '0x1,0.5'])).toMatch(/'0x1' is not written in decimal/);
    expect(parseOptions(['--lr', '2.5e-3'], TABLE).values.lr).toBe(0.0025);
    expect(parseOptions(['--lr', '.5'], TABLE).values.lr).toBe(0.5);
    expect(parseOptions(['--lr', '+3.'], TABLE).values.lr).toBe(3);
  });

  it('refuses integers a double cannot hold exactly, instead of rounding them', () => {
    expect(error(['--batch_size', '9007199254740993'])).toMatch(/too large/);
    expect(error(['--labels', '1,99999999999999999999'])).toMatch(/too large/);
    expect(parseOptions(['--batch_size', String(Number.MAX_SAFE_INTEGER)], TABLE).values.batch_size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("a 'name' is non-empty, bounded, without separators, traversal, a leading dot or control characters", () => {
    const table = { dataset_name: { kind: 'name', help: 'a name' } } as const satisfies OptionTable;
    const refused = (text: string) => {
      try {
        parseOptions(['--dataset_name', text], table);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(text)}`);
    };
    expect(refused('')).toMatch(/empty/);
    expect(refused('   ')).toMatch(/empty/);
    expect(refused('../escape')).toMatch(/separator/);
    expect(refused('a/b')).toMatch(/separator/);
    expect(refused('a\\b')).toMatch(/separator/);
    expect(refused('..')).toMatch(/start with '\.'/);
    expect(refused('.hidden')).toMatch(/start with '\.'/);
    expect(refused('tab\there')).toMatch(/control/);
    expect(refused('x'.repeat(121))).toMatch(/at most 120 bytes/);
    expect(refused('é'.repeat(61))).toMatch(/this one has 122/);
    expect(parseOptions(['--dataset_name', 'simple_fig1-DAG.v2 ρ'], table).values.dataset_name).toBe('simple_fig1-DAG.v2 ρ');
  });
});

describe('argument file encodings and line ends', () => {
  const utf16 = (text: string, bigEndian: boolean) => {
    const le = Buffer.from(text, 'utf16le');
    if (!bigEndian) return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
    const be = Buffer.alloc(le.length);
    for (let i = 0; i < le.length; i += 2) [be[i], be[i + 1]] = [le[i + 1], le[i]];
    return Buffer.concat([Buffer.from([0xfe, 0xff]), be]);
  };

  it('reads UTF-16 (either byte order, with its mark), UTF-8 with a mark, and CR, CRLF or LF line ends alike', () => {
    const dir = tmp();
    const text = '# a comment\r\n--batch_size 4\r\n--lr 0.5\r\n';
    const files: Record<string, Buffer> = {
      'le.txt': utf16(text, false),
      'be.txt': utf16(text, true),
      'bom8.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
      'cr.txt': Buffer.from(text.replaceAll('\r\n', '\r')),
      'lf.txt': Buffer.from(text.replaceAll('\r\n', '\n')),
    };
    for (const [name, bytes] of Object.entries(files)) {
      writeFileSync(join(dir, name), bytes);
      const parsed = parseOptions([`@${join(dir, name)}`], TABLE);
      expect([name, parsed.values.batch_size, parsed.values.lr]).toEqual([name, 4, 0.5]);
      expect(parsed.sources.lr).toMatch(/:3$/);
    }
  });

  it('refuses UTF-16 without a byte-order mark, binary content and invalid UTF-8, saying how to fix it', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'nobom.txt'), Buffer.from('--batch_size 4\n', 'utf16le'));
    writeFileSync(join(dir, 'binary.txt'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48]));
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from('--lr 0.5 \xe9\n', 'latin1'));
    expect(error([`@${join(dir, 'nobom.txt')}`])).toMatch(/UTF-16 without a byte-order mark.*iconv -f UTF-16LE/);
    expect(error([`@${join(dir, 'binary.txt')}`])).toMatch(/not a text file/);
    expect(error([`@${join(dir, 'latin1.txt')}`])).toMatch(/not valid UTF-8/);
  });
});
