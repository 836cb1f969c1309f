import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One build of gateway and worker for the processes the tests start (test/support/test-build.ts).
    globalSetup: ['test/support/test-build.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real gateway and worker processes; two cores cannot run many at once.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
