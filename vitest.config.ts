// Vitest: unit and engine tests run in Node; end-to-end browser tests live in test/e2e and
// run under the same runner so one command covers everything.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time even on two cores (vitest's own default there is one): many tests wait
    // on the processes they start, and CI's run fell from 31 to 24 minutes.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A poll waits for a state the app reaches (a page rendered, a run listed); with two files
    // running side by side that can take longer than vitest's default second. What a test
    // asserts never depends on time: this only bounds how long a failing poll waits.
    expect: { poll: { timeout: 30_000 } },
  },
});
