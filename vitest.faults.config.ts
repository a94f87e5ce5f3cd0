import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: the fault-injection suite, with its report of records sent, lost, duplicated and dead-lettered. */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/report.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Scenarios mount file systems and kill processes: one file at a time.
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/faults.json' },
  },
});
