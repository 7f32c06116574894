/**
 * Python (NumPy, PyTorch, PIL) is the independent truth of many tests: files we write are read
 * back there, and theirs are read here. One place decides which interpreter runs (MMMI_PYTHON,
 * else `python3`), whether it has a module (asked once per interpreter and module), and turns a
 * failed script into an error that carries Python's stderr. Tests skip as
 * `describe.skipIf(!hasNumpy())(…)`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

/** The interpreter the tests run: $MMMI_PYTHON where set (and not empty), else `python3`. */
export function pythonCommand(): string {
  return process.env.MMMI_PYTHON || 'python3';
}

export interface PythonOptions {
  /** The interpreter; default {@link pythonCommand}(). */
  python?: string;
  cwd?: string;
  /** Added to the environment (which always has PYTHONDONTWRITEBYTECODE=1: no __pycache__ in the source tree). */
  env?: Record<string, string>;
  /** Milliseconds before the interpreter is killed; default none. */
  timeout?: number;
}

const MAX_BUFFER = 1 << 28;

function spawn(python: string, args: readonly string[], options: PythonOptions): SpawnSyncReturns<string> {
  return spawnSync(python, args, {
    encoding: 'utf8',
    maxBuffer: MAX_BUFFER,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    timeout: options.timeout,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...options.env },
  });
}

function stdoutOf(r: SpawnSyncReturns<string>, python: string, what: string): string {
  if (r.error) throw new Error(`${python} ${what} could not run: ${r.error.message}`);
  if (r.status !== 0) {
    const how = r.status === null ? `was killed by ${r.signal}` : `failed with exit status ${r.status}`;
    throw new Error(`${python} ${what} ${how}:\n${r.stderr.trim() || '(no stderr)'}`);
  }
  return r.stdout;
}

/** Runs Python source as `python -c script args…` and returns the whole result, failed or not. */
export function spawnPython(script: string, args: readonly string[] = [], options: PythonOptions = {}): SpawnSyncReturns<string> {
  return spawn(options.python ?? pythonCommand(), ['-c', script, ...args], options);
}

/** Runs Python source as `python -c script args…`; returns stdout, or throws an error with Python's stderr. */
export function runPython(script: string, args: readonly string[] = [], options: PythonOptions = {}): string {
  const python = options.python ?? pythonCommand();
  const first = script.trim().split('\n')[0];
  return stdoutOf(spawn(python, ['-c', script, ...args], options), python, `-c '${first.length > 60 ? `${first.slice(0, 57)}...` : first}'`);
}

/** Runs a Python script file with args; returns stdout, or throws an error with Python's stderr. */
export function runPythonFile(file: string, args: readonly string[] = [], options: PythonOptions = {}): string {
  const python = options.python ?? pythonCommand();
  return stdoutOf(spawn(python, [file, ...args], options), python, file);
}

const answers = new Map<string, boolean>();

/**
 * Whether `python` (default {@link pythonCommand}()) imports `module` (a dotted name such as
 * `numpy` or `PIL.Image`); asked once per interpreter and module. False where the interpreter
 * does not run at all.
 */
export function hasPythonModule(module: string, python = pythonCommand()): boolean {
  if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(module)) throw new Error(`hasPythonModule: '${module}' is not a module name`);
  const key = `${python}\0${module}`;
  let answer = answers.get(key);
  if (answer === undefined) {
    answer = spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
    answers.set(key, answer);
  }
  return answer;
}

/** Whether the interpreter runs at all (asked once per interpreter). */
export function hasPython(python = pythonCommand()): boolean {
  return hasPythonModule('sys', python);
}

/** Whether the interpreter has NumPy. */
export function hasNumpy(python = pythonCommand()): boolean {
  return hasPythonModule('numpy', python);
}

/** Whether the interpreter has PyTorch (importing it takes seconds, once). */
export function hasTorch(python = pythonCommand()): boolean {
  return hasPythonModule('torch', python);
}
