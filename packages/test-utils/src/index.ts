/**
 * @mmmi/test-utils: helpers shared by the mmmi packages' tests and benchmarks, never by their
 * src/ (a test in this package checks that).
 */
export { mulberry32, xorshift32 } from './prng.js';
export { SeededRandom } from './seeded-random.js';
export { hasNumpy, hasPython, hasPythonModule, hasTorch, pythonCommand, runPython, runPythonFile, spawnPython, type PythonOptions } from './python.js';
export { tempDir } from './temp-dir.js';
export { sleep, slurmSkipReason, startOneNodeSlurm, waitFor, type OneNodeSlurm } from './slurm.js';
