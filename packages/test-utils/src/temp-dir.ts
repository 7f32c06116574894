/**
 * Scratch folders that tests make and must not leave behind: each test file used to write out
 * mkdtemp plus its own afterAll(rm). Vitest only; where the folder is removed follows from where
 * tempDir is called.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished, TestRunner } from 'vitest';

type Phase = 'test' | 'collect' | 'hook';

function phase(): Phase {
  if (TestRunner.getCurrentTest()) return 'test';
  let suite: ReturnType<typeof TestRunner.getCurrentSuite>;
  try {
    suite = TestRunner.getCurrentSuite();
  } catch {
    throw new Error('tempDir() works inside vitest tests only (no test file is being collected or run)');
  }
  // while a file is collected its task has no result yet; once it runs, it has one
  return suite.file?.result === undefined ? 'collect' : 'hook';
}

/** Folders made while the file was collected and not yet removed (a skipped describe runs no hooks). */
const leftovers = new Set<string>();

// Once per test file: vitest evaluates a test file's imports anew for each file, while it
// collects the file, so this hook belongs to the file itself and runs after all of it.
// Outside vitest (a benchmark importing the PRNG) there is nothing to register.
try {
  if (phase() === 'collect') {
    afterAll(() => {
      for (const dir of leftovers) rmSync(dir, { recursive: true, force: true });
      leftovers.clear();
    });
  }
} catch {
  // not in a vitest worker
}

/**
 * A new empty folder `<os tmpdir>/<prefix>XXXXXX`, removed with everything in it:
 *  - called at the top level of a test file or in a describe body: after that describe (or
 *    file), and after the file at the latest (also where the describe was skipped);
 *  - called inside a test: when that test finishes (onTestFinished).
 * Not from beforeAll/afterAll/beforeEach hooks (vitest runs no hook registered there, so the
 * folder would stay): that throws; make the folder at the top level and fill it in the hook.
 */
export function tempDir(prefix = 'mmmi-test-'): string {
  const where = phase();
  if (where === 'hook') {
    throw new Error('tempDir() in a hook cannot schedule its removal: call it at the top level of the test file or in a describe body');
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (where === 'test') {
    onTestFinished(remove);
  } else {
    leftovers.add(dir);
    afterAll(() => {
      remove();
      leftovers.delete(dir);
    });
  }
  return dir;
}
