import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure and in-process: no broker, runs in seconds) and `integration`
 * (one real Kafka broker for the run, started by the global setup unless KAFKA_BROKERS points
 * at one). `npm test` runs both; `npx vitest run --project unit` runs only the fast ones.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Unit tests first: a broken rule fails fast, before a broker is started.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          // Suites share one broker, each with its own topics and groups; several spawn the
          // service as a child process, so two workers are what two cores carry.
          maxWorkers: 2,
        },
      },
    ],
  },
});
