import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../src/index.js';

let inDescribe = '';
let inTest = '';
let hookError: unknown;

describe('made in a describe body', () => {
  inDescribe = tempDir('mmmi-test-utils-describe-');

  it('exists, empty, under the OS temp folder with the prefix, while the describe runs', () => {
    expect(dirname(inDescribe)).toBe(tmpdir());
    expect(basename(inDescribe)).toMatch(/^mmmi-test-utils-describe-.{6}$/);
    expect(readdirSync(inDescribe)).toEqual([]);
    writeFileSync(join(inDescribe, 'f'), 'x');
  });

  it('is still there for the next test of the describe', () => {
    expect(existsSync(join(inDescribe, 'f'))).toBe(true);
  });
});

describe('made in a test', () => {
  it('exists in that test', () => {
    inTest = tempDir('mmmi-test-utils-test-');
    writeFileSync(join(inTest, 'f'), 'x');
    expect(existsSync(inTest)).toBe(true);
  });

  it('is gone, with its files, once that test finished; so is the describe’s folder after the describe', () => {
    expect(inTest).not.toBe('');
    expect(existsSync(inTest)).toBe(false);
    expect(existsSync(inDescribe)).toBe(false);
  });
});

describe('made in a hook', () => {
  const before = readdirSync(tmpdir()).filter((f) => f.startsWith('mmmi-test-utils-hook-'));
  beforeAll(() => {
    try {
      tempDir('mmmi-test-utils-hook-');
    } catch (e) {
      hookError = e;
    }
  });

  it('is refused (its removal could not be scheduled), and nothing is made', () => {
    expect(String(hookError)).toMatch(/tempDir\(\) in a hook cannot schedule its removal: call it at the top level of the test file or in a describe body/);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('mmmi-test-utils-hook-'))).toEqual(before);
  });
});

describe('after the test file (a vitest of its own runs test/fixtures/temp-dir/cases.fixture.ts)', () => {
  const scratch = tempDir('mmmi-test-utils-run-');

  it('every folder existed while the file ran, none is left after it, a skipped describe’s too', () => {
    const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const config = fileURLToPath(new URL('./fixtures/temp-dir/vitest.config.ts', import.meta.url));
    const logFile = join(scratch, 'log');
    writeFileSync(logFile, '');
    const r = spawnSync(process.execPath, [vitest, 'run', '--config', config], { encoding: 'utf8', env: { ...process.env, TEMP_DIR_LOG: logFile } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const made = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(made.map(([where, , existed]) => [where, existed])).toEqual([
      ['top-level', 'true'],
      ['describe', 'true'],
      ['skipped-describe', 'true'],
      ['test', 'true'],
    ]);
    for (const [where, dir] of made) expect(existsSync(dir), `${where}: ${dir}`).toBe(false);
  });
});
