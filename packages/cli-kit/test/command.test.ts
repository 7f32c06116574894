import { describe, expect, it } from 'vitest';
import { runCli, type CliSpec } from '../src/command.js';
import { EXIT, UsageError } from '../src/errors.js';
import { typedCheck, parseOptions, type OptionTable } from '../src/options.js';

async function cli(argv: string[], spec: Partial<CliSpec> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const ran: string[][] = [];
  const code = await runCli(
    argv,
    {
      name: 'mmmi-x',
      usage: 'usage: mmmi-x <a | b>',
      commands: {
        a: (rest) => {
          ran.push(['a', ...rest]);
          return 0;
        },
        b: () => {
          throw new UsageError('--y 2: expected z');
        },
      },
      ...spec,
    },
    { out: (l) => out.push(l), err: (l) => err.push(l) },
  );
  return { code, out, err, ran };
}

describe('runCli: one entry shape for every command line', () => {
  it('runs the sub-command named first on the tokens after it', async () => {
    expect(await cli(['a', '--x', '1'])).toEqual({ code: 0, out: [], err: [], ran: [['a', '--x', '1']] });
  });

  it('prints the usage: on the output stream when asked (exit 0), on the error stream when nothing was said (exit 2)', async () => {
    for (const word of ['--help', '-h', 'help']) expect(await cli([word])).toMatchObject({ code: EXIT.ok, out: ['usage: mmmi-x <a | b>'], err: [] });
    expect(await cli([])).toMatchObject({ code: EXIT.usage, out: [], err: ['usage: mmmi-x <a | b>'] });
  });

  it('an unknown command exits 2 naming the commands, with the usage', async () => {
    expect(await cli(['c'])).toMatchObject({ code: EXIT.usage, err: ["mmmi-x: error: unknown command 'c' (commands: a, b)", 'usage: mmmi-x <a | b>'] });
  });

  it("a sub-command's errors take the shared rule, its usage hint names the sub-command", async () => {
    expect(await cli(['b'])).toMatchObject({ code: EXIT.usage, err: ['mmmi-x: error: --y 2: expected z', '(mmmi-x b --help for usage)'] });
  });

  it('a default runs on all the tokens when the first names no sub-command', async () => {
    const all: string[][] = [];
    const r = await cli(['@args.txt', '--z'], { default: (argv) => (all.push(argv), 0) });
    expect(r.code).toBe(0);
    expect(all).toEqual([['@args.txt', '--z']]);
  });
});

describe('typed option tables', () => {
  it('a json flag with a typed check is typed by it, and checked', () => {
    const problem = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? undefined : 'expected a list of numbers');
    const table = { list: { kind: 'json', check: typedCheck<number[]>(problem), help: 'numbers' } } as const satisfies OptionTable;
    const list: number[] | undefined = parseOptions(['--list', '[1,2]'], table).values.list;
    expect(list).toEqual([1, 2]);
    expect(() => parseOptions(['--list', '["a"]'], table)).toThrow(/--list \["a"\] \(command line\): expected a list of numbers/);
  });
});
