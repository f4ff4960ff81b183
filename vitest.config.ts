// Vitest: unit and engine tests run in Node; end-to-end browser tests live in test/e2e and
// run under the same runner so one command covers everything.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
