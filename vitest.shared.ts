import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Shared test settings: tests run against the TypeScript sources, one fork per file. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // A guard against a hang, not a check of speed: real model work (a flow, a critic, a
    // one-node Slurm cluster) runs many times slower on a loaded 2-core machine than on an idle
    // one, and a test must not fail for that. Tests set no lower limit of their own.
    testTimeout: 900_000,
    hookTimeout: 900_000,
    pool: 'forks',
    // exported ONNX graphs and other caches go to a scratch folder, never the user's ~/.cache
    env: { MMMI_CACHE_DIR: join(tmpdir(), `mmmi-test-cache-${process.pid}`) },
  },
});
