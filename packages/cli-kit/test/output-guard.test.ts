/**
 * The output rule against real files: an existing output is refused without --overwrite and
 * kept byte for byte; an output that is an input (the same path, another spelling, a symbolic
 * link, a hard link) is refused even with --overwrite; folders are claimed by what they hold.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { claimOutputFile, claimOutputFolder, InputError, OutputRefused, sameFile } from '../src/index.js';

function scratch() {
  const dir = tempDir('mmmi-output-guard-');
  const input = join(dir, 'a', 'input.bin');
  mkdirSync(join(dir, 'a'));
  writeFileSync(input, 'the input');
  return { dir, input };
}

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a refusal');
};

describe('claimOutputFile', () => {
  it('a new path is claimed and its missing folders made', () => {
    const { dir } = scratch();
    const out = join(dir, 'new', 'deeper', 'out.png');
    expect(claimOutputFile(out, { flag: '--out' })).toEqual({ path: out, replaces: undefined });
    expect(existsSync(join(dir, 'new', 'deeper'))).toBe(true);
    expect(existsSync(out)).toBe(false);
  });

  it('an existing file: refused without --overwrite (naming the path, what is there and the fixes), claimed with it', () => {
    const { dir } = scratch();
    const out = join(dir, 'old.png');
    writeFileSync(out, '12345');
    const e = refusal(() => claimOutputFile(out, { flag: '--out', alternative: 'continue it with --resume latest' }));
    expect(e).toBeInstanceOf(OutputRefused);
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(
      `--out ${out}: exists (a file of 5 bytes) and this run did not make it; continue it with --resume latest, or pass --overwrite to replace it, or choose another --out`,
    );
    expect(readFileSync(out, 'utf8')).toBe('12345');
    expect(claimOutputFile(out, { flag: '--out', overwrite: true })).toEqual({ path: out, replaces: 'a file of 5 bytes' });
  });

  it('the input itself, by the same path, by ./a/../a, through a symbolic link or a hard link: refused even with --overwrite', () => {
    const { dir, input } = scratch();
    const link = join(dir, 'link.bin');
    symlinkSync(input, link);
    const hard = join(dir, 'hard.bin');
    linkSync(input, hard);
    const cases: [string, RegExp][] = [
      [input, /is the input --checkpoint .*input\.bin; a command never writes over its input, even with --overwrite: choose another file for --out$/],
      [join(dir, 'a', '..', 'a', 'input.bin'), /is the input --checkpoint .*input\.bin; /],
      [link, /is the input --checkpoint .*input\.bin \(the same file by another path or a symbolic link\)/],
      [hard, /is the input --checkpoint .*input\.bin \(the same file through a hard link\)/],
    ];
    for (const [out, message] of cases) {
      const e = refusal(() =>
        claimOutputFile(out, { flag: '--out', overwrite: true, inputs: { '--data': undefined, '--checkpoint': [join(dir, 'other'), input] } }),
      );
      expect(e, out).toBeInstanceOf(OutputRefused);
      expect(e.message, out).toMatch(message);
    }
    expect(readFileSync(input, 'utf8')).toBe('the input');
  });

  it('a folder where a file is wanted, a dangling link, and a path through a file: one line each', () => {
    const { dir, input } = scratch();
    expect(refusal(() => claimOutputFile(join(dir, 'a'), { flag: '--out', overwrite: true })).message).toMatch(
      /: is a folder, not a file; name a file for --out$/,
    );
    const dangling = join(dir, 'dangling.png');
    symlinkSync(join(dir, 'nowhere'), dangling);
    expect(refusal(() => claimOutputFile(dangling, { flag: '--out' })).message).toMatch(/exists \(a dangling symbolic link to .*nowhere\)/);
    const through = refusal(() => claimOutputFile(join(input, 'x.png'), { flag: '--out' }));
    expect(through).toBeInstanceOf(InputError);
    expect(through.message).toMatch(/^--out .*input\.bin.*: a part of the path is a file, not a folder \(ENOTDIR\)/);
  });
});

describe('claimOutputFolder', () => {
  it('made when missing; an existing folder is claimed unless it holds what the command would replace', () => {
    const { dir } = scratch();
    const out = join(dir, 'report');
    const holds = (f: string) => (existsSync(join(f, 'README.md')) ? 'a finished report (README.md)' : undefined);
    expect(claimOutputFolder(out, { flag: '--out', holds })).toEqual({ path: out, replaces: undefined });
    expect(existsSync(out)).toBe(true);
    expect(claimOutputFolder(out, { flag: '--out', holds }).replaces).toBeUndefined();
    writeFileSync(join(out, 'README.md'), 'done');
    expect(refusal(() => claimOutputFolder(out, { flag: '--out', holds })).message).toBe(
      `--out ${out}: holds a finished report (README.md); pass --overwrite to replace it, or choose another --out`,
    );
    expect(claimOutputFolder(out, { flag: '--out', holds, overwrite: true }).replaces).toBe('a finished report (README.md)');
  });

  it('a file where a folder is wanted, and the input folder itself (through a link), are refused', () => {
    const { dir, input } = scratch();
    expect(refusal(() => claimOutputFolder(input, { flag: '--output_dir', overwrite: true })).message).toMatch(
      /^--output_dir .*input\.bin: is a file of 9 bytes, not a folder; choose another --output_dir$/,
    );
    const link = join(dir, 'data-link');
    symlinkSync(join(dir, 'a'), link);
    expect(refusal(() => claimOutputFolder(link, { flag: '--out', overwrite: true, inputs: { '--data': join(dir, 'a') } })).message).toMatch(
      /is the input --data .*\/a \(the same file by another path or a symbolic link\); .*choose another folder for --out$/,
    );
  });
});

describe('sameFile', () => {
  it('by device and inode; a missing path is nobody', () => {
    const { dir, input } = scratch();
    expect(sameFile(input, join(dir, 'a', '.', 'input.bin'))).toBe(true);
    expect(sameFile(input, join(dir, 'missing'))).toBe(false);
    writeFileSync(join(dir, 'copy.bin'), 'the input');
    expect(sameFile(input, join(dir, 'copy.bin'))).toBe(false);
  });
});
