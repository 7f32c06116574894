import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Shared test settings: tests run against the TypeScript sources, one fork per file. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    // setup loads tfjs (and its gradients): seconds on an idle machine, more on a loaded 2-core runner
    hookTimeout: 120_000,
    pool: 'forks',
    // exported ONNX graphs and other caches go to a scratch folder, never the user's ~/.cache
    env: { MMMI_CACHE_DIR: join(tmpdir(), `mmmi-test-cache-${process.pid}`) },
  },
});
