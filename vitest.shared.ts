import { defineConfig } from 'vitest/config';

/** Shared test settings: tests run against the TypeScript sources, one fork per file. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    pool: 'forks',
  },
});
