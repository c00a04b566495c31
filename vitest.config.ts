import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native core (workers, NativeConnection) doesn't mix with worker threads.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    include: ['test/**/*.test.ts'],
  },
});
