/**
 * File-system errors in words: real errors from node:fs (made to fail the same way for root:
 * a path under a file, a symlink loop, a name over 255 bytes, a dangling link), each one line
 * with the path, the cause and the fix, and the exit code of the rule in fs-errors.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { expandArgumentFiles } from '../src/argument-files.js';
import { EXIT, UsageError } from '../src/errors.js';
import { describeFsError, fsError, FsFailure, FsInputError, isErrnoError, plainFsMessage, unreachableReason, type ErrnoError } from '../src/fs-errors.js';
import { runCommand } from '../src/run.js';

const tmp = tempDir('mmmi-fs-errors-');

/** The error `f` throws (it must throw one). */
function thrown(f: () => unknown): ErrnoError {
  try {
    f();
  } catch (e) {
    if (isErrnoError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** A raw errno phrase of Node, as the runner of scripts/bad-inputs.ts sees it. */
const RAW = /\bE[A-Z]+: /;

describe('describeFsError', () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  const loop = join(tmp, 'loop');
  symlinkSync(loop, loop);
  const dangling = join(tmp, 'dangling');
  symlinkSync(join(tmp, 'nowhere'), dangling);

  it.each([
    ['a missing file', () => readFileSync(join(tmp, 'missing.txt')), 'ENOENT', /missing\.txt: no such file or folder \(ENOENT\); check the path/, true],
    ['a path under a file', () => writeFileSync(join(file, 'out.npz'), 'x'), 'ENOTDIR', /a-file\/out\.npz: a part of the path is a file, not a folder/, true],
    ['a symlink loop', () => readFileSync(loop), 'ELOOP', /loop: too many levels of symbolic links \(a symlink loop\) \(ELOOP\); fix or remove the link/, true],
    [
      'a name over 255 bytes',
      () => writeFileSync(join(tmp, 'n'.repeat(300)), 'x'),
      'ENAMETOOLONG',
      /n{300}: the name is too long .*choose a shorter name/,
      true,
    ],
    [
      'a dangling link',
      () => readFileSync(dangling),
      'ENOENT',
      /dangling: is a symbolic link to .*nowhere, which does not exist \(ENOENT\); fix or remove the link/,
      true,
    ],
    ['a folder made twice', () => mkdirSync(tmp), 'EEXIST', /: already exists \(EEXIST\); remove it, or choose another path/, true],
  ])('%s: one line with the path, the cause and the fix', (_name, f, code, wording, input) => {
    const err = thrown(f);
    expect(err.code).toBe(code);
    const line = describeFsError(err);
    expect(line).toMatch(wording);
    expect(line).toContain(err.path!);
    expect(line).not.toMatch(RAW);
    expect(line).not.toContain('\n');
    expect(fsError(err)).toBeInstanceOf(input ? FsInputError : FsFailure);
  });

  it('a folder read as a file: Node records no path (the read, not the open, fails), so the line names the call, or the path the caller gives', () => {
    const err = thrown(() => readFileSync(tmp));
    expect(err.code).toBe('EISDIR');
    expect(describeFsError(err)).toBe('a file operation (read): is a folder where a file is needed (EISDIR); name a file, not a folder');
    expect(describeFsError(err, { what: '--data', path: tmp })).toBe(`--data ${tmp}: is a folder where a file is needed (EISDIR); name a file, not a folder`);
  });

  it('codes of a refusing machine are run failures (exit 1), with their own fix', () => {
    const make = (code: string, syscall = 'open') => Object.assign(new Error(`${code}: whatever, ${syscall} '/mnt/x'`), { code, syscall, path: '/mnt/x' });
    expect(describeFsError(make('EROFS'))).toBe('/mnt/x: the file system is read-only (EROFS); choose a path on a writable file system');
    expect(describeFsError(make('ENOSPC'))).toBe('/mnt/x: no space left on the device (ENOSPC); free some space, or choose a path on another device');
    for (const code of ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EMFILE', 'EXDEV', 'EBUSY', 'EIO']) {
      const e = fsError(make(code));
      expect(e, code).toBeInstanceOf(FsFailure);
      expect(e.message, code).not.toMatch(/whatever/);
    }
    // an unknown code keeps the C library's phrase, never the raw form
    expect(describeFsError(make('ENOTSUP'))).toBe('/mnt/x: whatever (ENOTSUP); check the path and the file system, then rerun');
  });

  it('a move names both paths; a recursive mkdir that meets ENOENT says a folder above could not be made; options name the flag and the fix', () => {
    const move = Object.assign(new Error("EXDEV: cross-device link not permitted, rename '/a' -> '/b'"), {
      code: 'EXDEV',
      syscall: 'rename',
      path: '/a',
      dest: '/b',
    });
    expect(describeFsError(move)).toMatch(/^\/a → \/b: cannot be moved across file systems \(EXDEV\)/);
    // (the folder it would go in can be written: the cause stays unknown, so the line says what is known)
    const gone = join(tmp, 'gone', 'x');
    const mkdir = Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${gone}'`), { code: 'ENOENT', syscall: 'mkdir', path: gone });
    expect(describeFsError(mkdir)).toBe(
      `${gone}: a folder above it is missing and could not be made (ENOENT); check the path and that its first missing folder can be created there`,
    );
    const noPath = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE', syscall: 'spawn' });
    expect(describeFsError(noPath)).toMatch(/^a file operation \(spawn\): too many open files/);
    expect(describeFsError(noPath, { what: '--out', path: '/o.png', fix: 'choose another --out' })).toBe(
      '--out /o.png: too many open files in this process (EMFILE); choose another --out',
    );
  });

  it('plainFsMessage rewrites a raw phrase quoted inside another message, and leaves other text alone', () => {
    expect(plainFsMessage("could not save: EACCES: permission denied, open '/r/x.json'")).toBe(
      'could not save: /r/x.json: permission denied (EACCES); fix its permissions (or those of the folder above it), or choose another path',
    );
    expect(plainFsMessage("EXDEV: cross-device link not permitted, rename '/a' -> '/b'")).toMatch(/^\/a → \/b: cannot be moved/);
    expect(plainFsMessage('--x 3: E: expected 1, 2')).toBe('--x 3: E: expected 1, 2');
  });
});

describe('unreachableReason', () => {
  const file = join(tmp, 'plain-file');
  writeFileSync(file, 'x');
  const loop = join(tmp, 'loop2');
  symlinkSync(loop, loop);

  it('says why where "not found" would mislead, and nothing for a path that is there or plainly absent', () => {
    expect(unreachableReason(file)).toBeUndefined();
    expect(unreachableReason(join(tmp, 'absent'))).toBeUndefined();
    expect(unreachableReason(loop, { what: '--data' })).toBe(
      `--data ${loop}: too many levels of symbolic links (a symlink loop) (ELOOP); fix or remove the link`,
    );
    expect(unreachableReason(join(file, 'x'))).toMatch(/plain-file\/x: a part of the path is a file, not a folder \(ENOTDIR\)/);
  });

  it('an argument file that is a symlink loop is named as one (a usage error), an absent one as not found', () => {
    expect(() => expandArgumentFiles([`@${loop}`])).toThrow(UsageError);
    expect(() => expandArgumentFiles([`@${loop}`])).toThrow(
      `argument file ${loop}: too many levels of symbolic links (a symlink loop) (ELOOP); fix or remove the link`,
    );
    expect(() => expandArgumentFiles([`@${join(tmp, 'absent.txt')}`])).toThrow(/argument file @.*absent\.txt not found/);
  });
});

describe('reportError with errno errors', () => {
  async function run(body: () => number, env: Record<string, string> = {}) {
    const lines: string[] = [];
    const code = await runCommand(body, { name: 'mmmi-x', err: (l) => lines.push(l), env });
    return { code, lines };
  }

  it('a raw ENOENT of an input path: one worded line, exit 2; a raw EROFS: exit 1; no stack', async () => {
    const missing = await run(() => readFileSync(join(tmp, 'no-such.npz')).length);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.lines).toEqual([
      `mmmi-x: error: ${join(tmp, 'no-such.npz')}: no such file or folder (ENOENT); check the path (a folder above it may be missing)`,
    ]);
    const readOnly = await run(() => {
      throw Object.assign(new Error("EROFS: read-only file system, open '/mnt/ro/x'"), { code: 'EROFS', syscall: 'open', path: '/mnt/ro/x' });
    });
    expect(readOnly).toEqual({
      code: EXIT.failure,
      lines: ['mmmi-x: error: /mnt/ro/x: the file system is read-only (EROFS); choose a path on a writable file system'],
    });
  });

  it("a raw phrase inside another error's message is worded too; MMMI_DEBUG still shows the original stack", async () => {
    const wrapped = await run(() => {
      throw new Error("reading the registry: ELOOP: too many symbolic links encountered, open '/r/registry.json'");
    });
    expect(wrapped.lines[0]).toBe(
      'mmmi-x: error: reading the registry: /r/registry.json: too many levels of symbolic links (a symlink loop) (ELOOP); fix or remove the link',
    );
    const debug = await run(() => readFileSync(join(tmp, 'no-such.npz')).length, { MMMI_DEBUG: '1' });
    expect(debug.lines[1]).toMatch(/^Error: ENOENT: no such file or directory, open .*\n\s+at /);
  });
});

/** Whether this process may mount a tmpfs (root on Linux; CI runs as root), for a read-only mount. */
const tmpfsAvailable = (() => {
  const dir = join(tmp, 'probe-mount');
  mkdirSync(dir);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', dir]).status !== 0) return false;
  spawnSync('umount', [dir]);
  return true;
})();
if (!tmpfsAvailable) process.stderr.write('read-only mount test skipped: cannot mount a tmpfs here (needs root)\n');

describe.skipIf(!tmpfsAvailable)('a read-only mount', () => {
  it("a recursive mkdir's ENOENT there is worded as the read-only file system it is (EROFS, exit 1)", () => {
    const dir = join(tmp, 'ro');
    mkdirSync(dir);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', dir]).status).toBe(0);
    try {
      const err = thrown(() => mkdirSync(join(dir, 'a', 'b'), { recursive: true }));
      expect(err.code).toBe('ENOENT');
      expect(describeFsError(err)).toBe(
        `${join(dir, 'a', 'b')}: cannot be made in ${dir}: the file system is read-only (EROFS); choose a path on a writable file system`,
      );
      expect(fsError(err)).toBeInstanceOf(FsFailure);
    } finally {
      spawnSync('umount', [dir]);
    }
  });
});
