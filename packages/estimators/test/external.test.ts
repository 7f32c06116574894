/**
 * The external-estimator protocol: a command reads x.npy and y.npy and prints a number.
 * The NumPy script below computes the Gaussian log-det MI on its own, so it must agree with
 * our gaussian estimator on the same samples (an independent implementation reading our
 * files); a Node script checks the protocol where NumPy is absent. Then the bounds, with real
 * processes: a time-out kills the command and what it started, output of any size is read by
 * its end, and the temporary folder goes on every way out, a process.exit on a signal included.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunFailure } from '@mmmi/cli-kit';
import { hasNumpy, pythonCommand, SeededRandom, tempDir } from '@mmmi/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { externalEstimator, lastLine, parseExternalOutput } from '../src/external.js';
import { gaussianMi } from '../src/gaussian.js';

function samples(n: number, d: number, seed: number) {
  const rng = new SeededRandom(seed);
  const x = new Float64Array(n * d);
  const y = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) {
    x[i] = rng.normal();
    y[i] = 0.6 * x[i] + 0.8 * rng.normal();
  }
  return { n, x, dx: d, y, dy: d };
}

const NUMPY_GAUSSIAN = `
import sys, numpy as np
x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
assert x.dtype == np.float64 and y.dtype == np.float64 and x.shape[0] == y.shape[0]
c = np.corrcoef(np.hstack([x, y]), rowvar=False)
dx = x.shape[1]
ld = lambda m: np.linalg.slogdet(m)[1]
print("reading", x.shape, y.shape)
print(repr(float(0.5 * (ld(c[:dx, :dx]) + ld(c[dx:, dx:]) - ld(c)))), 0.01)
`;

const dir = tempDir('mmmi-external-test-');
const node = (name: string, body: string) => {
  const file = join(dir, name);
  writeFileSync(file, body);
  return [process.execPath, file];
};

/** Whether `pid` is a running process (a zombie, ended but not yet reaped, counts as ended). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits (up to 20 s, for a loaded machine) until `ok()` holds, and returns whether it did. */
async function eventually(ok: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
  return ok();
}

/** A shell command that starts a grandchild (`sleep 60`), writes both pids to the file after the command, and waits. */
const sleeper = (pids: string) => ['sh', '-c', 'sleep 60 & echo "$$ $!" > "$0"; wait', pids];
const readPids = (file: string) => readFileSync(file, 'utf8').trim().split(' ').map(Number);

describe('external estimators', () => {
  it.skipIf(!hasNumpy())('a NumPy script reading our .npy files agrees with the gaussian estimator to 1e-10', async () => {
    const script = join(dir, 'gaussian.py');
    writeFileSync(script, NUMPY_GAUSSIAN);
    const data = samples(500, 3, 1);
    const r = await externalEstimator([pythonCommand(), script], 'numpy-gaussian').estimate(data);
    expect(r).toMatchObject({ estimator: 'numpy-gaussian', standardError: 0.01, samples: 500 });
    expect(Math.abs(r.estimate - gaussianMi(data).estimate)).toBeLessThan(1e-10);
    expect(r.seconds).toBeGreaterThan(0);
  });

  it('runs any command with the two file paths; its failures name the command and the last line it printed', async () => {
    // the protocol without NumPy: the script checks it was given two existing .npy files
    const ok = node(
      'ok.mjs',
      `import { readFileSync } from 'node:fs'; const [x, y] = process.argv.slice(2); for (const f of [x, y]) if (readFileSync(f).subarray(1, 6).toString() !== 'NUMPY') process.exit(3); console.log('0.25');`,
    );
    await expect(externalEstimator(ok).estimate(samples(10, 2, 2))).resolves.toMatchObject({ estimate: 0.25, standardError: null, samples: 10 });
    await expect(externalEstimator(node('fail.mjs', `console.error('loading\\nno GPU here'); process.exit(4);`)).estimate(samples(10, 1, 3))).rejects.toThrow(
      /exited with status 4: no GPU here$/,
    );
    await expect(externalEstimator(node('words.mjs', `console.log('about one nat');`)).estimate(samples(10, 1, 3))).rejects.toThrow(
      /its last line 'about one nat' is not an estimate/,
    );
    await expect(externalEstimator(node('mute.mjs', `process.exit(1);`)).estimate(samples(10, 1, 3))).rejects.toThrow(
      /exited with status 1 and printed nothing/,
    );
    await expect(externalEstimator(node('killed.mjs', `process.kill(process.pid, 'SIGKILL');`)).estimate(samples(10, 1, 3))).rejects.toThrow(
      /was killed by SIGKILL/,
    );
    await expect(externalEstimator(ok).estimate({ ...samples(10, 1, 3), n: 11 })).rejects.toThrow(/x holds 10 values, 11 samples × 1 need 11/);
  });

  it('a program that cannot start is a RunFailure saying why', async () => {
    const missing = join(dir, 'no-such-program');
    await expect(externalEstimator([missing]).estimate(samples(10, 1, 3))).rejects.toThrow(
      new RunFailure(`the external estimator '${missing}' could not start: no program '${missing}' (give its path, or put it on PATH)`),
    );
    const plain = join(dir, 'not-executable.py');
    writeFileSync(plain, 'print(0.5)\n');
    await expect(externalEstimator([plain]).estimate(samples(10, 1, 3))).rejects.toThrow(/is not executable \(chmod \+x it, or name its interpreter first\)/);
  });

  it('reads one or two finite numbers from the last line', () => {
    expect(parseExternalOutput('log line\n0.5\n')).toEqual({ estimate: 0.5, standardError: null });
    expect(parseExternalOutput('0.5 0.01')).toEqual({ estimate: 0.5, standardError: 0.01 });
    // a command that inherits FORCE_COLOR prints a coloured number (Node's console.log under nx or CI)
    expect(parseExternalOutput('\x1b[33m2\x1b[39m\n')).toEqual({ estimate: 2, standardError: null });
    expect(parseExternalOutput('0.5, 0.01')).toEqual({ estimate: 0.5, standardError: 0.01 });
    expect(parseExternalOutput('nan')).toMatch(/not an estimate/);
    expect(parseExternalOutput('')).toMatch(/not an estimate/);
    expect(parseExternalOutput('1 2 3')).toMatch(/not an estimate/);
    expect(lastLine('epoch 1\r epoch 2\r\n0.5\n\n')).toBe('0.5');
    expect(lastLine('x'.repeat(400), 10)).toBe(`…${'x'.repeat(10)}`);
  });

  it('reads the estimate after 100 MB of output, and a failure after as much is one short line', async () => {
    const chatty = (end: string) => `const mb = 'x'.repeat(2 ** 20 - 1) + '\\n'; for (let i = 0; i < 100; i++) process.stdout.write(mb); ${end}`;
    await expect(externalEstimator(node('chatty.mjs', chatty(`console.log('0.5 0.1');`))).estimate(samples(10, 1, 4))).resolves.toMatchObject({
      estimate: 0.5,
      standardError: 0.1,
    });
    const failure = await Promise.resolve(
      externalEstimator(node('chatty-fail.mjs', chatty(`for (let i = 0; i < 100; i++) process.stderr.write(mb); process.exit(5);`))).estimate(
        samples(10, 1, 4),
      ),
    ).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(failure).toBeInstanceOf(RunFailure);
    expect(failure!.message).toMatch(/exited with status 5: …x+$/);
    expect(failure!.message.length).toBeLessThan(500);
  });

  it('a time-out kills the command and what it started, and names the option that sets it', async () => {
    const pids = join(dir, 'timeout-pids');
    const command = sleeper(pids);
    await expect(externalEstimator(command).estimate(samples(10, 1, 5), { timeoutSeconds: 1, timeoutName: '--external_timeout' })).rejects.toThrow(
      /^the external estimator 'sh -c "sleep 60 & echo \\"\$\$ \$!\\" > \\"\$0\\"; wait" \S+' ran past --external_timeout 1 s; raise it or check the command$/,
    );
    expect(existsSync(pids)).toBe(true);
    const [shell, grandchild] = readPids(pids);
    expect(await eventually(() => !running(shell) && !running(grandchild))).toBe(true);
  });

  it('refuses a time-out that is not a positive number of seconds a timer can hold', async () => {
    for (const timeoutSeconds of [0, -1, Number.NaN, 1e10])
      await expect(externalEstimator(['true']).estimate(samples(10, 1, 5), { timeoutSeconds, timeoutName: '--external_timeout' })).rejects.toThrow(
        /^--external_timeout .+: give seconds above 0 and at most 2147483$/,
      );
  });

  describe('the temporary folder', () => {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const saved = process.env.TMPDIR;
    beforeEach(() => {
      process.env.TMPDIR = tmp;
    });
    afterEach(() => {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    });
    const left = () => readdirSync(tmp).filter((f) => f.startsWith('mmmi-external-'));

    it('is removed after a success, a failure, a time-out and a command that cannot start', async () => {
      // while the command runs, the folder is there (so that the checks below can fail)
      const seen = node(
        'sees.mjs',
        `import { readdirSync } from 'node:fs'; import { dirname } from 'node:path'; console.log(readdirSync(dirname(process.argv[2])).length);`,
      );
      await expect(externalEstimator(seen).estimate(samples(10, 1, 6))).resolves.toMatchObject({ estimate: 2 });
      expect(left()).toEqual([]);
      await expect(externalEstimator(node('fails.mjs', 'process.exit(2)')).estimate(samples(10, 1, 6))).rejects.toThrow(RunFailure);
      expect(left()).toEqual([]);
      await expect(externalEstimator(sleeper(join(dir, 'tmp-pids'))).estimate(samples(10, 1, 6), { timeoutSeconds: 1 })).rejects.toThrow(
        /ran past timeoutSeconds 1 s/,
      );
      expect(left()).toEqual([]);
      await expect(externalEstimator([join(dir, 'missing')]).estimate(samples(10, 1, 6))).rejects.toThrow(/could not start/);
      expect(left()).toEqual([]);
    });

    /** Runs `body` (after `estimate`, the external estimator on two samples with the sleeper writing `pids`) in a process of its own. */
    function driver(pids: string, body: string) {
      const external = fileURLToPath(new URL('../src/external.ts', import.meta.url));
      const script = `
        const { externalEstimator } = await import(${JSON.stringify(external)});
        const estimate = () => externalEstimator(${JSON.stringify(sleeper(pids))}).estimate({ n: 2, x: Float64Array.of(0, 1), dx: 1, y: Float64Array.of(1, 0), dy: 1 });
        ${body}`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: tmp }, stdio: 'pipe' });
      const output = { stderr: '' };
      child.stderr.on('data', (d: Buffer) => (output.stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const started = () => eventually(() => existsSync(pids) && readFileSync(pids, 'utf8').endsWith('\n'));
      return { child, output, exited, started };
    }

    // cli-kit's stop (signals.ts): the cleanups registered while the command runs, then exit 130 / 143
    it.each([
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const)('is removed, and the command killed, when the process is stopped by %s mid-run', async (signal, code) => {
      const pids = join(dir, `${signal}-pids`);
      const run = driver(pids, `await estimate(); console.log('finished');`);
      expect(await run.started(), run.output.stderr).toBe(true);
      expect(left()).toHaveLength(1);
      run.child.kill(signal);
      expect(await run.exited, run.output.stderr).toBe(code);
      expect(run.output.stderr).toMatch(new RegExp(`stopping on ${signal}: stopping sh \\(process group \\d+\\); removing .*mmmi-external-`));
      expect(left()).toEqual([]);
      const [shell, grandchild] = readPids(pids);
      expect(await eventually(() => !running(shell) && !running(grandchild))).toBe(true);
    });

    it('is removed, and the command killed, when the process exits by process.exit mid-run', async () => {
      const pids = join(dir, 'exit-pids');
      const wait = `const { existsSync } = await import('node:fs'); while (!existsSync(${JSON.stringify(pids)})) await new Promise((r) => setTimeout(r, 50));`;
      const run = driver(pids, `void estimate(); ${wait} process.exit(7);`);
      expect(await run.exited, run.output.stderr).toBe(7);
      expect(left()).toEqual([]);
      const [shell, grandchild] = readPids(pids);
      expect(await eventually(() => !running(shell) && !running(grandchild))).toBe(true);
    });
  });
});
