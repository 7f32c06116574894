/**
 * The external-estimator protocol: a command reads x.npy and y.npy and prints a number.
 * The NumPy script below computes the Gaussian log-det MI on its own, so it must agree with
 * our gaussian estimator on the same samples (an independent implementation reading our
 * files); a Node script checks the protocol where NumPy is absent.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFailure } from '@mmmi/cli-kit';
import { hasNumpy, pythonCommand, SeededRandom, tempDir } from '@mmmi/test-utils';
import { describe, expect, it } from 'vitest';
import { externalEstimator, parseExternalOutput } from '../src/external.js';
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

describe('external estimators', () => {
  it.skipIf(!hasNumpy())('a NumPy script reading our .npy files agrees with the gaussian estimator to 1e-10', () => {
    const dir = tempDir('mmmi-external-test-');
    const script = join(dir, 'gaussian.py');
    writeFileSync(script, NUMPY_GAUSSIAN);
    const data = samples(500, 3, 1);
    const r = externalEstimator([pythonCommand(), script], 'numpy-gaussian').estimate(data) as ReturnType<typeof gaussianMi>;
    expect(r).toMatchObject({ estimator: 'numpy-gaussian', standardError: 0.01, samples: 500 });
    expect(Math.abs(r.estimate - gaussianMi(data).estimate)).toBeLessThan(1e-10);
    expect(r.seconds).toBeGreaterThan(0);
  });

  it('runs any command with the two file paths; its failures name the command and what it printed', () => {
    const dir = tempDir('mmmi-external-test-');
    const node = (name: string, body: string) => {
      const file = join(dir, name);
      writeFileSync(file, body);
      return [process.execPath, file];
    };
    // the protocol without NumPy: the script checks it was given two existing .npy files
    const ok = node(
      'ok.mjs',
      `import { readFileSync } from 'node:fs'; const [x, y] = process.argv.slice(2); for (const f of [x, y]) if (readFileSync(f).subarray(1, 6).toString() !== 'NUMPY') process.exit(3); console.log('0.25');`,
    );
    expect(externalEstimator(ok).estimate(samples(10, 2, 2))).toMatchObject({ estimate: 0.25, standardError: null, samples: 10 });
    expect(() => externalEstimator(node('fail.mjs', `console.error('no GPU here'); process.exit(4);`)).estimate(samples(10, 1, 3))).toThrow(
      /exited with status 4: no GPU here/,
    );
    expect(() => externalEstimator(node('words.mjs', `console.log('about one nat');`)).estimate(samples(10, 1, 3))).toThrow(
      /its last line 'about one nat' is not an estimate/,
    );
    expect(() => externalEstimator([join(dir, 'no-such-program')]).estimate(samples(10, 1, 3))).toThrow(RunFailure);
    expect(() => externalEstimator(ok).estimate({ ...samples(10, 1, 3), n: 11 })).toThrow(/x holds 10 values, 11 samples × 1 need 11/);
  });

  it('reads one or two finite numbers from the last line', () => {
    expect(parseExternalOutput('log line\n0.5\n')).toEqual({ estimate: 0.5, standardError: null });
    expect(parseExternalOutput('0.5 0.01')).toEqual({ estimate: 0.5, standardError: 0.01 });
    expect(parseExternalOutput('0.5, 0.01')).toEqual({ estimate: 0.5, standardError: 0.01 });
    expect(parseExternalOutput('nan')).toMatch(/not an estimate/);
    expect(parseExternalOutput('')).toMatch(/not an estimate/);
    expect(parseExternalOutput('1 2 3')).toMatch(/not an estimate/);
  });
});
