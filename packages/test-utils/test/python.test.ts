import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasNumpy, hasPython, hasPythonModule, hasTorch, pythonCommand, runPython, runPythonFile, spawnPython, tempDir } from '../src/index.js';

const saved = process.env.MMMI_PYTHON;
afterEach(() => {
  if (saved === undefined) delete process.env.MMMI_PYTHON;
  else process.env.MMMI_PYTHON = saved;
});

const scratch = tempDir('mmmi-test-utils-python-');

/** A fake interpreter: logs its arguments (one call a line), prints `out`, writes `err` to stderr, exits `code`. */
function fakePython(name: string, { out = '', err = '', code = 0 } = {}): { path: string; calls: () => string[][] } {
  const path = join(scratch, name);
  const log = `${path}.log`;
  writeFileSync(log, '');
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\0' "$@" >> '${log}'\nprintf '\\n' >> '${log}'\nprintf '%s' '${out}'\nprintf '%s' '${err}' >&2\nexit ${code}\n`);
  chmodSync(path, 0o755);
  const calls = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\0').slice(0, -1));
  return { path, calls };
}

describe('pythonCommand', () => {
  it('is $MMMI_PYTHON where set, else python3', () => {
    delete process.env.MMMI_PYTHON;
    expect(pythonCommand()).toBe('python3');
    process.env.MMMI_PYTHON = '';
    expect(pythonCommand()).toBe('python3');
    process.env.MMMI_PYTHON = '/opt/py/bin/python3.12';
    expect(pythonCommand()).toBe('/opt/py/bin/python3.12');
  });
});

describe('with a fake interpreter in MMMI_PYTHON', () => {
  it('runPython runs `$MMMI_PYTHON -c script args…` and returns stdout', () => {
    const fake = fakePython('ok', { out: 'hello' });
    process.env.MMMI_PYTHON = fake.path;
    expect(runPython('print(1)', ['a b', '--x'])).toBe('hello');
    expect(runPythonFile('/some/script.py', ['1'])).toBe('hello');
    expect(fake.calls()).toEqual([
      ['-c', 'print(1)', 'a b', '--x'],
      ['/some/script.py', '1'],
    ]);
  });

  it('a failed script throws an error with the interpreter, the exit status and stderr', () => {
    const fake = fakePython('fails', { err: 'Traceback: ModuleNotFoundError: no module named numpy', code: 3 });
    process.env.MMMI_PYTHON = fake.path;
    expect(() => runPython('import numpy\nprint(numpy.ones(3))')).toThrow(
      new RegExp(`^${fake.path} -c 'import numpy' failed with exit status 3:\\nTraceback: ModuleNotFoundError: no module named numpy$`),
    );
    expect(() => runPythonFile('/x/check.py')).toThrow(/check\.py failed with exit status 3:\nTraceback/);
    const r = spawnPython('import sys; sys.exit(3)');
    expect([r.status, r.stderr]).toEqual([3, 'Traceback: ModuleNotFoundError: no module named numpy']);
  });

  it('an interpreter that does not exist: an error naming it; no module is available', () => {
    process.env.MMMI_PYTHON = join(scratch, 'no-such-python');
    expect(() => runPython('pass')).toThrow(/no-such-python -c 'pass' could not run: .*ENOENT/);
    expect(hasPython()).toBe(false);
    expect(hasNumpy()).toBe(false);
  });

  it('hasPythonModule asks `import <module>` once per interpreter and module', () => {
    const yes = fakePython('yes');
    const no = fakePython('no', { code: 1 });
    process.env.MMMI_PYTHON = yes.path;
    expect(hasNumpy()).toBe(true);
    expect(hasNumpy()).toBe(true);
    expect(hasTorch()).toBe(true);
    expect(hasPythonModule('PIL.Image')).toBe(true);
    expect(yes.calls()).toEqual([
      ['-c', 'import numpy'],
      ['-c', 'import torch'],
      ['-c', 'import PIL.Image'],
    ]);
    process.env.MMMI_PYTHON = no.path;
    expect(hasNumpy()).toBe(false);
    expect(hasPythonModule('numpy', yes.path)).toBe(true);
    expect(no.calls()).toEqual([['-c', 'import numpy']]);
    expect(() => hasPythonModule('numpy; import os')).toThrow(/not a module name/);
  });
});

describe.skipIf(!hasPython())('with the real interpreter', () => {
  it('runPython passes arguments through and returns what Python printed', () => {
    expect(runPython('import sys, json; print(json.dumps(sys.argv[1:]))', ['a b', 'ü', '']).trim()).toBe('["a b", "\\u00fc", ""]');
    expect(() => runPython('raise ValueError("boom")')).toThrow(/ValueError: boom/);
  });

  it.skipIf(!hasNumpy())('hasNumpy(): NumPy imports there', () => {
    expect(runPython('import numpy; print(numpy.float32(0.1).item())').trim()).toBe(String(Math.fround(0.1)));
  });
});
