import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault-injection suite has its own command and config (vitest.faults.config.ts).
    exclude: ['test/faults/**', '**/node_modules/**'],
    // End-to-end tests start real processes; the limits are generous so a slow machine passes.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Memory tests collect garbage before they measure.
    execArgv: ['--expose-gc'],
    // The JSON report lets CI print one plain summary line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
