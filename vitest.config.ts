import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native core (workers, NativeConnection) doesn't mix with worker threads.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    include: ['test/**/*.test.ts'],
    // The tests' deployment secret for lead ids: every process they start (workers, the CLI) inherits it,
    // so ids computed in a test agree with the ones its processes compute. Tests of the secret's own
    // loading pass an env without it.
    env: { LEADCYCLE_LEAD_ID_SECRET: 'test-lead-id-secret-0123456789abcdef' },
  },
});
