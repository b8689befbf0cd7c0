import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The real stack (Synapse A + B, LiveKit, PostgreSQL, Causerie) comes up once per run.
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: keep workers few so the homeservers keep up.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/disruptive/**', 'test/browser/**'] },
      },
      {
        // Browser calls: each file streams video between headless Chromium pages; on two cores they
        // run one file at a time, after the main suite.
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
        },
      },
      {
        // Tests that kill or restart the shared Causerie service: alone, after everything else.
        extends: true,
        test: {
          name: 'disruptive',
          include: ['test/disruptive/**/*.test.ts'],
          sequence: { groupOrder: 2 },
          fileParallelism: false,
        },
      },
    ],
  },
});
