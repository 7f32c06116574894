import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf, InputError, RunFailure, UsageError } from '../src/errors.js';
import { runCommand } from '../src/run.js';

class OtherPackageInputError extends Error {}
class OtherPackageFailure extends Error {}

async function run(body: () => number | Promise<number>, env: Record<string, string> = {}) {
  const lines: string[] = [];
  const code = await runCommand(body, {
    name: 'mmmi-x',
    err: (l) => lines.push(l),
    env,
    helpHint: 'mmmi-x --help for usage',
    kinds: { input: [OtherPackageInputError], failure: [OtherPackageFailure] },
    hints: [{ when: OtherPackageFailure, hint: 'try again with network' }],
  });
  return { code, lines };
}

describe('exit codes', () => {
  it('0 for a finished body, its own code when it returns one', async () => {
    expect(await run(() => 0)).toEqual({ code: 0, lines: [] });
    expect((await run(() => 1)).code).toBe(1);
  });

  it('2 for bad input (InputError, UsageError, classes the command names), with one line and no stack', async () => {
    expect(
      await run(() => {
        throw new UsageError('--x 1: expected y');
      }),
    ).toEqual({ code: EXIT.usage, lines: ['mmmi-x: error: --x 1: expected y', '(mmmi-x --help for usage)'] });
    expect(
      await run(() => {
        throw new InputError('data.npz: not a shard');
      }),
    ).toEqual({ code: 2, lines: ['mmmi-x: error: data.npz: not a shard'] });
    expect(
      await run(async () => {
        throw new OtherPackageInputError('bad config');
      }),
    ).toEqual({ code: 2, lines: ['mmmi-x: error: bad config'] });
  });

  it('1 for a failed run, with the hint of its kind; an unexpected error shows its stack only with MMMI_DEBUG', async () => {
    expect(
      await run(() => {
        throw new RunFailure('disk full');
      }),
    ).toEqual({ code: EXIT.failure, lines: ['mmmi-x: error: disk full'] });
    expect(
      await run(() => {
        throw new OtherPackageFailure('HTTP 503');
      }),
    ).toEqual({ code: 1, lines: ['mmmi-x: error: HTTP 503; try again with network'] });
    expect(
      await run(() => {
        throw new TypeError('x is undefined');
      }),
    ).toEqual({ code: 1, lines: ['mmmi-x: error: x is undefined'] });
    const debug = await run(
      () => {
        throw new TypeError('x is undefined');
      },
      { MMMI_DEBUG: '1' },
    );
    expect(debug.code).toBe(1);
    expect(debug.lines[1]).toMatch(/^TypeError: x is undefined\n\s+at /);
  });

  it('exitCodeOf agrees with the rule', () => {
    expect(exitCodeOf(new UsageError('u'))).toBe(2);
    expect(exitCodeOf(new RangeError('r'))).toBe(1);
    expect(exitCodeOf(new RangeError('r'), { input: [RangeError] })).toBe(2);
    expect(exitCodeOf('a string')).toBe(1);
  });
});
